"""Articulated bodies: hands equal the tracker model's, skeleton lengths, physiques, validation."""

from __future__ import annotations

import numpy as np
import pytest

from walkout.core.store import Store
from walkout.eval.truth import GroundTruth
from walkout.io import Recording
from walkout.sim import BodyTruth, DepthParams, PeopleParams, Physiques, SimDepthSource, random_scenario
from walkout.sim.body import CAPSULE_NAMES, KEYPOINTS, body_truth, capsules, draw_physiques
from walkout.sim.paths import gondola_footprints
from walkout.sim.people import body_at, render_people, tracker_pose
from walkout.sim.pipeline import _streams, simulate_timeline
from walkout.sim.schedule import Timeline

Run = tuple[Recording, GroundTruth, Timeline]


@pytest.fixture(scope="module")
def run(store: Store) -> Run:
    """Four shoppers over two minutes (walking, reaching, standing)."""
    return simulate_timeline(random_scenario(store, 4, 120.0, seed=8), store, seed=8)


@pytest.fixture(scope="module")
def truth(run: Run) -> BodyTruth:
    rec = run[0]
    assert isinstance(rec.depth, SimDepthSource)
    return rec.depth.body_truth()


def test_hands_are_the_tracker_models_noiseless_hands(run: Run, truth: BodyTruth) -> None:
    _, _, tl = run
    src = run[0].depth
    assert isinstance(src, SimDepthSource)
    reaching = walking = 0
    for i, tr in enumerate(tl.shoppers):
        k = np.flatnonzero(truth.present[:, i])
        phase = float(src.physiques.gait_phase_rad[i])
        head, left, right = tracker_pose(tr, i, truth.t_s[k], tl, PeopleParams(), phase)
        assert np.array_equal(truth.keypoint("left_hand")[k, i], left)
        assert np.array_equal(truth.keypoint("right_hand")[k, i], right)
        walking += int(body_at(tr, truth.t_s[k])[2].sum())
        reaching += int(np.sum(left[:, 2] != PeopleParams().hand_rest_z_m))
    assert walking > 100 and reaching > 20  # both motions were exercised


def test_tracker_observations_are_the_body_hands_plus_noise(store: Store, run: Run, truth: BodyTruth) -> None:
    """Same gait phase as the tracker: while walking, observed hands scatter by hand_sigma_m around the body's."""
    rec, _, tl = run
    people = render_people(tl, gondola_footprints(store), PeopleParams(), _streams(8)["people"])  # the same render
    obs = people.observations
    assert np.array_equal(obs.left_hand_xyz_m, rec.people.left_hand_xyz_m, equal_nan=True)
    frame = np.round(obs.t_s * 15).astype(int)
    walking = np.zeros(len(obs), bool)
    for i, tr in enumerate(tl.shoppers):
        rows = people.shopper == i
        walking[rows] = body_at(tr, obs.t_s[rows])[2]
    seen = walking & np.all(np.isfinite(obs.left_hand_xyz_m), axis=1)
    resid = obs.left_hand_xyz_m[seen] - truth.keypoint("left_hand")[frame[seen], people.shopper[seen]]
    assert seen.sum() > 300
    # a different gait phase would add the swing difference (~0.069 for a quarter cycle)
    assert np.std(resid) == pytest.approx(PeopleParams().hand_sigma_m, rel=0.05)


def test_layout_presence_and_nan(run: Run, truth: BodyTruth) -> None:
    _, gt, tl = run
    n = len(truth.t_s)
    assert truth.keypoint_names == KEYPOINTS and len(KEYPOINTS) == 15
    assert truth.keypoints_xyz_m.shape == (n, 4, 15, 3)
    assert truth.shopper_keys == tuple(s.key for s in gt.shoppers)
    assert np.allclose(truth.t_s, np.arange(n) / 15.0)
    for i, tr in enumerate(tl.shoppers):
        assert np.array_equal(truth.present[:, i], (truth.t_s >= tr.appear_t_s) & (truth.t_s <= tr.disappear_t_s))
    assert np.all(np.isfinite(truth.keypoints_xyz_m[truth.present]))
    assert np.all(np.isnan(truth.keypoints_xyz_m[~truth.present]))


