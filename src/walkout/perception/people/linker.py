"""Linker: re-associate tracker observations into persons that survive tracker id swaps.

The external ceiling tracker's ids swap when two people come close. The linker ignores ids
except as a weak hint and assigns each frame's observations to persons by optimal assignment
(Hungarian, ``scipy.optimize.linear_sum_assignment``) on a cost of predicted-position distance
plus head-height difference (height is a soft appearance cue; no face or biometric template is
kept). Each person's floor position is smoothed and predicted with an alpha-beta filter (the
steady-state constant-velocity Kalman filter; Benedict & Bordner 1962), so two people whose paths
cross keep their identities by their motion. Persons closer than ``tangle_m`` are flagged
*tangled* (low-confidence) for those frames, as in the tangled-state handling of multi-target
trackers.
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

    gate_m: float = 0.3
    height_weight: float = 1.0
    id_bonus_m: float = 0.02
    max_unseen_s: float = 3.0
    restart_after_s: float = 0.5
    tangle_m: float = 0.6
    alpha: float = 0.5
    beta: float = 0.1
    max_speed_mps: float = 2.5
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
    # an observation is only reachable by a track within gate_m plus how far it could have walked
    reach = np.array([p.gate_m + p.max_speed_mps * min(t - tr.last_t, 1.0) for tr in tracks])
    h = np.array([tr.height for tr in tracks])
    ids = np.array([tr.tracker_id for tr in tracks])
    d = np.linalg.norm(pred[:, None, :] - xy[None, :, :], axis=2)
    cost = d + p.height_weight * np.abs(h[:, None] - z[None, :])
    cost = cost - p.id_bonus_m * (ids[:, None] == tid[None, :])
    return np.where(d <= reach[:, None], cost, np.inf)


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
            finite = np.isfinite(cost)
            rows, cols = linear_sum_assignment(np.where(finite, cost, 1e6))
            for r, c in zip(rows, cols, strict=False):
                if finite[r, c]:
                    assigned[c] = r
        for j in range(b - a):
            if assigned[j] < 0:
                tracks.append(_Track(next_id, xy[j].copy(), np.zeros(2), float(z[j]), int(tid[j]), t))
                assigned[j] = len(tracks) - 1
                next_id += 1
                continue
            tr = tracks[assigned[j]]
            if t - tr.last_t > params.restart_after_s:  # seen again after a gap: start from here
                tr.xy, tr.v = xy[j].copy(), np.zeros(2)
            dt = min(max(t - tr.last_t, 1e-3), 1.0)
            pred = tr.xy + tr.v * dt
            resid = xy[j] - pred
            tr.xy = pred + params.alpha * resid
            tr.v = tr.v + (params.beta / dt) * resid
            speed = float(np.linalg.norm(tr.v))
            if speed > params.max_speed_mps:
                tr.v *= params.max_speed_mps / speed
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


@dataclass(frozen=True)
class ReidParams:
    """Re-identification after a tangled state (metres, seconds)."""

    tangle_m: float = 0.35
    join_gap_s: float = 0.5
    window_s: float = 3.0
    rows: int = 30
    min_rows: int = 8
    margin_m: float = 0.015


def _tangle_episodes(people: People, p: ReidParams) -> list[tuple[int, int, float, float, float]]:
    """(a, b, t_start, t_end, t_closest) for every time two persons were within ``tangle_m``."""
    obs = people.obs
    bounds = np.flatnonzero(np.r_[True, obs.t_s[1:] != obs.t_s[:-1], True])
    close: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for a0, b0 in zip(bounds[:-1], bounds[1:], strict=False):
        if b0 - a0 < 2:
            continue
        xy = obs.head_xyz_m[a0:b0, :2].astype(np.float64)
        d = np.linalg.norm(xy[:, None] - xy[None, :], axis=2)
        ii, jj = np.nonzero(np.triu(d < p.tangle_m, 1))
        for i, j in zip(ii, jj, strict=True):
            pa, pb = sorted((int(people.person[a0 + i]), int(people.person[a0 + j])))
            close.setdefault((pa, pb), []).append((float(obs.t_s[a0]), float(d[i, j])))
    episodes = []
    for (pa, pb), hits in close.items():
        start, best_t, best_d, last = hits[0][0], hits[0][0], hits[0][1], hits[0][0]
        for t, d in hits[1:] + [(np.inf, 0.0)]:
            if t - last > p.join_gap_s:
                episodes.append((pa, pb, start, last, best_t))
                start, best_t, best_d = t, t, d
            elif d < best_d:
                best_t, best_d = t, d
            last = t
    return sorted(episodes, key=lambda e: e[3])


def _median_height(people: People, person: np.ndarray, pid: int, t: float, before: bool, p: ReidParams) -> float | None:
    """Median head height of the person's ``rows`` observations just before (or after) ``t``."""
    ts = people.obs.t_s
    sel = np.flatnonzero((person == pid) & ((ts < t) if before else (ts > t)))
    sel = sel[-p.rows:] if before else sel[: p.rows]
    if sel.size < p.min_rows or abs(float(ts[sel[-1 if before else 0]]) - t) > p.window_s:
        return None
    return float(np.median(people.obs.head_xyz_m[sel, 2]))


def resolve_tangles(people: People, params: ReidParams = ReidParams()) -> People:
    """Re-identify persons after each tangled state by their head height before it.

    When two persons have been within ``tangle_m`` of each other, their identities after they
    separate are compared with their appearance before (median head height of their last
    ``rows`` observations before and first ``rows`` after); if swapping the two explains the heights better by ``margin_m``, the
    labels are swapped from the moment they were closest. No face or image is used.

    Args:
        people: linked persons (from :func:`link_people`).
        params: re-identification parameters.

    Returns:
        A new People with corrected person ids (and re-estimated heights).
    """
    person = people.person.copy()
    t = people.obs.t_s
    for a, b, t0, t1, t_split in _tangle_episodes(people, params):
        za0 = _median_height(people, person, a, t0, True, params)
        zb0 = _median_height(people, person, b, t0, True, params)
        za1 = _median_height(people, person, a, t1, False, params)
        zb1 = _median_height(people, person, b, t1, False, params)
        if None in (za0, zb0, za1, zb1):
            continue
        keep = abs(za0 - za1) + abs(zb0 - zb1)  # type: ignore[operator]
        swap = abs(za0 - zb1) + abs(zb0 - za1)  # type: ignore[operator]
        if swap + params.margin_m < keep:
            after = t >= t_split
            ma, mb = after & (person == a), after & (person == b)
            person[ma], person[mb] = b, a
    heights = {int(k): float(np.median(people.obs.head_xyz_m[person == k, 2])) for k in np.unique(person)}
    return People(people.obs, person, people.tangled, heights)
