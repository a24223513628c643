"""Shelf events (pick / put-back with settled weight change) and gate events."""

from walkout.events.types import GateEvent, ShelfEvent

__all__ = ["GateEvent", "ShelfEvent"]