def test_skeleton_lengths_and_heights(run: Run, truth: BodyTruth) -> None:
    _, _, tl = run
    for i, tr in enumerate(tl.shoppers):
        h = tr.height_m
        k = truth.present[:, i]

        def seg(a: str, b: str) -> np.ndarray:
            return np.linalg.norm(truth.keypoint(a)[k, i] - truth.keypoint(b)[k, i], axis=1)  # noqa: B023

        assert np.allclose(seg("left_shoulder", "left_elbow"), 0.186 * h)  # Winter (2009) upper arm
        assert np.allclose(seg("right_hip", "right_knee"), 0.245 * h)
        assert np.allclose(seg("right_knee", "right_foot"), 0.246 * h)  # feet stay within the legs' reach
        head = truth.keypoint("head")[k, i]
        standing = ~body_at(tr, truth.t_s[k])[2]
        top = head[:, 2] + 0.058 * h
        assert np.median(top[standing]) == pytest.approx(h, abs=0.005)  # top of head = stature
        feet = truth.keypoint("left_foot")[k, i, 2]
        assert np.all(feet >= 0.039 * h - 1e-9) and np.all(feet < 0.2)


def test_physiques_are_seeded_and_spread(run: Run) -> None:
    _, _, tl = run
    phase = np.zeros(len(tl.shoppers))
    a = draw_physiques(tl, DepthParams(), np.random.default_rng(3), phase)
    b = draw_physiques(tl, DepthParams(), np.random.default_rng(3), phase)
    c = draw_physiques(tl, DepthParams(), np.random.default_rng(4), phase)
    assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)
    assert not np.array_equal(a.shirt_rgb, c.shirt_rgb)
    assert np.all((a.build >= 0.85) & (a.build <= 1.2))
    rgb = a.shirt_rgb.astype(float) / 255
    hue = np.array([_hue(*c) for c in rgb])
    gaps = np.abs((hue[:, None] - hue[None, :] + 0.5) % 1.0 - 0.5)[np.triu_indices(len(hue), 1)]
    assert gaps.min() > 0.08  # golden-ratio hues: shoppers differ in shirt colour


def _hue(r: float, g: float, b: float) -> float:
    import colorsys

    return colorsys.rgb_to_hsv(r, g, b)[0]


def test_capsules_follow_the_keypoints(run: Run, truth: BodyTruth) -> None:
    _, _, tl = run
    src = run[0].depth
    assert isinstance(src, SimDepthSource)
    heights = np.array([s.height_m for s in tl.shoppers])
    ends, radius, rgb = capsules(truth.keypoints_xyz_m[:300], src.physiques, heights)
    assert ends.shape == (300, 4, len(CAPSULE_NAMES), 2, 3) and radius.shape == (4, len(CAPSULE_NAMES))
    q = CAPSULE_NAMES.index("left_hand")
    assert np.array_equal(ends[:, :, q, 0], truth.keypoint("left_hand")[:300], equal_nan=True)
    assert np.array_equal(rgb[:, CAPSULE_NAMES.index("left_torso")], src.physiques.shirt_rgb)
    assert np.all((radius > 0.01) & (radius < 0.2))


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda tl: draw_physiques(tl, DepthParams(), np.random.default_rng(0), np.zeros(2)), "gait_phase_rad"),
        (lambda tl: Physiques(*[np.zeros(1)] * 2, *[np.zeros((2, 3), np.uint8)] * 5, np.zeros(1, bool)), "shirt"),
        (lambda tl: BodyTruth(KEYPOINTS, ("a",), np.zeros(2), np.zeros((2, 1, 14, 3)), np.zeros((2, 1), bool)), "key"),
        (lambda tl: DepthParams(build=(1.2, 0.8)), "build"),
        (lambda tl: DepthParams(drop_frame_prob=1.5), "drop_frame_prob"),
        (lambda tl: DepthParams(width_px=4), "8x8"),
        (lambda tl: DepthParams(min_range_m=3.0, max_range_m=1.0), "range_m"),
    ],
)
def test_validation(run: Run, make, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        make(run[2])


def test_unknown_keypoint_raises(truth: BodyTruth) -> None:
    with pytest.raises(KeyError, match="nose"):
        truth.keypoint("nose")


def test_body_truth_at_any_times(run: Run, truth: BodyTruth) -> None:
    _, _, tl = run
    src = run[0].depth
    assert isinstance(src, SimDepthSource)
    again = body_truth(tl, src.physiques, truth.t_s[::7], PeopleParams())
    assert np.array_equal(again.keypoints_xyz_m, truth.keypoints_xyz_m[::7], equal_nan=True)
