"""Frozen value types shared by every layer. Imports nothing else of walkout."""

from walkout.core.errors import (
    RecordingError,
    StoreFileError,
    WalkoutError,
)
from walkout.core.frames import GateScans, PersonObservations, PlateSamples
from walkout.core.store import (
    Camera,
    Facing,
    Gate,
    Gondola,
    Plate,
    PlateId,
    Pose,
    Product,
    Shelf,
    Store,
)

__all__ = [
    "Camera",
    "Facing",
    "Gate",
    "GateScans",
    "Gondola",
    "PersonObservations",
    "Plate",
    "PlateId",
    "PlateSamples",
    "Pose",
    "Product",
    "RecordingError",
    "Shelf",
    "Store",
    "StoreFileError",
    "WalkoutError",
]
