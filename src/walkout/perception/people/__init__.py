"""People: tracker observations -> linked persons with hands; gate line crossings."""

from walkout.perception.people.gates import GateCrossing, detect_crossings
from walkout.perception.people.linker import LinkerParams, People, link_people

__all__ = ["GateCrossing", "LinkerParams", "People", "detect_crossings", "link_people"]
