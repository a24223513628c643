"""Live inventory: the dynamic planogram (facing counts) and misplaced items per plate."""

from walkout.inventory.planogram import LivePlanogram, Source

__all__ = ["LivePlanogram", "Source"]
