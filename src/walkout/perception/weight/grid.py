"""Resample plate samples onto a regular clock: one (T, P) matrix per recording or chunk."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from walkout.core.frames import PlateSamples


@dataclass(frozen=True)
class PlateGrid:
    """Plate readings on a regular clock.

    Attributes:
        t_s: (T,) float64 tick times, seconds on the recording clock.
        mass_g: (T, P) float32 reading of each plate at each tick (zero-order hold of the last
            sample at or before the tick; NaN before a plate's first sample).
    """

    t_s: NDArray[np.float64]
    mass_g: NDArray[np.float32]

    def __post_init__(self) -> None:
        if self.mass_g.ndim != 2 or self.mass_g.shape[0] != self.t_s.shape[0]:
            raise ValueError(f"PlateGrid: expected mass_g shape ({self.t_s.shape[0]}, P), got {self.mass_g.shape}")


def _dense_time_major(samples: PlateSamples, n_plates: int) -> bool:
    n = len(samples)
    if n == 0 or n % n_plates:
        return False
    pl = samples.plate.reshape(-1, n_plates)
    return bool(np.array_equal(pl[0], np.arange(n_plates)) and (pl == pl[0]).all())


def to_grid(samples: PlateSamples, n_plates: int, rate_hz: float, duration_s: float | None = None) -> PlateGrid:
    """Put plate samples on a regular ``rate_hz`` clock.

    Fast path: samples already time-major with every plate at every tick (what a shelf
    controller emits) are reshaped without copying. Otherwise each plate is resampled by
    zero-order hold (``np.searchsorted``), which tolerates jitter and missing samples.

    Args:
        samples: validated plate samples (per-plate times non-decreasing).
        n_plates: number of plates P (indices in ``samples.plate`` are < P).
        rate_hz: tick rate of the output clock.
        duration_s: last time covered; defaults to the last sample.

    Returns:
        PlateGrid with T = floor(duration_s * rate_hz) + 1 ticks.
    """
    if _dense_time_major(samples, n_plates):
        mass = samples.mass_g.reshape(-1, n_plates)
        t = samples.t_s[::n_plates]
        return PlateGrid(t.astype(np.float64), mass)
    end = float(duration_s if duration_s is not None else (samples.t_s.max() if len(samples) else 0.0))
    t = np.arange(int(np.floor(end * rate_hz)) + 1, dtype=np.float64) / rate_hz
    mass = np.full((t.shape[0], n_plates), np.nan, dtype=np.float32)
    order = np.argsort(samples.plate, kind="stable")
    plate_sorted = samples.plate[order]
    bounds = np.searchsorted(plate_sorted, np.arange(n_plates + 1))
    for p in range(n_plates):
        sel = order[bounds[p] : bounds[p + 1]]
        if sel.size == 0:
            continue
        ts, ms = samples.t_s[sel], samples.mass_g[sel]
        k = np.searchsorted(ts, t, side="right") - 1
        col = np.where(k >= 0, ms[np.clip(k, 0, None)], np.nan)
        mass[:, p] = col
    return PlateGrid(t, mass)
