"""Linker: re-associate tracker observations into persons that survive tracker id swaps.

The external ceiling tracker's ids swap when two people come close. The linker ignores ids
except as a weak hint and assigns each frame's observations to persons by optimal assignment
(Hungarian, ``scipy.optimize.linear_sum_assignment``) on a cost of predicted-position distance
plus head-height difference (height is a soft appearance cue; no face or biometric template is
kept). Persons closer than ``tangle_m`` are flagged *tangled* (low-confidence) for those frames,
as in the tangled-state handling of multi-target trackers (e.g. ByteTrack's low-score stage).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from walkout.core.frames import PersonObservations


@dataclass(frozen=True)
class LinkerParams:
    """Linker parameters (metres, seconds)."""

    gate_m: float = 1.0
    height_weight: float = 3.0
    id_bonus_m: float = 0.05
    max_unseen_s: float = 3.0
    tangle_m: float = 0.6
    velocity_alpha: float = 0.5
    height_alpha: float = 0.1


@dataclass(frozen=True)
class People:
    """Observations labelled with linked person ids.

    Attributes:
        obs: the observations (rows sorted by t_s).
        person: (n,) int64 linked person id of each row.
        tangled: (n,) bool, True where the person was within ``tangle_m`` of another person.
        height_m: person id -> estimated head height (m).
    """

    obs: PersonObservations
    person: NDArray[np.int64]
    tangled: NDArray[np.bool_]
    height_m: dict[int, float] = field(default_factory=dict)

    def ids(self) -> list[int]:
        return sorted(self.height_m)

    def rows_between(self, t0_s: float, t1_s: float) -> slice:
        """Row slice with t0_s <= t_s <= t1_s."""
        lo = int(np.searchsorted(self.obs.t_s, t0_s, side="left"))
        hi = int(np.searchsorted(self.obs.t_s, t1_s, side="right"))
        return slice(lo, hi)


@dataclass
class _Track:
    pid: int
    xy: NDArray[np.float64]
    v: NDArray[np.float64]
    height: float
    tracker_id: int
    last_t: float


def _cost(tracks: list[_Track], xy: NDArray[np.float64], z: NDArray[np.float64], tid: NDArray[np.int64],
          t: float, p: LinkerParams) -> NDArray[np.float64]:
    pred = np.array([tr.xy + tr.v * min(t - tr.last_t, 1.0) for tr in tracks])
    h = np.array([tr.height for tr in tracks])
    ids = np.array([tr.tracker_id for tr in tracks])
    d = np.linalg.norm(pred[:, None, :] - xy[None, :, :], axis=2)
    cost = d + p.height_weight * np.abs(h[:, None] - z[None, :])
    return cost - p.id_bonus_m * (ids[:, None] == tid[None, :])


def link_people(obs: PersonObservations, params: LinkerParams = LinkerParams()) -> People:
    """Link observations into persons, frame by frame (causal: usable live).

    Args:
        obs: tracker observations, rows sorted by t_s (as :func:`walkout.io.read_recording` gives).
        params: linker parameters.

    Returns:
        People with a person id and tangled flag per row.
    """
    n = len(obs)
    person = np.full(n, -1, dtype=np.int64)
    tangled = np.zeros(n, dtype=bool)
    heights: dict[int, float] = {}
    if n == 0:
        return People(obs, person, tangled, heights)
    bounds = np.flatnonzero(np.r_[True, obs.t_s[1:] != obs.t_s[:-1], True])
    tracks: list[_Track] = []
    next_id = 0
    for a, b in zip(bounds[:-1], bounds[1:], strict=False):
        t = float(obs.t_s[a])
        tracks = [tr for tr in tracks if t - tr.last_t <= params.max_unseen_s]
        xy = obs.head_xyz_m[a:b, :2].astype(np.float64)
        z = obs.head_xyz_m[a:b, 2].astype(np.float64)
        tid = obs.track_id[a:b]
        assigned = np.full(b - a, -1)
        if tracks:
            cost = _cost(tracks, xy, z, tid, t, params)
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols, strict=False):
                if cost[r, c] <= params.gate_m:
                    assigned[c] = r
        for j in range(b - a):
            if assigned[j] < 0:
                tracks.append(_Track(next_id, xy[j].copy(), np.zeros(2), float(z[j]), int(tid[j]), t))
                assigned[j] = len(tracks) - 1
                next_id += 1
                continue
            tr = tracks[assigned[j]]
            dt = max(t - tr.last_t, 1e-3)
            v_new = (xy[j] - tr.xy) / dt
            tr.v = (1 - params.velocity_alpha) * tr.v + params.velocity_alpha * v_new
            tr.xy = xy[j].copy()
            tr.height = (1 - params.height_alpha) * tr.height + params.height_alpha * float(z[j])
            tr.tracker_id, tr.last_t = int(tid[j]), t
        for j in range(b - a):
            tr = tracks[assigned[j]]
            person[a + j] = tr.pid
            heights[tr.pid] = tr.height
        if b - a > 1:
            d = np.linalg.norm(xy[:, None] - xy[None, :], axis=2)
            np.fill_diagonal(d, np.inf)
            tangled[a:b] = d.min(axis=1) < params.tangle_m
    return People(obs, person, tangled, heights)
