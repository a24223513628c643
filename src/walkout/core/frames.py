"""Sensor batches: one numpy array per field, validated on construction.

These are what real sensors emit and what :mod:`walkout.io` reads from recordings or devices.
Shapes are checked when a batch is built; a mismatch raises ``ValueError`` quoting the expected
and actual shape (the supervision ``Detections`` pattern).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from walkout.core.store import PlateId


def _check(name: str, arr: NDArray[np.generic], shape: tuple[int, ...], dtype: type) -> None:
    if arr.shape != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {arr.shape}")
    if arr.dtype != np.dtype(dtype):
        raise ValueError(f"{name}: expected dtype {np.dtype(dtype)}, got {arr.dtype}")


@dataclass(frozen=True)
class PlateSamples:
    """Weight samples from plates (load cells).

    Attributes:
        plate_ids: the plates referred to by ``plate``, in index order.
        plate: (n,) int32, index into ``plate_ids``.
        t_s: (n,) float64, seconds since the recording's start.
        mass_g: (n,) float32, grams measured on the plate (tared at the empty plate).
    """

    plate_ids: tuple[PlateId, ...]
    plate: NDArray[np.int32]
    t_s: NDArray[np.float64]
    mass_g: NDArray[np.float32]

    def __post_init__(self) -> None:
        n = self.plate.shape[0] if self.plate.ndim == 1 else -1
        _check("PlateSamples.plate", self.plate, (n,), np.int32)
        _check("PlateSamples.t_s", self.t_s, (n,), np.float64)
        _check("PlateSamples.mass_g", self.mass_g, (n,), np.float32)

    def __len__(self) -> int:
        return int(self.plate.shape[0])


@dataclass(frozen=True)
class GateScans:
    """Tokens read by gate scanners.

    Attributes:
        gate_id: (n,) object array of gate ids (str).
        t_s: (n,) float64 seconds since the recording's start.
        token: (n,) object array of the strings the scanner decoded.
    """

    gate_id: NDArray[np.object_]
    t_s: NDArray[np.float64]
    token: NDArray[np.object_]

    def __post_init__(self) -> None:
        n = self.t_s.shape[0] if self.t_s.ndim == 1 else -1
        _check("GateScans.gate_id", self.gate_id, (n,), np.object_)
        _check("GateScans.t_s", self.t_s, (n,), np.float64)
        _check("GateScans.token", self.token, (n,), np.object_)

    def __len__(self) -> int:
        return int(self.t_s.shape[0])


@dataclass(frozen=True)
class PersonObservations:
    """What a ceiling-camera person tracker reports, one row per (frame, track).

    Track ids are anonymous and may swap between people; they are not accounts.

    Attributes:
        t_s: (n,) float64 seconds since the recording's start.
        track_id: (n,) int64 tracker-assigned id.
        head_xyz_m: (n, 3) float32 head position, world frame, metres.
        left_hand_xyz_m: (n, 3) float32, NaN where the hand was not seen.
        right_hand_xyz_m: (n, 3) float32, NaN where the hand was not seen.
    """

    t_s: NDArray[np.float64]
    track_id: NDArray[np.int64]
    head_xyz_m: NDArray[np.float32]
    left_hand_xyz_m: NDArray[np.float32]
    right_hand_xyz_m: NDArray[np.float32]

    def __post_init__(self) -> None:
        n = self.t_s.shape[0] if self.t_s.ndim == 1 else -1
        _check("PersonObservations.t_s", self.t_s, (n,), np.float64)
        _check("PersonObservations.track_id", self.track_id, (n,), np.int64)
        for name in ("head_xyz_m", "left_hand_xyz_m", "right_hand_xyz_m"):
            _check(f"PersonObservations.{name}", getattr(self, name), (n, 3), np.float32)

    def __len__(self) -> int:
        return int(self.t_s.shape[0])


def empty_scans() -> GateScans:
    """A GateScans batch with no rows."""
    return GateScans(np.empty(0, dtype=object), np.empty(0), np.empty(0, dtype=object))


def empty_people() -> PersonObservations:
    """A PersonObservations batch with no rows."""
    z = np.empty((0, 3), dtype=np.float32)
    return PersonObservations(np.empty(0), np.empty(0, dtype=np.int64), z, z.copy(), z.copy())
