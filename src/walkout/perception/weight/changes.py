"""Settled weight changes per plate, from a regular (T, P) grid of readings.

Method: a plate is *steady* at tick t when the standard deviation of its last ``window``
readings is below ``steady_std_g`` (noise of a load cell is ~1.5 g; a settling oscillation or a
hand on the shelf is far larger) and their mean differs from the previous window's mean by less
than ``max_step_g`` (which catches slow ramps). Steady runs of at least ``min_steady`` ticks are *settled
segments*; each gap between two settled segments of a plate is an *activity interval* whose
change is the difference of the two settled levels (each the mean over up to ``level_span_s``
next to the gap). This is the classic step detection used on load-cell shelves (e.g. the
AutoCheckout baselines' moving-variance segmentation); drift (a few grams per ten minutes)
cancels because only neighbouring levels are compared. All of it is vectorised over plates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from walkout.perception.weight.grid import PlateGrid


@dataclass(frozen=True)
class WeightParams:
    """Parameters of plate change detection (defaults tuned for 60 Hz, 1.5 g noise)."""

    window: int = 15
    steady_std_g: float = 4.0
    min_steady: int = 20
    level_span_s: float = 1.0
    min_change_g: float = 3.0
    max_step_g: float = 3.0


@dataclass(frozen=True)
class PlateChanges:
    """Activity intervals of plates, one row each, sorted by (t_end_s, plate).

    Attributes:
        plate: (n,) int32 plate index (store order).
        t_start_s: (n,) float64 first unsteady tick (s).
        t_end_s: (n,) float64 tick at which the new level counted as settled (s).
        level_before_g, level_after_g: (n,) float64 settled readings around the interval (g).
        delta_g: (n,) float64 ``level_after_g - level_before_g``.
    """

    plate: NDArray[np.int32]
    t_start_s: NDArray[np.float64]
    t_end_s: NDArray[np.float64]
    level_before_g: NDArray[np.float64]
    level_after_g: NDArray[np.float64]

    @property
    def delta_g(self) -> NDArray[np.float64]:
        return self.level_after_g - self.level_before_g

    def __len__(self) -> int:
        return int(self.plate.shape[0])


def steady_mask(mass_g: NDArray[np.float32], params: WeightParams) -> NDArray[np.bool_]:
    """(T, P) bool: the last ``window`` readings of the plate are steady (std below threshold).

    NaN readings (no sample yet) are never steady.
    """
    x = mass_g.astype(np.float64)
    ref = np.nan_to_num(x[0], nan=0.0)
    x = x - ref
    nan = np.isnan(x)
    x = np.where(nan, 0.0, x)
    w = params.window
    c1 = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    c2 = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x * x, axis=0)])
    cn = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(nan, axis=0)])
    steady = np.zeros(x.shape, dtype=bool)
    if x.shape[0] < w:
        return steady
    s1 = c1[w:] - c1[:-w]
    s2 = c2[w:] - c2[:-w]
    var = np.maximum(s2 / w - (s1 / w) ** 2, 0.0)
    ok = (var < params.steady_std_g**2) & ((cn[w:] - cn[:-w]) == 0)
    # a slow ramp (an item eased off the plate) has a small variance in every window but its
    # mean moves: compare each window's mean with the window just before it
    mean = s1 / w
    step = np.zeros_like(ok)
    step[w:] = np.abs(mean[w:] - mean[:-w]) >= params.max_step_g
    ok &= ~step
    steady[w - 1 :] = ok
    return steady


def _runs(mask: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Runs of True per column: (plate, start, end_exclusive), sorted by plate then start."""
    t, p = mask.shape
    pad = np.zeros((p, t + 2), dtype=np.int8)
    pad[:, 1:-1] = mask.T
    d = np.diff(pad, axis=1)
    sp, st = np.nonzero(d == 1)
    ep, en = np.nonzero(d == -1)
    return sp.astype(np.int64), st.astype(np.int64), en.astype(np.int64)


def detect_plate_changes(grid: PlateGrid, params: WeightParams = WeightParams()) -> PlateChanges:
    """Find every activity interval of every plate and its settled change.

    Args:
        grid: readings on a regular clock, shape (T, P).
        params: detection parameters.

    Returns:
        PlateChanges with one row per interval whose |change| >= ``params.min_change_g``.
    """
    mass = grid.mass_g
    steady = steady_mask(mass, params)
    plate, start, end = _runs(steady)
    keep = (end - start) >= params.min_steady
    plate, start, end = plate[keep], start[keep], end[keep]
    # sample range covered by a settled segment: the full window behind its first steady tick
    seg_lo = np.maximum(start - params.window + 1, 0)
    x = np.nan_to_num(mass.astype(np.float64))
    csum = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    same_plate_next = np.r_[plate[1:] == plate[:-1], False]
    k = np.flatnonzero(same_plate_next)
    if k.size == 0:
        return _empty()
    dt = grid.t_s[1] - grid.t_s[0] if grid.t_s.shape[0] > 1 else 1 / 60
    span = max(1, int(round(params.level_span_s / dt)))
    p = plate[k]
    b_hi = end[k]
    b_lo = np.maximum(seg_lo[k], b_hi - span)
    a_lo = seg_lo[k + 1]
    a_hi = np.minimum(end[k + 1], a_lo + span)
    before = (csum[b_hi, p] - csum[b_lo, p]) / (b_hi - b_lo)
    after = (csum[a_hi, p] - csum[a_lo, p]) / (a_hi - a_lo)
    t_start = grid.t_s[np.minimum(end[k], len(grid.t_s) - 1)]
    t_end = grid.t_s[start[k + 1]]
    big = np.abs(after - before) >= params.min_change_g
    order = np.lexsort((p[big], t_end[big]))
    return PlateChanges(
        plate=p[big][order].astype(np.int32),
        t_start_s=t_start[big][order],
        t_end_s=t_end[big][order],
        level_before_g=before[big][order],
        level_after_g=after[big][order],
    )


def _empty() -> PlateChanges:
    z = np.empty(0)
    return PlateChanges(np.empty(0, np.int32), z, z.copy(), z.copy(), z.copy())
