"""Sensor batches: one numpy array per field, validated on construction.

These are what real sensors emit and what :mod:`walkout.io` reads from recordings or devices.
Shapes are checked when a batch is built; a mismatch raises ``ValueError`` quoting the expected
and actual shape (the supervision ``Detections`` pattern).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

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


@dataclass(frozen=True)
class DepthFrames:
    """Synchronised frames of a store's ceiling RGB-D units over a stretch of time.

    Depth follows the RealSense convention: uint16 millimetres along the optical axis (the
    camera-frame z), 0 where the sensor had no return. RGB is registered to the depth image
    (as RealSense ``align_to(depth)``), so pixel (v, u) of both is the same ray.

    Attributes:
        camera_ids: the depth cameras (``Camera.id`` of kind ``"depth"``), c of them.
        t_s: (n,) float64 frame times, seconds since the recording's start.
        depth_mm: (c, n, H, W) uint16.
        rgb: (c, n, H, W, 3) uint8, or None when the units send depth only.
        valid: (c, n) bool, False where a camera dropped the frame (its pixels are then 0).
    """

    camera_ids: tuple[str, ...]
    t_s: NDArray[np.float64]
    depth_mm: NDArray[np.uint16]
    rgb: NDArray[np.uint8] | None
    valid: NDArray[np.bool_]

    def __post_init__(self) -> None:
        c = len(self.camera_ids)
        n = self.t_s.shape[0] if self.t_s.ndim == 1 else -1
        _check("DepthFrames.t_s", self.t_s, (n,), np.float64)
        if self.depth_mm.ndim != 4:
            raise ValueError(f"DepthFrames.depth_mm: expected shape (c, n, H, W), got {self.depth_mm.shape}")
        h, w = self.depth_mm.shape[2:]
        _check("DepthFrames.depth_mm", self.depth_mm, (c, n, h, w), np.uint16)
        if self.rgb is not None:
            _check("DepthFrames.rgb", self.rgb, (c, n, h, w, 3), np.uint8)
        _check("DepthFrames.valid", self.valid, (c, n), np.bool_)

    def __len__(self) -> int:
        return int(self.t_s.shape[0])


class DepthSource(Protocol):
    """A store's ceiling RGB-D units: what a live camera driver or a simulator provides.

    Frames are produced on demand, in time order, and dropped once processed; nothing here is
    stored unless a debug option asks for it (privacy: only tracks and keypoints leave
    perception).

    Attributes:
        camera_ids: the depth cameras, in the order used by every :class:`DepthFrames`.
        width_px, height_px: depth image size.
        fps: frame rate.
    """

    camera_ids: tuple[str, ...]
    width_px: int
    height_px: int
    fps: float

    def empty_store(self) -> DepthFrames:
        """A few frames of every unit looking at the empty store (captured at calibration)."""
        ...

    def chunks(self, chunk_s: float) -> Iterator[DepthFrames]:
        """The recording's frames in consecutive time chunks of about ``chunk_s`` seconds."""
        ...
