"""Arm tracing: a located person's 3D points -> hands and a stick figure.

Seen from the ceiling, a resting arm hangs inside the body's silhouette; an arm reaching for a
shelf sticks out of it toward the shelf. Near a shelf (its front edge within ``shelf_near_m``),
the tracer takes the person's points at arm height (``arm_z`` band, relative to the head top)
that lie more than ``forward_m`` in front of the body axis toward the nearest shelf front (a
chest is thinner than that; shoulders and elbows stick out sideways, not forward). Away from
shelves no hand is reported: a striding leg or a swinging arm is not a reach. It
splits them into at most two arms by their bearing around the axis (a gap of more than
``split_deg`` between sorted bearings starts a new arm), and puts each hand at the mean of the
arm's points within ``hand_depth_m`` of its farthest point from the shoulder. A ceiling camera
cannot see a hand inside a shelf (the shelf above hides it): when the visible arm ends within
``front_tol_m`` of the shelf front, the hand is put ``inside_m`` beyond its visible end, along the
reach (a hand picking goes into the shelf by about a hand's length). Shoulders sit
``shoulder_drop`` of the height below the head top, ``shoulder_half_m`` either side of the axis,
across the reach; elbows at the arm point nearest the shoulder-hand midpoint. This is the
extremal-point arm model of overhead depth trackers (e.g. the hand-at-farthest-point heuristic of
top-view pose estimation, Haque et al. 2016, "Towards viewpoint invariant 3D human pose
estimation", ECCV), simplified to what attribution needs.

Hands are NaN when no arm is extended (a hand at the body cannot be told from the torso).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from walkout.core.store import Store

#: stick-figure keypoints, in this order
KEYPOINTS = ("head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_hand", "right_hand")


@dataclass(frozen=True)
class ArmParams:
    """Arm tracer parameters (metres; heights as fractions of the head-top height).

    Attributes:
        forward_m: near a shelf, arm points lie at least this far in front of the body axis,
            toward the nearest shelf front.
        shelf_near_m: a shelf front within this distance of the body axis counts as near.
        front_tol_m, inside_m: a hand ending this close to the shelf front is inside it by this
            (horizontally; it rises or falls with the forearm's slope).
        arm_z: (low, high) fraction of the head-top height where arms are looked for.
        min_points: an arm needs at least this many points.
        split_deg: a gap in bearing larger than this separates two arms.
        hand_depth_m: the hand is the mean of the points this close to the farthest one.
        shoulder_drop: shoulders are this fraction of the height below the head top.
        shoulder_half_m: half the shoulder width.
        forearm_m, min_span_m, max_slope: the forearm's slope is fitted to the arm points within
            ``forearm_m`` of the tip when they span at least ``min_span_m``, and clipped.
        down_slope, hand_above_board_m: a hand inside a shelf is this high above the board of
            the opening it went into (when the boards are known); an arm falling more steeply
            than ``down_slope`` went into the opening below where it was last seen.
    """

    forward_m: float = 0.30
    shelf_near_m: float = 1.2
    front_tol_m: float = 0.05
    inside_m: float = 0.08
    arm_z: tuple[float, float] = (0.12, 0.95)
    min_points: int = 4
    split_deg: float = 35.0
    hand_depth_m: float = 0.06
    shoulder_drop: float = 0.18
    shoulder_half_m: float = 0.19
    forearm_m: float = 0.2
    min_span_m: float = 0.08
    max_slope: float = 3.0
    down_slope: float = 0.3
    hand_above_board_m: float = 0.04


def shelf_fronts(store: Store) -> NDArray[np.float64]:
    """(m, 2, 2) float64 every shelf's front edge on the floor plane (two endpoints, metres)."""
    segs = []
    for g in store.gondolas:
        for sh in store.shelves:
            if sh.gondola != g.id:
                continue
            m = store.world_from_shelf(g.id, sh.index)
            ends = np.array([[0.0, 0.0, 0.0, 1.0], [sh.size_m[0], 0.0, 0.0, 1.0]]) @ m.T
            segs.append(ends[:, :2])
    return np.array(segs, dtype=np.float64).reshape(-1, 2, 2)


def shelf_boards_z(store: Store) -> NDArray[np.float64]:
    """(m,) float64 height of every shelf's board (metres), in :func:`shelf_fronts` order."""
    z = []
    for g in store.gondolas:
        for sh in store.shelves:
            if sh.gondola == g.id:
                z.append(float(store.world_from_shelf(g.id, sh.index)[2, 3]))
    return np.array(z, dtype=np.float64)


def toward_shelf(axis_xy: NDArray[np.float64], fronts: NDArray[np.float64], near_m: float
                 ) -> tuple[NDArray[np.float64], float, int] | None:
    """(unit floor direction, distance in m, index) from a body axis to the nearest shelf front
    within ``near_m``, or None."""
    if len(fronts) == 0:
        return None
    a, b = fronts[:, 0], fronts[:, 1]
    ab = b - a
    f = np.clip(np.sum((axis_xy - a) * ab, axis=1) / np.maximum(np.sum(ab * ab, axis=1), 1e-12), 0.0, 1.0)
    closest = a + f[:, None] * ab
    d = np.linalg.norm(closest - axis_xy, axis=1)
    k = int(np.argmin(d))
    if d[k] > near_m or d[k] < 1e-6:
        return None
    return (closest[k] - axis_xy) / d[k], float(d[k]), k


def _arms(xyz: NDArray[np.float32], axis_xy: NDArray[np.float64], params: ArmParams,
          toward: NDArray[np.float64]) -> list[NDArray[np.int64]]:
    """The extended arms: rows of ``xyz`` of at most two arms, most points first."""
    rel = xyz[:, :2] - axis_xy
    reach = rel @ toward > params.forward_m
    top = float(xyz[:, 2].max())
    lo, hi = params.arm_z
    sel = reach & (xyz[:, 2] > lo * top) & (xyz[:, 2] < hi * top)
    if sel.sum() < params.min_points:
        return []
    rows = np.flatnonzero(sel)
    bearing = np.degrees(np.arctan2(rel[sel, 1], rel[sel, 0]))
    order = np.argsort(bearing)
    b = bearing[order]
    gaps = np.diff(np.r_[b, b[0] + 360.0])
    cut = np.flatnonzero(gaps > params.split_deg)
    if len(cut) == 0:
        return [rows]
    # groups between cuts, wrapping around the circle
    start = (cut + 1) % len(b)
    groups = []
    for i, s in enumerate(start):
        e = start[(i + 1) % len(start)]
        idx = np.r_[order[s:], order[:e]] if e <= s else order[s:e]
        if len(idx) >= params.min_points:
            groups.append(rows[idx])
    groups.sort(key=len, reverse=True)
    return groups[:2]


def _slope(along: NDArray[np.float64], z: NDArray[np.float32], params: ArmParams) -> float:
    """Rise of the forearm per metre of reach (least squares of z over the reach distance of the
    arm points within ``forearm_m`` of the tip; 0 when they do not span ``min_span_m``)."""
    fore = along > along.max() - params.forearm_m
    a, zz = along[fore], z[fore].astype(np.float64)
    if fore.sum() < params.min_points or float(a.max() - a.min()) < params.min_span_m:
        return 0.0
    a = a - a.mean()
    return float(np.clip(np.sum(a * (zz - zz.mean())) / np.sum(a * a), -params.max_slope, params.max_slope))


def _onto_board(seen_z: float, est_z: float, slope: float, boards: NDArray[np.float64], params: ArmParams) -> float:
    """Height of a hand inside a shelf: ``hand_above_board_m`` above the board of the opening it
    went into. An arm reaching down went in above the highest board below where it was last
    seen; otherwise the board nearest the extrapolated hand."""
    below = boards[boards <= seen_z]
    if slope < -params.down_slope and len(below):
        board = float(below[-1])
    else:
        board = float(boards[int(np.argmin(np.abs(boards - est_z)))])
    return board + params.hand_above_board_m


def trace_arms(xyz: NDArray[np.float32], axis_xy: NDArray[np.float64], top_m: float,
               params: ArmParams = ArmParams(), fronts: NDArray[np.float64] | None = None,
               boards_z: NDArray[np.float64] | None = None,
               ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Hands and stick figure of one person in one frame.

    Args:
        xyz: (m, 3) the person's points, world frame, metres.
        axis_xy: (2,) body axis on the floor plane (the head centre).
        top_m: head-top height.
        params: tracer parameters.
        fronts: (m, 2, 2) shelf front edges from :func:`shelf_fronts` (None: no shelves known).
        boards_z: (m,) board heights from :func:`shelf_boards_z` (None: a hand inside a shelf
            keeps the height extrapolated along the forearm).

    Returns:
        ``(hands, keypoints)``: (2, 3) float64 left/right hand (NaN if that arm is not extended;
        left/right by the side of the reach direction) and (7, 3) float64 keypoints in
        :data:`KEYPOINTS` order (NaN where unknown).
    """
    hands, kp, _ = trace_arm_points(xyz, axis_xy, top_m, params, fronts, boards_z)
    return hands, kp


def trace_arm_points(xyz: NDArray[np.float32], axis_xy: NDArray[np.float64], top_m: float,
                     params: ArmParams = ArmParams(), fronts: NDArray[np.float64] | None = None,
                     boards_z: NDArray[np.float64] | None = None,
                     ) -> tuple[NDArray[np.float64], NDArray[np.float64], list[NDArray[np.int64] | None]]:
    """:func:`trace_arms`, also returning the rows of ``xyz`` of each traced arm ([left, right],
    None where no arm), so that the caller can look at the arm (its colour, whose it is)."""
    hands = np.full((2, 3), np.nan)
    kp = np.full((len(KEYPOINTS), 3), np.nan)
    kp[0] = (axis_xy[0], axis_xy[1], top_m - 0.12)
    arm_rows: list[NDArray[np.int64] | None] = [None, None]
    near = toward_shelf(axis_xy, fronts, params.shelf_near_m) if fronts is not None else None
    if near is None:
        return hands, kp, arm_rows
    toward, front_d, front_k = near
    boards = None
    if boards_z is not None and fronts is not None:  # the boards stacked behind this front (one gondola side)
        boards = np.sort(boards_z[np.all(np.abs(fronts - fronts[front_k]) < 0.03, axis=(1, 2))])
    arms = _arms(xyz, axis_xy, params, toward)
    if not arms:
        return hands, kp, arm_rows
    tips = []
    for rows in arms:
        pts = xyz[rows]
        rel = pts[:, :2] - axis_xy
        far = np.hypot(rel[:, 0], rel[:, 1])
        tip = pts[far > far.max() - params.hand_depth_m].mean(axis=0)
        along = rel @ toward
        if float(np.max(along)) > front_d - params.front_tol_m:
            slope = _slope(along, pts[:, 2], params)
            seen_z = float(tip[2])
            tip = tip + params.inside_m * np.r_[toward, slope]
            if boards is not None and len(boards):
                tip[2] = _onto_board(seen_z, float(tip[2]), slope, boards, params)
        tips.append((tip, rows))
    left_dir = np.array([-toward[1], toward[0]])  # left of someone facing the shelf
    sides = [hand_side(tip, axis_xy, toward) for tip, _ in tips]
    if len(tips) == 2 and sides[0] == sides[1]:  # both on one side: the more leftward is the left hand
        lefter = int(np.argmax([float(np.dot(tip[:2] - axis_xy, left_dir)) for tip, _ in tips]))
        sides = [0 if i == lefter else 1 for i in range(2)]
    for (tip, rows), side in zip(tips, sides, strict=True):
        put_hand(hands, kp, side, tip, xyz[rows], axis_xy, top_m, toward, params)
        arm_rows[side] = rows
    return hands, kp, arm_rows


def hand_side(tip: NDArray[np.float64], axis_xy: NDArray[np.float64], toward: NDArray[np.float64]) -> int:
    """0 (left) or 1 (right): the side of ``tip`` for somebody at ``axis_xy`` facing ``toward``."""
    return 0 if float(np.dot(tip[:2] - axis_xy, np.array([-toward[1], toward[0]]))) >= 0 else 1


def put_hand(hands: NDArray[np.float64], kp: NDArray[np.float64], side: int, tip: NDArray[np.float64],
             arm: NDArray[np.float32], axis_xy: NDArray[np.float64], top_m: float, toward: NDArray[np.float64],
             params: ArmParams) -> None:
    """Write a hand and its shoulder and elbow (the arm point nearest the shoulder-hand midpoint)
    into ``hands`` (2, 3) and ``kp`` (7, 3), in place."""
    left_dir = np.array([-toward[1], toward[0]])
    shoulder = np.r_[axis_xy + (1 if side == 0 else -1) * params.shoulder_half_m * left_dir,
                     top_m * (1.0 - params.shoulder_drop)]
    mid = 0.5 * (shoulder + tip)
    hands[side] = tip
    kp[1 + side] = shoulder
    kp[3 + side] = arm[np.argmin(np.linalg.norm(arm - mid, axis=1))]
    kp[5 + side] = tip
