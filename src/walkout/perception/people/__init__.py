"""People: tracker observations -> linked persons with hands; gate line crossings."""

from walkout.perception.people.gates import GateCrossing, detect_crossings
from walkout.perception.people.linker import LinkerParams, People, ReidParams, link_people, resolve_tangles

__all__ = ["GateCrossing", "LinkerParams", "People", "ReidParams", "detect_crossings", "link_people", "resolve_tangles"]
