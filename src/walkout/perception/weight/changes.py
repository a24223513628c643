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

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from walkout.perception.weight.grid import PlateGrid


@dataclass(frozen=True)
class WeightParams:
    """Parameters of plate change detection (defaults tuned for 60 Hz, 1.5 g noise).

    ``open_*`` apply only where the readings end now (live, ``open_end=True``): the short steady
    test (``open_window`` readings, without the slow-ramp test by default) that lets a plate
    settle provisionally after ``open_min_steady`` steady readings instead of ``min_steady``.
    """

    window: int = 15
    steady_std_g: float = 4.0
    min_steady: int = 20
    level_span_s: float = 1.0
    min_change_g: float = 3.0
    max_step_g: float = 3.0
    open_window: int = 8
    open_min_steady: int = 4
    open_max_step_g: float = float("inf")


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


def steady_mask(mass_g: NDArray[np.float32], params: WeightParams,
                ref_g: NDArray[np.float64] | None = None) -> NDArray[np.bool_]:
    """(T, P) bool: the last ``window`` readings of the plate are steady (std below threshold).

    NaN readings (no sample yet) are never steady. Readings are taken relative to ``ref_g``
    ((P,) grams; default: the first row, NaN as 0), which also stands in for NaN readings.
    """
    x = mass_g.astype(np.float64)
    ref = np.nan_to_num(x[0], nan=0.0) if ref_g is None else ref_g
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


def detect_plate_changes(grid: PlateGrid, params: WeightParams = WeightParams(), *,
                         open_end: bool = False,
                         steady: NDArray[np.bool_] | None = None) -> PlateChanges:
    """Find every activity interval of every plate and its settled change.

    Args:
        grid: readings on a regular clock, shape (T, P).
        params: detection parameters.
        open_end: the readings end now (live): a plate steady over its last
            ``params.open_min_steady`` readings by the short ``params.open_window`` test counts as
            settled already. Such a change is provisional: the next call, with more
            data, may merge it with what follows. Detection delay after the plate settles drops
            from about 0.6 s to 0.3 s (docs/engine.md, "Live").
        steady: (T, P) bool, :func:`steady_mask` of the grid if already known (live: a
            :class:`SteadyCache` extends it as readings arrive); None: computed here.

    Returns:
        PlateChanges with one row per interval whose |change| >= ``params.min_change_g``.
    """
    mass = grid.mass_g
    steady = steady_mask(mass, params) if steady is None else steady
    plate, start, end = _runs(steady)
    keep = (end - start) >= params.min_steady
    plate, start, end = plate[keep], start[keep], end[keep]
    # sample range covered by a settled segment: the full window behind its first steady tick
    seg_lo = np.maximum(start - params.window + 1, 0)
    if open_end:
        plate, start, end, seg_lo = _open_segments(mass, params, plate, start, end, seg_lo)
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
    before = _span_means(mass, p, b_lo, b_hi)
    after = _span_means(mass, p, a_lo, a_hi)
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


def _span_means(mass: NDArray[np.float32], plate: NDArray[np.int64], lo: NDArray[np.int64],
                hi: NDArray[np.int64]) -> NDArray[np.float64]:
    """Mean reading of ``plate[i]`` over rows ``lo[i]:hi[i]`` (NaN as 0, as the steady test sees none)."""
    return np.array([float(np.mean(np.nan_to_num(mass[a:b, c].astype(np.float64)))) for c, a, b in
                     zip(plate.tolist(), lo.tolist(), hi.tolist(), strict=True)], dtype=np.float64).reshape(-1)


class SteadyCache:
    """The :func:`steady_mask` of a growing grid, extended as readings arrive (live).

    Row t of the mask depends only on readings t - 2 ``window`` + 1 .. t, so rows computed once
    stay valid; each :meth:`update` recomputes the last ``late_rows`` rows (readings that
    arrived late may have changed them) and computes the rows added since the last call.
    """

    def __init__(self, params: WeightParams, late_rows: int = 30) -> None:
        self.params, self.late_rows = params, late_rows
        self.mask = np.zeros((0, 0), dtype=bool)
        self.ref_g = np.zeros(0)

    def update(self, mass_g: NDArray[np.float32]) -> NDArray[np.bool_]:
        """(T, P) bool steady mask of ``mass_g`` (T rows so far; earlier rows as on the last call)."""
        n = mass_g.shape[0]
        n0 = min(self.mask.shape[0], n) - self.late_rows
        if self.mask.shape[1:] != mass_g.shape[1:] or n0 <= 2 * self.params.window:
            self.ref_g = np.nan_to_num(mass_g[0].astype(np.float64), nan=0.0) if n else np.zeros(mass_g.shape[1])
            self.mask = steady_mask(mass_g, self.params, self.ref_g)
            return self.mask
        lo = n0 - 2 * self.params.window
        self.mask = np.vstack([self.mask[:n0], steady_mask(mass_g[lo:], self.params, self.ref_g)[n0 - lo:]])
        return self.mask


def _open_segments(mass: NDArray[np.float32], params: WeightParams, plate: NDArray[np.int64],
                   start: NDArray[np.int64], end: NDArray[np.int64], seg_lo: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Live data ends now: a plate steady over the last ``open_min_steady`` readings by the short
    ``open_window`` test counts as settled already (provisionally: it may yet move on, and the next
    call sees it with more data). Plates whose settled segment already reaches the end keep it."""
    n = mass.shape[0]
    short = replace(params, window=params.open_window, max_step_g=params.open_max_step_g)
    tail = steady_mask(mass[max(0, n - params.open_window - 2 * params.min_steady - 1):], short)
    t_plate, t_start, t_end = _runs(tail)
    offset = n - tail.shape[0]
    t_start, t_end = t_start + offset, t_end + offset
    last_end = np.full(mass.shape[1], -1, np.int64)
    np.maximum.at(last_end, plate, end)
    # the full test's segment of that plate already reaches the end; or the short test's run
    # overlaps the full test's last segment (a slow ramp the short window cannot see): no change
    new = (t_end == n) & ((t_end - t_start) >= params.open_min_steady) & (last_end[t_plate] < n) & (
        t_start >= last_end[t_plate])
    if not new.any():
        return plate, start, end, seg_lo
    plate = np.r_[plate, t_plate[new]]
    start = np.r_[start, t_start[new]]
    end = np.r_[end, t_end[new]]
    seg_lo = np.r_[seg_lo, np.maximum(t_start[new] - params.open_window + 1, 0)]
    order = np.lexsort((start, plate))
    return plate[order], start[order], end[order], seg_lo[order]


def _empty() -> PlateChanges:
    z = np.empty(0)
    return PlateChanges(np.empty(0, np.int32), z, z.copy(), z.copy(), z.copy())
