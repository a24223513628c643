"""Vision: the store's ceiling RGB-D units -> person tracks with hands (locator -> linker -> arms).

For each chunk of synchronised frames the :class:`~walkout.perception.people.locator.Locator`
finds people on the floor, :func:`~walkout.perception.people.arms.trace_arms` traces their arms,
and the :class:`~walkout.perception.people.tracker.Linker` gives them track ids frame by frame.
Frames are dropped as soon as a chunk is processed: only tracks and keypoints leave this module
(privacy by design; no face or biometric template is formed).

The output's :class:`~walkout.core.frames.PersonObservations` is the same stream an external
tracker would give, so the rest of the engine is unchanged. A hand that is not extended is
reported as unseen (NaN): attribution then falls back to the head position with a penalty, as
for an occluded hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from walkout.core.frames import DepthSource, PersonObservations
from walkout.core.store import Store
from walkout.perception.people.arms import (
    KEYPOINTS,
    ArmParams,
    hand_side,
    put_hand,
    shelf_boards_z,
    shelf_fronts,
    toward_shelf,
    trace_arm_points,
)
from walkout.perception.people.locator import Detections, Locator, LocatorParams, PersonPoints, colour_histogram
from walkout.perception.people.tracker import Appearance, FrameDetections, Linker, TrackerParams, hellinger


@dataclass(frozen=True)
class VisionParams:
    """Parameters of the vision pipeline."""

    locator: LocatorParams = field(default_factory=LocatorParams)
    arms: ArmParams = field(default_factory=ArmParams)
    tracker: TrackerParams = field(default_factory=TrackerParams)
    chunk_s: float = 2.0
    #: no hand is reported while the track moves faster than this (m/s, over ``walk_window_s``):
    #: people stop to take something; an "arm" in front of a walker is a leg or a swinging arm
    walking_mps: float = 0.35
    walk_window_s: float = 0.4
    #: an arm traced for one person goes to a neighbour (heads within ``arm_contest_m``) whose
    #: clothing it wears: its colour histogram is nearer the neighbour's torso than the person's
    #: own by ``arm_colour_margin`` (Hellinger distance), from at least ``arm_colour_points`` points
    arm_contest_m: float = 1.0
    arm_colour_margin: float = 0.25
    arm_colour_points: int = 8
    #: ... or the points that continue the arm back toward its shoulder (the far half of a walk of
    #: ``arm_root_m``; its colour mixes sleeve and skin, so a smaller margin)
    arm_root_m: float = 0.4
    arm_root_step_m: float = 0.05
    arm_root_margin: float = 0.15


@dataclass(frozen=True)
class VisionPeople:
    """Person tracks seen by the ceiling units, one row per (frame, track), sorted by time.

    Attributes:
        observations: head and hands per row, for the engine (hands NaN when not extended).
        hands_xyz_m: (n, 2, 3) float32 traced left/right hands, NaN where not extended.
        keypoints_xyz_m: (n, 7, 3) float32 stick figure (see ``arms.KEYPOINTS``).
        body_xy_m: (n, 2) float32 torso centre on the floor plane.
        tangled: (n,) bool, the track was in a tangled state (low confidence).
        stats: counts: frames, camera frames, dropped camera frames, person blobs, not-person
            blobs, detections, arms moved to a neighbour by colour, unconfirmed detections,
            re-identification swaps.
    """

    observations: PersonObservations
    hands_xyz_m: NDArray[np.float32]
    keypoints_xyz_m: NDArray[np.float32]
    body_xy_m: NDArray[np.float32]
    tangled: NDArray[np.bool_]
    stats: dict[str, int]


@dataclass
class _Rows:
    t: list[float] = field(default_factory=list)
    head: list[NDArray[np.float32]] = field(default_factory=list)
    body: list[NDArray[np.float32]] = field(default_factory=list)
    hands: list[NDArray[np.float64]] = field(default_factory=list)
    kp: list[NDArray[np.float64]] = field(default_factory=list)


def _frame_detections(det: Detections, sel: NDArray[np.int64], base_row: int, strong_points: int) -> FrameDetections:
    apps = [Appearance(float(det.top_m[i]), float(det.build_m[i]), det.hist[i]) for i in sel]
    return FrameDetections(det.body_xy_m[sel].astype(np.float64), det.n_points[sel] >= strong_points, apps,
                           base_row + np.arange(len(sel), dtype=np.int64))


Traced = tuple[NDArray[np.float64], NDArray[np.float64], list[NDArray[np.int64] | None]]


def _trace(pts: PersonPoints, det: Detections, i: int, params: ArmParams, fronts: NDArray[np.float64],
           boards_z: NDArray[np.float64]) -> Traced:
    return trace_arm_points(pts.xyz_m[det.point_index[i]], det.head_xyz_m[i, :2].astype(np.float64),
                            float(det.top_m[i]), params, fronts, boards_z)


def _arm_root(xyz: NDArray[np.float32], arm: NDArray[np.int64], hand: NDArray[np.float64],
              frame_idx: NDArray[np.int64], params: VisionParams) -> NDArray[np.int64]:
    """Points of the frame (any person's) that continue an arm back from its end away from the
    hand, up to ``arm_root_m`` (toward the upper arm, whose sleeve always has the shirt's colour):
    a geodesic dilation over occupied ``arm_root_step_m`` voxels (``scipy.ndimage``), seeded with
    the quarter of the arm farthest from the hand; the points of its far half are returned."""
    pts = xyz[arm]
    from_hand = np.hypot(*(pts[:, :2] - hand[:2]).T)
    front = pts[from_hand >= np.percentile(from_hand, 75)]
    reach = params.arm_root_m + params.arm_root_step_m
    cand = frame_idx[(np.max(np.abs(xyz[frame_idx, :2] - front[:, :2].mean(axis=0)), axis=1) < reach)
                     & (xyz[frame_idx, 2] > front[:, 2].min() - reach)]
    cand = cand[~np.isin(cand, arm)]
    if len(cand) == 0:
        return cand
    step = params.arm_root_step_m
    lo = np.minimum(xyz[cand].min(axis=0), front.min(axis=0))
    vc = np.floor((xyz[cand] - lo) / step).astype(np.int64)
    vf = np.floor((front - lo) / step).astype(np.int64)
    shape = tuple(int(x) for x in np.maximum(vc.max(axis=0), vf.max(axis=0)) + 1)
    occupied, seed = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
    occupied[tuple(vc.T)] = True
    seed[tuple(vf.T)] = True
    n = max(2, int(round(params.arm_root_m / step)))
    cross = ndimage.generate_binary_structure(3, 1)
    mask = occupied | seed
    near = ndimage.binary_dilation(seed, structure=cross, iterations=n // 2, mask=mask)
    grown = ndimage.binary_dilation(near, structure=cross, iterations=n - n // 2, mask=mask)
    ring = grown & ~near  # the far half of the walk: past the forearm, the upper arm
    return cand[ring[tuple(vc.T)]]


def _shirt_owner(pts: PersonPoints, det: Detections, sel: NDArray[np.int64], a: int, near: list[int],
                 part: NDArray[np.int64], margin: float, params: VisionParams) -> int | None:
    """The neighbour (index into ``sel``, among ``near``) whose torso colour the points ``part``
    match better than person ``a``'s own by ``margin`` (Hellinger distance), or None."""
    if len(part) < params.arm_colour_points:
        return None
    hist = colour_histogram(pts.rgb[part])
    other, b = min((hellinger(hist, det.hist[sel[b]]), b) for b in near)
    return b if other + margin < hellinger(hist, det.hist[sel[a]]) else None


def _arms_by_colour(pts: PersonPoints, det: Detections, sel: NDArray[np.int64], traced: list[Traced],
                    fronts: NDArray[np.float64], params: VisionParams) -> int:
    """Give each traced arm to the neighbour whose clothing it wears, when that is clear.

    Where two people stand shoulder to shoulder, the points of one's arm reaching in front of the
    other can be nearer the other through the body, and the locator hands them to the wrong
    person. A sleeve has its shirt's colour (an upper arm always; a forearm when the sleeves are
    long): when the arm's hue/saturation histogram is nearer a neighbour's torso histogram than
    its owner's by ``params.arm_colour_margin``, the hand (with shoulder and elbow) moves to that
    neighbour's free hand slot. A bare forearm (skin) matches nobody's shirt and stays. Works in
    place on ``traced``; returns the number of arms moved.
    """
    moved = 0
    frame_idx: NDArray[np.int64] | None = None  # every person's points of the frame, when an arm root is needed
    for a, i in enumerate(sel):
        head = det.head_xyz_m[i, :2]
        near = [b for b, j in enumerate(sel)
                if b != a and float(np.linalg.norm(det.head_xyz_m[j, :2] - head)) < params.arm_contest_m]
        if not near:
            continue
        for side in (0, 1):
            rows = traced[a][2][side]
            if rows is None or len(rows) < params.arm_colour_points:
                continue
            idx = det.point_index[i][rows]
            b = _shirt_owner(pts, det, sel, a, near, idx, params.arm_colour_margin, params)
            if b is None:  # the arm alone does not decide: look at its root
                if frame_idx is None:
                    frame_idx = np.concatenate([det.point_index[j] for j in sel])
                root = _arm_root(pts.xyz_m, idx, traced[a][0][side], frame_idx, params)
                b = _shirt_owner(pts, det, sel, a, near, root, params.arm_root_margin, params)
            if b is None:
                continue
            j = int(sel[b])
            axis = det.head_xyz_m[j, :2].astype(np.float64)
            facing = toward_shelf(axis, fronts, params.arms.shelf_near_m)
            if facing is None:
                continue
            hands, kp, arm_rows = traced[b]
            tip = traced[a][0][side].copy()
            side_j = hand_side(tip, axis, facing[0])
            if np.isfinite(hands[side_j]).all():
                side_j = 1 - side_j
            if np.isfinite(hands[side_j]).all():
                continue  # both of the neighbour's hands are out already
            put_hand(hands, kp, side_j, tip, pts.xyz_m[idx], axis, float(det.top_m[j]), facing[0], params.arms)
            arm_rows[side_j] = None
            traced[a][0][side] = np.nan
            traced[a][1][[1 + side, 3 + side, 5 + side]] = np.nan
            traced[a][2][side] = None
            moved += 1
    return moved


def see_people(source: DepthSource, store: Store, params: VisionParams = VisionParams(),
               progress: Callable[[float], None] | None = None) -> VisionPeople:
    """Run locator, arm tracing and the linker over everything a depth source produces.

    Args:
        source: the store's RGB-D units (live driver or simulator).
        store: the store (camera calibration, floor extent).
        params: pipeline parameters.
        progress: optional callback with the last processed frame time (seconds).

    Returns:
        The tracks (see :class:`VisionPeople`).

    Raises:
        KeyError: the source names a camera the store does not have.
    """
    locator = Locator(store, source.empty_store(), params.locator)
    linker = Linker(source.fps, params.tracker)
    fronts, boards_z = shelf_fronts(store), shelf_boards_z(store)
    rows = _Rows()
    stats = dict.fromkeys(("frames", "camera_frames", "dropped_camera_frames", "person_blobs",
                           "not_person_blobs", "detections", "arms_moved_by_colour"), 0)
    for frames in source.chunks(params.chunk_s):
        pts, det = locator.locate(frames)
        frame0 = int(round(float(frames.t_s[0]) * source.fps)) if len(frames) else 0
        stats["frames"] += len(frames)
        stats["camera_frames"] += int(frames.valid.size)
        stats["dropped_camera_frames"] += int((~frames.valid).sum())
        stats["person_blobs"] += pts.n_blobs
        stats["not_person_blobs"] += pts.n_rejected
        stats["detections"] += len(det)
        for k in range(len(frames)):
            sel = np.flatnonzero(det.frame == k)
            base = len(rows.t)
            traced = [_trace(pts, det, int(i), params.arms, fronts, boards_z) for i in sel]
            if len(sel) > 1:
                stats["arms_moved_by_colour"] += _arms_by_colour(pts, det, sel, traced, fronts, params)
            for i, (hands, kp, _) in zip(sel, traced, strict=True):
                rows.t.append(float(frames.t_s[k]))
                rows.head.append(det.head_xyz_m[i])
                rows.body.append(det.body_xy_m[i])
                rows.hands.append(hands)
                rows.kp.append(kp)
            linker.step(frame0 + k, _frame_detections(det, sel, base, params.tracker.strong_points))
        if progress is not None and len(frames):
            progress(float(frames.t_s[-1]))
    assigned, tangled_rows = linker.result()
    stats["unconfirmed_detections"] = len(rows.t) - len(assigned)
    stats["reid_swaps"] = len(linker.swaps)
    return _assemble(rows, assigned, tangled_rows, stats, params, source.fps)


def _walking(t: NDArray[np.float64], tid: NDArray[np.int64], xy: NDArray[np.float32], params: VisionParams,
             fps: float) -> NDArray[np.bool_]:
    """(n,) rows whose track moves faster than ``params.walking_mps`` (centred difference over
    ``params.walk_window_s``, clipped at the track's ends)."""
    out = np.zeros(len(t), dtype=bool)
    half = max(1, int(round(params.walk_window_s * fps / 2)))
    for track in np.unique(tid):
        k = np.flatnonzero(tid == track)
        k = k[np.argsort(t[k])]
        lo = k[np.maximum(np.arange(len(k)) - half, 0)]
        hi = k[np.minimum(np.arange(len(k)) + half, len(k) - 1)]
        dt = np.maximum(t[hi] - t[lo], 1e-9)
        speed = np.hypot(*(xy[hi] - xy[lo]).astype(np.float64).T) / dt
        out[k] = (speed > params.walking_mps) & (t[hi] > t[lo])
    return out


def _assemble(rows: _Rows, assigned: dict[int, int], tangled_rows: set[int], stats: dict[str, int],
              params: VisionParams, fps: float) -> VisionPeople:
    keep = np.array(sorted(assigned), dtype=np.int64)
    n = len(keep)
    t = np.array(rows.t, dtype=np.float64)[keep] if n else np.empty(0)
    tid = np.array([assigned[int(r)] for r in keep], dtype=np.int64)
    head = np.array(rows.head, dtype=np.float32)[keep].reshape(n, 3) if n else np.empty((0, 3), np.float32)
    body = np.array(rows.body, dtype=np.float32)[keep].reshape(n, 2) if n else np.empty((0, 2), np.float32)
    hands = np.array(rows.hands, dtype=np.float32)[keep].reshape(n, 2, 3) if n else np.empty((0, 2, 3), np.float32)
    kp = np.array(rows.kp, dtype=np.float32)[keep].reshape(n, len(KEYPOINTS), 3) if n else np.empty(
        (0, len(KEYPOINTS), 3), np.float32)
    walking = _walking(t, tid, body, params, fps)
    hands[walking] = np.nan
    kp[walking, 3:] = np.nan  # elbows and hands
    order = np.lexsort((tid, t))
    obs = PersonObservations(t[order], tid[order], head[order], hands[order, 0], hands[order, 1])
    tangled = np.isin(keep, np.array(sorted(tangled_rows), dtype=np.int64))[order]
    return VisionPeople(obs, hands[order], kp[order], body[order], tangled, stats)
