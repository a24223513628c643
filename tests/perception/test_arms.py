"""Arm tracing finds the reaching hand, and no hand when the arms hang at the body."""

from __future__ import annotations

import numpy as np

from walkout.perception.people.arms import KEYPOINTS, ArmParams, trace_arms

#: a shelf front 0.75 m in front of the person (who stands at the origin, facing +y)
FRONTS = np.array([[[-2.0, 0.75], [2.0, 0.75]]])


def _body(rng: np.random.Generator, top: float = 1.75) -> np.ndarray:
    """Points of a standing person seen from above: a 0.18 m cylinder at the origin up to ``top``."""
    ang = rng.uniform(0, 2 * np.pi, 1500)
    r = 0.18 * np.sqrt(rng.uniform(0, 1, 1500))
    z = rng.uniform(0.0, top - 0.25, 1500)
    body = np.stack([r * np.cos(ang), r * np.sin(ang), z], axis=1)
    head = rng.normal([0, 0, top - 0.1], [0.05, 0.05, 0.04], size=(200, 3))
    return np.vstack([body, head]).astype(np.float32)


def _arm(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, n: int = 80) -> np.ndarray:
    f = rng.uniform(0, 1, n)[:, None]
    return (a + f * (b - a) + rng.normal(0, 0.01, (n, 3))).astype(np.float32)


def test_reaching_hand_is_found_within_a_few_cm():
    rng = np.random.default_rng(0)
    hand = np.array([0.0, 0.72, 1.15])
    pts = np.vstack([_body(rng), _arm(np.array([0.19, 0.1, 1.42]), hand, rng)])
    hands, kp = trace_arms(pts, np.zeros(2), 1.75, fronts=FRONTS)
    found = hands[np.isfinite(hands[:, 0])]
    assert len(found) == 1
    assert np.linalg.norm(found[0] - hand) < 0.07
    assert kp.shape == (len(KEYPOINTS), 3)
    assert np.isfinite(kp[0]).all()


def test_two_arms_reaching_apart_give_two_hands():
    rng = np.random.default_rng(1)
    h1, h2 = np.array([0.45, 0.55, 1.0]), np.array([-0.45, 0.55, 1.0])
    pts = np.vstack([_body(rng), _arm(np.array([0.19, 0, 1.42]), h1, rng), _arm(np.array([-0.19, 0, 1.42]), h2, rng)])
    hands, _ = trace_arms(pts, np.zeros(2), 1.75, fronts=FRONTS)
    assert np.isfinite(hands).all()
    err = min(np.linalg.norm(hands[0] - h1) + np.linalg.norm(hands[1] - h2),
              np.linalg.norm(hands[0] - h2) + np.linalg.norm(hands[1] - h1))
    assert err < 0.1


def test_no_extended_arm_gives_no_hand():
    hands, kp = trace_arms(_body(np.random.default_rng(2)), np.zeros(2), 1.75, fronts=FRONTS)
    assert np.isnan(hands).all()
    assert np.isnan(kp[1:]).all()


def test_away_from_shelves_a_stretched_arm_is_not_a_reach():
    rng = np.random.default_rng(3)
    pts = np.vstack([_body(rng), _arm(np.array([0.19, 0.1, 1.42]), np.array([0.0, 0.72, 1.15]), rng)])
    far = FRONTS + np.array([0.0, 5.0])
    assert np.isnan(trace_arms(pts, np.zeros(2), 1.75, fronts=far)[0]).all()
    assert np.isnan(trace_arms(pts, np.zeros(2), 1.75)[0]).all()


def test_a_hand_at_the_shelf_front_is_put_inside_the_shelf():
    rng = np.random.default_rng(4)
    end = np.array([0.0, 0.74, 1.15])  # the visible arm ends at the shelf front (0.75 m)
    pts = np.vstack([_body(rng), _arm(np.array([0.19, 0.1, 1.42]), end, rng)])
    p = ArmParams()
    hands, _ = trace_arms(pts, np.zeros(2), 1.75, p, fronts=FRONTS)
    hand = hands[np.isfinite(hands[:, 0])][0]
    assert hand[1] > 0.75 + 0.5 * p.inside_m


def test_left_and_right_are_named_as_the_shopper_facing_the_shelf_sees_them():
    rng = np.random.default_rng(5)
    right = np.array([0.3, 0.62, 1.2])  # facing +y (the shelf), +x is the shopper's right
    pts = np.vstack([_body(rng), _arm(np.array([0.19, 0.05, 1.42]), right, rng)])
    hands, kp = trace_arms(pts, np.zeros(2), 1.75, fronts=FRONTS)
    assert np.isnan(hands[0]).all() and np.isfinite(hands[1]).all()
    assert kp[KEYPOINTS.index("right_shoulder"), 0] > 0


def test_a_hand_inside_a_shelf_follows_the_forearm_down():
    rng = np.random.default_rng(6)
    end = np.array([0.0, 0.74, 0.80])  # a steep reach down to a low shelf, last seen at the front
    pts = np.vstack([_body(rng), _arm(np.array([0.19, 0.1, 1.42]), end, rng)])
    p = ArmParams()
    hand = trace_arms(pts, np.zeros(2), 1.75, p, fronts=FRONTS)[0]
    hand = hand[np.isfinite(hand[:, 0])][0]
    slope = (0.80 - 1.42) / (0.74 - 0.1)
    assert hand[2] < 0.80 - 0.02  # lower than where the arm was last seen
    assert abs(hand[2] - (0.80 + slope * p.inside_m)) < 0.05  # about on the forearm's line


def test_a_hand_inside_a_shelf_is_just_above_the_board_of_its_opening():
    rng = np.random.default_rng(7)
    fronts = np.repeat(FRONTS, 3, axis=0)  # three boards behind one front
    boards = np.array([0.55, 0.81, 1.09])
    p = ArmParams()
    down = np.vstack([_body(rng), _arm(np.array([0.19, 0.1, 1.42]), np.array([0.0, 0.74, 0.90]), rng)])
    hand = trace_arms(down, np.zeros(2), 1.75, p, fronts, boards)[0]
    assert abs(hand[np.isfinite(hand[:, 0])][0][2] - (0.81 + p.hand_above_board_m)) < 1e-6
    level = np.vstack([_body(rng), _arm(np.array([0.19, 0.1, 1.10]), np.array([0.0, 0.74, 1.12]), rng)])
    hand = trace_arms(level, np.zeros(2), 1.75, p, fronts, boards)[0]
    assert abs(hand[np.isfinite(hand[:, 0])][0][2] - (1.09 + p.hand_above_board_m)) < 1e-6


def test_no_hands_are_reported_while_the_track_walks():
    from walkout.perception.people.vision import VisionParams, _walking

    t = np.tile(np.arange(30) / 15.0, 2)
    tid = np.repeat([1, 2], 30)
    xy = np.zeros((60, 2), np.float32)
    xy[:30, 0] = np.arange(30) / 15.0 * 1.0  # track 1 walks at 1 m/s
    xy[30:, 0] = 2.0 + 0.005 * np.sin(np.arange(30))  # track 2 stands (sways a few mm)
    walking = _walking(t, tid, xy, VisionParams(), 15.0)
    assert walking[:30].all() and not walking[30:].any()
