"""Articulated shopper bodies: 3D keypoints over time and the capsules the depth units see.

Each shopper of a :class:`~walkout.sim.schedule.Timeline` gets a body driven by the same motion
as the person-tracker model (:mod:`walkout.sim.people`): position and facing from
:func:`~walkout.sim.people.body_at`, and hands *exactly* at the tracker model's noiseless hands
(:func:`~walkout.sim.people.tracker_pose`: at rest beside the body, swinging while walking,
reaching to the plates). The rest of the skeleton is built around them:

* segment heights and lengths as fractions of the stature H (top of head, ``height_m``) from
  Drillis & Contini (1966), as tabulated in D. A. Winter, *Biomechanics and Motor Control of
  Human Movement* (4th ed., 2009), fig. 4.1: shoulder 0.818 H, hip 0.530 H, knee 0.285 H,
  ankle 0.039 H, shoulder width 0.259 H, upper arm 0.186 H, forearm 0.146 H, hand 0.108 H;
* elbows and knees by two-link inverse kinematics (law of cosines) toward a pole direction
  (elbows back, out and down; knees forward); a hand out of the arm's reach first bends the upper body toward it (up to 0.6 m;
  the hips take half of a downward bend, a crouch), then stretches the arm;
* while walking, the legs swing in antiphase to the arms at the tracker's gait phase, the
  swinging foot lifts, and the upper body bobs with the tracker's head bob.

Per-shopper variation (:class:`Physiques`, drawn once per recording from a passed generator):
girth ("build"), clothing colours (shirt hues spread by the golden ratio so that consecutive
shoppers differ), trousers, skin, hair, shoes and sleeve length.

Keypoints are ground truth for evaluation (:class:`BodyTruth`); they never reach the engine.
What the depth units see is the body as 18 capsules (:func:`capsules`: head, face, neck, two
torso halves, pelvis, upper arms, forearms, hands, thighs, shanks, feet); in a camera's image
plane a capsule is the convex hull of its two end discs (:func:`capsule_outlines`) and its
near surface has a closed form per pixel (:func:`capsule_surface`).
World frame: metres, z up, the floor is z = 0.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from walkout.sim.params import DepthParams, PeopleParams
from walkout.sim.people import body_at, tracker_pose
from walkout.sim.schedule import ShopperTrack, Timeline

KEYPOINTS = (
    "head", "neck", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_hand",
    "right_hand", "pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_foot", "right_foot",
)  # fmt: skip
_K = {name: i for i, name in enumerate(KEYPOINTS)}

# fractions of the stature H (Winter 2009, fig. 4.1) and of the build where noted
_SHOULDER_Z, _SHOULDER_HALF, _NECK_Z = 0.818, 0.1295, 0.840
_HIP_Z, _HIP_HALF, _ANKLE_Z, _FOOT_HALF = 0.530, 0.050, 0.039, 0.060
_UPPER_ARM, _FOREARM = 0.186, 0.146 + 0.054  # forearm to the middle of the hand
_THIGH, _SHANK = 0.530 - 0.285, 0.285 - 0.039
_HEAD_R = 0.058
_STEP_AMP, _FOOT_LIFT_M, _WALK_DROP = 0.12, 0.06, 0.02
_LEAN_MAX_M = 0.6
_POLY_SCALE = 1.04  # outline vertices slightly outside the disc (inscribed polygons are too thin)
# Outline vertex directions in the frame of the capsule axis e (x along e), per end disc (b, then a)
# and vertex, as coefficients of (cos a, cos a/2, sin a/2, 1) for x and (sin a, sin a/2, cos a/2)
# for y, where a is the outer tangents' angle: b's arc runs -a, -a/2, 0, a/2, a and a's arc
# a, (a + pi)/2, pi, (3 pi - a)/2, 2 pi - a (no trigonometry per vertex).
_UX = np.array(
    [
        [[1, 0, 0, 0, 1], [1, 0, 0, 0, 1]],
        [[0, 1, 0, 1, 0], [0, 0, 0, 0, 0]],
        [[0, 0, 0, 0, 0], [0, -1, 0, -1, 0]],
        [[0, 0, 1, 0, 0], [0, 0, -1, 0, 0]],
    ],
    dtype=np.float64,
)
_UY = np.array(
    [
        [[-1, 0, 0, 0, 1], [1, 0, 0, 0, -1]],
        [[0, -1, 0, 1, 0], [0, 0, 0, 0, 0]],
        [[0, 0, 0, 0, 0], [0, 1, 0, -1, 0]],
    ],
    dtype=np.float64,
)

# capsules: (name, end a, end b, radius / H, scaled by build, colour slot); torso, face and
# feet ends are derived points (see _capsule_ends)
HAIR, SKIN, SHIRT, TROUSERS, SHOES, FOREARM = range(6)
_CAPSULES = (
    ("head", "head", "head", _HEAD_R, False, HAIR),
    ("face", "face", "face", 0.8 * _HEAD_R, False, SKIN),
    ("neck", "neck", "head", 0.030, True, SKIN),
    ("left_torso", "left_torso_top", "left_torso_bottom", 0.062, True, SHIRT),
    ("right_torso", "right_torso_top", "right_torso_bottom", 0.062, True, SHIRT),
    ("pelvis", "left_hip", "right_hip", 0.060, True, TROUSERS),
    ("left_upper_arm", "left_shoulder", "left_elbow", 0.024, True, SHIRT),
    ("right_upper_arm", "right_shoulder", "right_elbow", 0.024, True, SHIRT),
    ("left_forearm", "left_elbow", "left_hand", 0.020, True, FOREARM),
    ("right_forearm", "right_elbow", "right_hand", 0.020, True, FOREARM),
    ("left_hand", "left_hand", "left_hand", 0.025, False, SKIN),
    ("right_hand", "right_hand", "right_hand", 0.025, False, SKIN),
    ("left_thigh", "left_hip", "left_knee", 0.045, True, TROUSERS),
    ("right_thigh", "right_hip", "right_knee", 0.045, True, TROUSERS),
    ("left_shank", "left_knee", "left_foot", 0.030, True, TROUSERS),
    ("right_shank", "right_knee", "right_foot", 0.030, True, TROUSERS),
    ("left_foot", "left_foot", "left_toe", 0.022, False, SHOES),
    ("right_foot", "right_foot", "right_toe", 0.022, False, SHOES),
)
CAPSULE_NAMES = tuple(c[0] for c in _CAPSULES)

_SKIN_RGB = ((255, 224, 196), (234, 192, 160), (198, 144, 104), (160, 106, 72), (112, 72, 48), (76, 50, 36))
_HAIR_RGB = ((20, 18, 16), (60, 40, 28), (110, 76, 46), (196, 160, 100), (150, 150, 146), (120, 50, 30))
_TROUSERS_RGB = ((40, 52, 84), (30, 30, 34), (92, 96, 104), (170, 150, 110), (62, 80, 56), (110, 40, 40))
_SHOES_RGB = ((24, 24, 24), (235, 235, 230), (90, 60, 40))


def _check(name: str, arr: NDArray[np.generic], shape: tuple[int, ...], dtype: type) -> None:
    if arr.shape != shape or arr.dtype != np.dtype(dtype):
        raise ValueError(f"{name}: expected {np.dtype(dtype)} {shape}, got {arr.dtype} {arr.shape}")


@dataclass(frozen=True)
class Physiques:
    """Per-shopper body variation of one recording (rows = ``timeline.shoppers``).

    Attributes:
        build: (s,) float64 girth factor (torso and limb radii; shoulder width by its sqrt).
        gait_phase_rad: (s,) float64 walking-cycle phase (the tracker model's, so that the
            bodies' hands are the tracker's noiseless hands).
        shirt_rgb, trousers_rgb, skin_rgb, hair_rgb, shoes_rgb: (s, 3) uint8 sRGB colours.
        long_sleeves: (s,) bool, forearms in shirt colour (else skin).
    """

    build: NDArray[np.float64]
    gait_phase_rad: NDArray[np.float64]
    shirt_rgb: NDArray[np.uint8]
    trousers_rgb: NDArray[np.uint8]
    skin_rgb: NDArray[np.uint8]
    hair_rgb: NDArray[np.uint8]
    shoes_rgb: NDArray[np.uint8]
    long_sleeves: NDArray[np.bool_]

    def __post_init__(self) -> None:
        s = self.build.shape[0] if self.build.ndim == 1 else -1
        _check("Physiques.build", self.build, (s,), np.float64)
        _check("Physiques.gait_phase_rad", self.gait_phase_rad, (s,), np.float64)
        for name in ("shirt_rgb", "trousers_rgb", "skin_rgb", "hair_rgb", "shoes_rgb"):
            _check(f"Physiques.{name}", getattr(self, name), (s, 3), np.uint8)
        _check("Physiques.long_sleeves", self.long_sleeves, (s,), np.bool_)

    def slot_rgb(self) -> NDArray[np.uint8]:
        """(s, 6, 3) uint8 colour of each slot (HAIR, SKIN, SHIRT, TROUSERS, SHOES, FOREARM)."""
        forearm = np.where(self.long_sleeves[:, None], self.shirt_rgb, self.skin_rgb)
        return np.stack([self.hair_rgb, self.skin_rgb, self.shirt_rgb, self.trousers_rgb, self.shoes_rgb, forearm], 1)


def draw_physiques(
    timeline: Timeline, params: DepthParams, rng: np.random.Generator, gait_phase_rad: NDArray[np.float64]
) -> Physiques:
    """Draw every shopper's build and colours.

    Args:
        timeline: the recording's shoppers (only their number is used).
        params: ``build`` range and ``long_sleeve_prob``.
        rng: random generator (a fixed number of draws per recording, in a fixed order).
        gait_phase_rad: (s,) float64 walking phases, e.g. ``PeopleRender.gait_phase_rad``.

    Returns:
        :class:`Physiques`. Shirt hues step by the golden-ratio conjugate (0.618 of the hue
        circle) from a random start, so any two of the first few shoppers differ by >= 0.09 of it.

    Raises:
        ValueError: ``gait_phase_rad`` is not of shape (s,).
    """
    s = len(timeline.shoppers)
    phase = np.asarray(gait_phase_rad, dtype=np.float64)
    if phase.shape != (s,):
        raise ValueError(f"gait_phase_rad: expected shape ({s},), got {phase.shape}")
    build = rng.uniform(*params.build, size=s)
    hue = (rng.uniform() + 0.6180339887 * np.arange(s)) % 1.0
    sat, val = rng.uniform(0.45, 0.9, size=s), rng.uniform(0.5, 0.9, size=s)
    shirt = [colorsys.hsv_to_rgb(h, a, v) for h, a, v in zip(hue, sat, val, strict=True)]
    picks = [rng.integers(len(table), size=s) for table in (_TROUSERS_RGB, _SKIN_RGB, _HAIR_RGB, _SHOES_RGB)]
    sleeves = rng.random(s) < params.long_sleeve_prob
    trousers, skin, hair, shoes = (
        np.array(table, dtype=np.uint8)[k].reshape(s, 3)
        for table, k in zip((_TROUSERS_RGB, _SKIN_RGB, _HAIR_RGB, _SHOES_RGB), picks, strict=True)
    )
    shirt_rgb = np.round(np.array(shirt, dtype=np.float64).reshape(s, 3) * 255).astype(np.uint8)
    return Physiques(build, phase, shirt_rgb, trousers, skin, hair, shoes, sleeves)


@dataclass(frozen=True)
class BodyTruth:
    """Ground-truth body keypoints of a recording's shoppers (evaluation only, never the engine).

    Attributes:
        keypoint_names: the K keypoint names (:data:`KEYPOINTS`), in axis-2 order.
        shopper_keys: (s,) the shoppers' ground-truth keys, in axis-1 order.
        t_s: (n,) float64 seconds since the recording's start.
        keypoints_xyz_m: (n, s, K, 3) float64 world frame, metres; NaN where absent.
        present: (n, s) bool, the shopper is in the store (between appear and disappear).
    """

    keypoint_names: tuple[str, ...]
    shopper_keys: tuple[str, ...]
    t_s: NDArray[np.float64]
    keypoints_xyz_m: NDArray[np.float64]
    present: NDArray[np.bool_]

    def __post_init__(self) -> None:
        n = self.t_s.shape[0] if self.t_s.ndim == 1 else -1
        s, k = len(self.shopper_keys), len(self.keypoint_names)
        _check("BodyTruth.t_s", self.t_s, (n,), np.float64)
        _check("BodyTruth.keypoints_xyz_m", self.keypoints_xyz_m, (n, s, k, 3), np.float64)
        _check("BodyTruth.present", self.present, (n, s), np.bool_)

    def keypoint(self, name: str) -> NDArray[np.float64]:
        """(n, s, 3) float64 world positions of one keypoint (e.g. ``"left_hand"``).

        Raises:
            KeyError: ``name`` is not one of :attr:`keypoint_names`.
        """
        if name not in self.keypoint_names:
            raise KeyError(f"unknown keypoint {name!r}; expected one of {self.keypoint_names}")
        return self.keypoints_xyz_m[:, :, self.keypoint_names.index(name)]


def _unit(v: NDArray[np.float64]) -> NDArray[np.float64]:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-9)


def _two_link(
    root: NDArray[np.float64], tip: NDArray[np.float64], l1: float, l2: float, pole: NDArray[np.float64]
) -> NDArray[np.float64]:
    """(n, 3) middle joint of a two-link chain root -> tip (law of cosines), bent toward ``pole``.

    Out of reach, the chain is straight with both links stretched in proportion.
    """
    v = tip - root
    d = np.linalg.norm(v, axis=1, keepdims=True)
    u = v / np.maximum(d, 1e-9)
    a = np.where(d >= l1 + l2, d * l1 / (l1 + l2), (l1 * l1 - l2 * l2 + d * d) / (2 * np.maximum(d, 1e-9)))
    a = np.clip(a, -l1, l1)
    h = np.sqrt(np.maximum(l1 * l1 - a * a, 0.0))
    p = _unit(pole - np.sum(pole * u, axis=1, keepdims=True) * u)
    return root + a * u + h * p


def _lean(
    shoulders: tuple[NDArray[np.float64], NDArray[np.float64]],
    hands: tuple[NDArray[np.float64], NDArray[np.float64]],
    rest: tuple[NDArray[np.float64], NDArray[np.float64]],
    arm_m: float,
) -> NDArray[np.float64]:
    """(n, 3) upper-body shift toward the hand that is farthest out of reach (bending, crouching).

    A hand is out of reach by how much farther it is from its shoulder than both the arm's length
    and its resting position (+2 cm, so that walking swings and low resting hands of tall people
    do not bend the body); the shift is that excess along the shoulder-to-hand direction, capped
    at ``_LEAN_MAX_M``.
    """
    best = np.zeros((hands[0].shape[0], 3))
    for s, h, r in zip(shoulders, hands, rest, strict=True):
        v = h - s
        free = np.maximum(arm_m, np.linalg.norm(r - s, axis=1) + 0.02)
        cand = _unit(v) * np.clip(np.linalg.norm(v, axis=1) - free, 0.0, _LEAN_MAX_M)[:, None]
        take = np.linalg.norm(cand, axis=1) > np.linalg.norm(best, axis=1)
        best[take] = cand[take]
    return best


def _legs(
    kp: NDArray[np.float64], xy: NDArray[np.float64], face: NDArray[np.float64], right: NDArray[np.float64],
    theta: NDArray[np.float64], moving: NDArray[np.bool_], height: float,
) -> None:  # fmt: skip
    """Fill hips, knees and feet of ``kp`` (n, K, 3) in place (a walking cycle while moving)."""
    walk = moving.astype(np.float64)
    stride = _STEP_AMP * height * np.sin(theta) * walk
    lift = _FOOT_LIFT_M * np.cos(theta) * walk
    for side, sign, fwd, up in (("left", -1.0, -stride, -lift), ("right", 1.0, stride, lift)):
        hip = kp[:, _K[f"{side}_hip"]]
        foot = np.empty_like(hip)
        foot[:, :2] = xy + sign * _FOOT_HALF * height * right + fwd[:, None] * face
        foot[:, 2] = _ANKLE_Z * height + np.maximum(up, 0.0)
        v = foot - hip
        d = np.linalg.norm(v, axis=1, keepdims=True)
        foot = hip + v * np.minimum(1.0, (_THIGH + _SHANK) * height / np.maximum(d, 1e-9))
        kp[:, _K[f"{side}_foot"]] = foot
        pole = np.c_[face, np.zeros(len(face))]
        kp[:, _K[f"{side}_knee"]] = _two_link(hip, foot, _THIGH * height, _SHANK * height, pole)


def _keypoints(
    track: ShopperTrack, idx: int, t: NDArray[np.float64], timeline: Timeline, build: float, phase: float,
    params: PeopleParams,
) -> NDArray[np.float64]:  # fmt: skip
    """(n, K, 3) float64 keypoints of one shopper at times t (world frame, metres)."""
    h = track.height_m
    xy, face, moving = body_at(track, t)
    head_pt, left_hand, right_hand = tracker_pose(track, idx, t, timeline, params, phase)
    bob = head_pt[:, 2] - (h - params.head_below_top_m)
    right = np.stack([face[:, 1], -face[:, 0]], axis=1)
    kp = np.empty((t.shape[0], len(KEYPOINTS), 3))

    def put(name: str, z: float | NDArray[np.float64], side: float = 0.0) -> None:
        kp[:, _K[name], :2] = xy + side * right
        kp[:, _K[name], 2] = z + bob

    half = _SHOULDER_HALF * h * np.sqrt(build)
    hip_z = np.where(moving, (_HIP_Z - _WALK_DROP) * h, _HIP_Z * h).astype(np.float64)
    put("head", h - _HEAD_R * h)
    put("neck", _NECK_Z * h)
    put("left_shoulder", _SHOULDER_Z * h, -half)
    put("right_shoulder", _SHOULDER_Z * h, half)
    put("pelvis", hip_z)
    put("left_hip", hip_z, -_HIP_HALF * h)
    put("right_hip", hip_z, _HIP_HALF * h)
    kp[:, _K["left_hand"]], kp[:, _K["right_hand"]] = left_hand, right_hand
    shoulders = (kp[:, _K["left_shoulder"]].copy(), kp[:, _K["right_shoulder"]].copy())
    rest = tuple(
        np.c_[xy + sign * params.hand_rest_side_m * right, np.full(len(t), params.hand_rest_z_m)] for sign in (-1, 1)
    )
    lean = _lean(shoulders, (left_hand, right_hand), rest, (_UPPER_ARM + _FOREARM) * h)
    for name in ("head", "neck", "left_shoulder", "right_shoulder"):
        kp[:, _K[name]] += lean
    for name in ("pelvis", "left_hip", "right_hip"):  # crouch: the hips take half the downward shift
        kp[:, _K[name], 2] += 0.5 * np.minimum(lean[:, 2], 0.0)
    for side, sign, hand in (("left", -1.0, left_hand), ("right", 1.0, right_hand)):
        pole = 0.15 * sign * np.c_[right, np.zeros(len(t))] - 1.0 * np.c_[face, np.zeros(len(t))]  # elbows back, as relaxed arms bend
        pole[:, 2] = -1.0
        kp[:, _K[f"{side}_elbow"]] = _two_link(kp[:, _K[f"{side}_shoulder"]], hand, _UPPER_ARM * h, _FOREARM * h, pole)
    theta = np.pi * params.step_hz * t + phase
    _legs(kp, xy, face, right, theta, moving, h)
    return kp


def body_truth(timeline: Timeline, physiques: Physiques, t_s: NDArray[np.float64], params: PeopleParams) -> BodyTruth:
    """Body keypoints of every shopper at times ``t_s``.

    Args:
        timeline: the scheduled shoppers and reaches.
        physiques: per-shopper variation (:func:`draw_physiques`; the renderer's own).
        t_s: (n,) float64 seconds since the recording's start.
        params: the person-tracker model (hand rest, swing, reach, head bob, step frequency).

    Returns:
        :class:`BodyTruth`; ``left_hand`` / ``right_hand`` equal the noiseless hands of
        :func:`~walkout.sim.people.tracker_pose` at the shopper's gait phase.
    """
    t = np.asarray(t_s, dtype=np.float64).reshape(-1)
    s = len(timeline.shoppers)
    kp = np.full((t.shape[0], s, len(KEYPOINTS), 3), np.nan)
    present = np.zeros((t.shape[0], s), dtype=bool)
    for i, tr in enumerate(timeline.shoppers):
        present[:, i] = (t >= tr.appear_t_s) & (t <= tr.disappear_t_s)
        k = np.flatnonzero(present[:, i])
        if len(k):
            phase = float(physiques.gait_phase_rad[i])
            kp[k, i] = _keypoints(tr, i, t[k], timeline, float(physiques.build[i]), phase, params)
    return BodyTruth(KEYPOINTS, tuple(tr.key for tr in timeline.shoppers), t, kp, present)


def _capsule_ends(kp: NDArray[np.float64], height: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    """Named points (n, s, 3) for the capsule table: the keypoints plus derived torso/face/toe points."""
    pts = {name: kp[:, :, i] for i, name in enumerate(KEYPOINTS)}
    h = height[None, :, None]
    up = np.array([0.0, 0.0, 1.0])
    across = pts["right_hip"] - pts["left_hip"]
    face = _unit(np.stack([-across[..., 1], across[..., 0], np.zeros(across.shape[:2])], axis=-1))
    pts["face"] = pts["head"] + face * (0.3 * _HEAD_R * h) - up * (0.25 * _HEAD_R * h)
    for side in ("left", "right"):
        top = pts["neck"] + 0.45 * (pts[f"{side}_shoulder"] - pts["neck"])
        pts[f"{side}_torso_top"] = top - up * (0.02 * h)
        pts[f"{side}_torso_bottom"] = pts[f"{side}_hip"] + up * (0.06 * h)
        pts[f"{side}_toe"] = pts[f"{side}_foot"] + face * (0.10 * h)
    return pts


def capsules(
    kp: NDArray[np.float64], physiques: Physiques, height_m: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.uint8]]:
    """The body capsules (:data:`CAPSULE_NAMES`) of keypoints over a stretch of frames.

    Args:
        kp: (n, s, K, 3) float64 keypoints (:attr:`BodyTruth.keypoints_xyz_m`), NaN when absent.
        physiques: the shoppers' builds and colours.
        height_m: (s,) float64 statures (``ShopperTrack.height_m``).

    Returns:
        ``(ends, radius, rgb)``: (n, s, Q, 2, 3) float64 capsule end points (world, metres; NaN
        when absent; both ends equal for spheres), (s, Q) float64 radii in metres and (s, Q, 3)
        uint8 colours.
    """
    pts = _capsule_ends(kp, height_m)
    ends = np.stack([np.stack([pts[a], pts[b]], axis=2) for _, a, b, *_ in _CAPSULES], axis=2)
    frac = np.array([c[3] for c in _CAPSULES])
    scaled = np.array([c[4] for c in _CAPSULES])
    radius = height_m[:, None] * frac[None, :] * np.where(scaled[None, :], physiques.build[:, None], 1.0)
    rgb = physiques.slot_rgb()[:, [c[5] for c in _CAPSULES]]
    return ends, radius, rgb


def capsule_outlines(
    xy: NDArray[np.float64], z: NDArray[np.float64], r: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float32]]:
    """Capsule outlines and surface parameters in a camera's normalised image plane.

    Args:
        xy: (..., 2, 2) normalised image coordinates of ends a and b.
        z: (..., 2) their depths, metres.
        r: (...) capsule radii, metres.

    Returns:
        ``(poly, par)``: (..., 10, 2) float64 outline (the convex hull of the two end discs of
        radius r / z: an arc on b's disc between the outer tangents and one on a's, 5 vertices
        each, 4% outside the discs) and (..., 8) float32 parameters for :func:`capsule_surface`:
        ax, ay, dx, dy (end a and b - a, normalised), 1/|d|^2 (0 for a sphere), 1/za,
        1/zb - 1/za (inverse depths, 1/m), r (m).
    """
    a, b = xy[..., 0, :], xy[..., 1, :]
    ra, rb = r / z[..., 0], r / z[..., 1]
    d = b - a
    length = np.hypot(d[..., 0], d[..., 1])
    tiny = length < 1e-9
    safe = np.where(tiny, 1.0, length)
    ex, ey = np.where(tiny, 1.0, d[..., 0] / safe), np.where(tiny, 0.0, d[..., 1] / safe)
    c = np.where(tiny, 0.0, np.clip((ra - rb) / safe, -1.0, 1.0))  # cos of the tangent angle
    s, ch, sh = np.sqrt(1.0 - c * c), np.sqrt(0.5 + 0.5 * c), np.sqrt(0.5 - 0.5 * c)  # sin, half-angle cos, sin
    col = (slice(None),) * c.ndim + (None, None)  # broadcast over (2 ends, 5 vertices)
    ux = c[col] * _UX[0] + ch[col] * _UX[1] + sh[col] * _UX[2] + _UX[3]
    uy = s[col] * _UY[0] + sh[col] * _UY[1] + ch[col] * _UY[2]
    rad = _POLY_SCALE * np.stack([rb, ra], axis=-1)[..., None]  # (..., 2, 1): b's arc, then a's
    cx, cy = np.stack([b[..., 0], a[..., 0]], -1)[..., None], np.stack([b[..., 1], a[..., 1]], -1)[..., None]
    ex, ey = ex[col], ey[col]
    px = cx + rad * (ux * ex - uy * ey)
    py = cy + rad * (ux * ey + uy * ex)
    poly = np.stack([px.reshape(*c.shape, 10), py.reshape(*c.shape, 10)], axis=-1)
    l2 = length * length
    inv_l2 = np.where(l2 > 1e-18, 1.0 / np.where(l2 > 1e-18, l2, 1.0), 0.0)
    ia, ib = 1.0 / z[..., 0], 1.0 / z[..., 1]
    par = np.stack([a[..., 0], a[..., 1], d[..., 0], d[..., 1], inv_l2, ia, ib - ia, r], axis=-1)
    return poly, par.astype(np.float32)


def capsule_surface(
    pix: NDArray[np.float32], tab: NDArray[np.float32]
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Depth (m) of the capsule surface seen by each pixel, and its half chord over the radius (0-1).

    The axis point under the pixel is found in the image (its parameter s along the projected
    axis, inverse depth interpolated linearly in s, as in perspective-correct interpolation); the
    surface is nearer by the half chord ``sqrt(r^2 - rho^2)`` of the cross-section at the ray's
    distance rho from the axis, projected on the optical axis (times the ray's cosine).

    Args:
        pix: (>= 3, m) float32 the pixels' normalised ray x, y and the ray's cosine to the
            optical axis.
        tab: (>= 8, m) float32 the parameters of each pixel's capsule (:func:`capsule_outlines`).

    Returns:
        ``(z_m, chord)``: (m,) float32 camera-frame depth of the surface, metres, and (m,) float32
        half chord over the radius, 1 on the axis and 0 at the silhouette (for shading).
    """
    ax, ay, dx, dy, inv_l2, ia, dia, r = tab[:8]
    tx, ty = pix[0] - ax, pix[1] - ay
    s = tx * dx
    s += ty * dy
    s *= inv_l2
    np.clip(s, 0.0, 1.0, out=s)
    tx -= s * dx
    ty -= s * dy
    d = s * dia
    d += ia
    np.reciprocal(d, out=d)
    rho = tx * tx
    rho += ty * ty
    rho *= d
    rho *= d
    chord = r * r
    chord -= rho
    np.maximum(chord, 0.0, out=chord)
    np.sqrt(chord, out=chord)
    z = d - chord * pix[2]
    chord /= r
    return z, chord
