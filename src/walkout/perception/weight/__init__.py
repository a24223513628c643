"""Plate samples -> settled levels and weight changes per plate."""

from walkout.perception.weight.changes import PlateChanges, WeightParams, detect_plate_changes
from walkout.perception.weight.grid import PlateGrid, to_grid

__all__ = ["PlateChanges", "PlateGrid", "WeightParams", "detect_plate_changes", "to_grid"]
