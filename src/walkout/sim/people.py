"""Person-tracker rendering: a timeline's shoppers -> 15 Hz PersonObservations (world, metres).

What an external ceiling tracker would report, per frame and present shopper: an anonymous
int64 track id, the head position (top of head minus ~0.12 m, with a small walking bob) and both
hands (at rest ~0.25 m either side of the body at z ~ 0.8 m, swinging while walking; during a
reach one hand moves smoothly to the plate's front edge and back).

Faults (defaults in :class:`~walkout.sim.params.PeopleParams`): Gaussian head (3 cm) and hand
(6 cm) noise per axis; 5% of rows dropped; each hand missing (NaN) 20% of the time while the body
is near a shelf, in runs of a few frames (a two-state Markov chain, mean run 4 frames); and when
two shoppers come within 0.6 m, a 30% chance per encounter that their track ids swap from then on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from walkout.core.frames import PersonObservations
from walkout.sim.loadcell import smoothstep
from walkout.sim.params import PeopleParams
from walkout.sim.paths import Footprint, along_segments
from walkout.sim.schedule import ShopperTrack, Timeline


@dataclass(frozen=True)
class PeopleRender:
    """Observations plus the hidden truth behind them (for tests and diagnostics only).

    Attributes:
        observations: what the tracker reports.
        shopper: (n,) int64 index of the shopper each observation row really belongs to.
        n_rows_before_drop: number of rows before dropping.
        gait_phase_rad: (shoppers,) float64 walking-cycle phase of each shopper (the phase of
            :func:`tracker_pose`; the depth renderer's bodies walk in the same phase).
    """

    observations: PersonObservations
    shopper: NDArray[np.int64]
    n_rows_before_drop: int
    gait_phase_rad: NDArray[np.float64]


def body_at(
    track: ShopperTrack, t_s: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Body position, facing and walking flag of a shopper at times t_s.

    Args:
        track: the shopper's path.
        t_s: (n,) float64 seconds.

    Returns:
        ``(xy, face, moving)``: (n, 2) world xy in metres, (n, 2) unit facing, (n,) bool.
    """
    k, xy = along_segments(track.seg_t0_s, track.seg_t1_s, track.seg_p0_m, track.seg_p1_m, t_s)
    moving = np.hypot(*(track.seg_p1_m[k] - track.seg_p0_m[k]).T) > 1e-6
    return xy, track.seg_face_xy[k], moving


def _reach_weight(t: NDArray[np.float64], times: NDArray[np.float64]) -> NDArray[np.float64]:
    go, contact, release, back = times
    up = smoothstep((t - go) / max(contact - go, 1e-6))
    down = 1.0 - smoothstep((t - release) / max(back - release, 1e-6))
    return np.where(t < release, up, down) * ((t >= go) & (t <= back))


def _markov_mask(n: int, frac: float, run: float, rng: np.random.Generator) -> NDArray[np.bool_]:
    """(n,) bool of a two-state chain: True a fraction ``frac`` of the time, mean True run ``run``."""
    if n == 0 or frac <= 0.0:
        return np.zeros(n, dtype=bool)
    mean_off = run * (1.0 - frac) / frac
    values, lengths, total = [], [], 0
    state = bool(rng.random() < frac)
    while total < n:
        m = int(2 * n / (run + mean_off)) + 4
        on = rng.geometric(1.0 / run, size=m)
        off = rng.geometric(1.0 / max(mean_off, 1.0), size=m)
        pairs = np.stack([on, off] if state else [off, on], axis=1).reshape(-1)
        values.append(np.tile([state, not state], m))
        lengths.append(pairs)
        total += int(pairs.sum())
    return np.repeat(np.concatenate(values), np.concatenate(lengths))[:n]


def tracker_pose(
    track: ShopperTrack,
    idx: int,
    t: NDArray[np.float64],
    timeline: Timeline,
    params: PeopleParams,
    phase: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Noiseless head point and hands of one shopper (world frame, metres).

    The tracker model before noise and dropouts: hands rest ``hand_rest_side_m`` either side of
    the body at ``hand_rest_z_m``, swing fore-aft (``hand_swing_m``) while walking, and move to
    each reach target with the smoothstep weight of the reach's four times; the head point is
    ``head_below_top_m`` below the top of the head, bobbing ``bob_m`` while walking.

    Args:
        track: the shopper's path.
        idx: the shopper's index in ``timeline.shoppers`` (selects its reaches).
        t: (n,) float64 seconds.
        timeline: the scheduled reaches.
        params: tracker model parameters.
        phase: walking-cycle phase, radians.

    Returns:
        ``(head, left, right)``: three (n, 3) float64 world points, metres.
    """
    xy, face, moving = body_at(track, t)
    right = np.stack([face[:, 1], -face[:, 0]], axis=1)
    swing = (params.hand_swing_m * np.sin(np.pi * params.step_hz * t + phase) * moving)[:, None] * face
    hands = []
    for sign in (-1.0, 1.0):  # left, right
        h = np.empty((t.shape[0], 3))
        h[:, :2] = xy + sign * params.hand_rest_side_m * right - sign * swing
        h[:, 2] = params.hand_rest_z_m
        hands.append(h)
    for r in np.flatnonzero(timeline.reach_shopper == idx):
        w = _reach_weight(t, timeline.reach_t_s[r])[:, None]
        h = hands[int(timeline.reach_hand[r])]
        h += w * (timeline.reach_target_m[r] - h)
    head = np.empty((t.shape[0], 3))
    head[:, :2] = xy
    head[:, 2] = track.height_m - params.head_below_top_m
    head[:, 2] += params.bob_m * np.sin(2 * np.pi * params.step_hz * t + phase) * moving
    return head, hands[0], hands[1]


def _positions(timeline: Timeline, t: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """(frames, shoppers, 2) body xy (NaN when absent) and (frames, shoppers) presence."""
    n = len(timeline.shoppers)
    pos = np.full((t.shape[0], n, 2), np.nan)
    present = np.zeros((t.shape[0], n), dtype=bool)
    for i, tr in enumerate(timeline.shoppers):
        present[:, i] = (t >= tr.appear_t_s) & (t <= tr.disappear_t_s)
        k = np.flatnonzero(present[:, i])
        pos[k, i] = body_at(tr, t[k])[0]
    return pos, present


def swapped_ids(
    pos: NDArray[np.float64], base_ids: NDArray[np.int64], params: PeopleParams, rng: np.random.Generator
) -> NDArray[np.int64]:
    """Track id of each shopper at each frame, with swaps at close encounters.

    Args:
        pos: (frames, shoppers, 2) body xy, NaN when absent.
        base_ids: (shoppers,) int64 initial track ids.
        params: ``swap_distance_m`` and ``swap_prob``.
        rng: random generator (one draw per encounter, in time order).

    Returns:
        (frames, shoppers) int64; an encounter is the first frame of a run of frames with the two
        bodies closer than ``swap_distance_m``; with probability ``swap_prob`` the two ids
        are exchanged from that frame on.
    """
    n_frames, n = pos.shape[:2]
    ids = np.broadcast_to(base_ids, (n_frames, n)).copy()
    encounters = []
    for i in range(n):
        for j in range(i + 1, n):
            d = np.hypot(*(pos[:, i] - pos[:, j]).T)
            close = np.nan_to_num(d, nan=np.inf) < params.swap_distance_m
            starts = np.flatnonzero(close & ~np.r_[False, close[:-1]])
            encounters += [(int(k), i, j) for k in starts]
    for k, i, j in sorted(encounters):
        if rng.random() < params.swap_prob:
            ids[k:, [i, j]] = ids[k:, [j, i]]
    return ids


_COLS = ("t", "id", "head", "left", "right", "who")
_EMPTY = {
    "t": np.empty(0),
    "id": np.empty(0, np.int64),
    "head": np.empty((0, 3)),
    "left": np.empty((0, 3)),
    "right": np.empty((0, 3)),
    "who": np.empty(0, np.int64),
}


def _shopper_rows(
    tr: ShopperTrack,
    i: int,
    t: NDArray[np.float64],
    xy: NDArray[np.float64],
    timeline: Timeline,
    footprints: tuple[Footprint, ...],
    params: PeopleParams,
    rng: np.random.Generator,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], float]:
    """Noisy head, left and right hand (frames, 3) of one shopper, and its gait phase (radians).

    Hands are NaN while occluded.
    """
    phase = rng.uniform(0, 2 * np.pi)
    head, left, right = tracker_pose(tr, i, t, timeline, params, phase)
    dist = np.min([fp.distance(xy) for fp in footprints], axis=0) if footprints else np.full(len(t), np.inf)
    near = dist < params.near_shelf_m
    for h in (left, right):
        h += rng.normal(0.0, params.hand_sigma_m, size=h.shape)
        h[near & _markov_mask(len(t), params.hand_missing_frac, params.hand_missing_run_frames, rng)] = np.nan
    head += rng.normal(0.0, params.head_sigma_m, size=head.shape)
    return head, left, right, float(phase)


def _track_ids(n: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """n distinct random positive int64 track ids."""
    while True:
        ids = rng.integers(1, 2**62, size=n, dtype=np.int64)
        if len(np.unique(ids)) == n:
            return ids


def render_people(
    timeline: Timeline, footprints: tuple[Footprint, ...], params: PeopleParams, rng: np.random.Generator
) -> PeopleRender:
    """Render the person tracker's observations for a whole recording.

    Args:
        timeline: the scheduled shoppers and reaches.
        footprints: gondola footprints (for "near a shelf").
        params: tracker model parameters.
        rng: random generator.

    Returns:
        A :class:`PeopleRender`; its observations are sorted by t_s, then track_id.
    """
    t = np.arange(int(np.floor(timeline.duration_s * params.rate_hz)) + 1) / params.rate_hz
    n = len(timeline.shoppers)
    base = _track_ids(n, rng)
    pos, present = _positions(timeline, t)
    ids = swapped_ids(pos, base, params, rng)
    cols: dict[str, list[NDArray[np.generic]]] = {k: [_EMPTY[k]] for k in _COLS}
    phases = np.zeros(n)
    for i, tr in enumerate(timeline.shoppers):
        k = np.flatnonzero(present[:, i])
        *rows, phases[i] = _shopper_rows(tr, i, t[k], pos[k, i], timeline, footprints, params, rng)
        for key, v in zip(_COLS, (t[k], ids[k, i], *rows, np.full(len(k), i)), strict=True):
            cols[key].append(v)
    c = {key: np.concatenate(v) for key, v in cols.items()}
    total = c["t"].shape[0]
    keep = rng.random(total) >= params.drop_prob
    order = np.flatnonzero(keep)[np.lexsort((c["id"][keep], c["t"][keep]))]
    obs = PersonObservations(
        t_s=c["t"][order].astype(np.float64),
        track_id=c["id"][order].astype(np.int64),
        head_xyz_m=c["head"][order].astype(np.float32),
        left_hand_xyz_m=c["left"][order].astype(np.float32),
        right_hand_xyz_m=c["right"][order].astype(np.float32),
    )
    return PeopleRender(obs, c["who"][order].astype(np.int64), total, phases)
