"""An arm the locator gave to the wrong one of two people standing side by side goes back to the
one whose sleeve colour it has; a bare (skin) forearm stays where it is."""

from __future__ import annotations

import numpy as np
import pytest

from walkout.perception.people.arms import trace_arm_points
from walkout.perception.people.locator import Detections, PersonPoints, colour_histogram
from walkout.perception.people.vision import VisionParams, _arms_by_colour

FRONTS = np.array([[[-2.0, 0.75], [2.0, 0.75]]])  # a shelf front 0.75 m in front (+y)
BLUE, RED, SKIN = (30, 40, 200), (200, 30, 30), (230, 190, 160)


def _body(rng: np.random.Generator, x: float, colour: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    ang, r = rng.uniform(0, 2 * np.pi, 1500), 0.18 * np.sqrt(rng.uniform(0, 1, 1500))
    xyz = np.stack([x + r * np.cos(ang), r * np.sin(ang), rng.uniform(0.0, 1.5, 1500)], axis=1)
    return xyz.astype(np.float32), np.tile(np.array(colour, np.uint8), (1500, 1))


def _scene(arm_colour: tuple[int, int, int]) -> tuple[PersonPoints, Detections, list]:
    """A (blue shirt) at x=0 and B (red shirt) at x=0.6; B's arm reaches in front of A to the
    shelf, and the locator gave the arm's points to A."""
    rng = np.random.default_rng(0)
    xa, ca = _body(rng, 0.0, BLUE)
    xb, cb = _body(rng, 0.6, RED)
    f = rng.uniform(0, 1, 120)[:, None]
    arm = (np.array([0.1, 0.2, 1.4]) + f * np.array([-0.12, 0.52, 0.0])).astype(np.float32)  # ends at the front
    xyz = np.vstack([xa, arm, xb])
    rgb = np.vstack([ca, np.tile(np.array(arm_colour, np.uint8), (len(arm), 1)), cb])
    pts = PersonPoints(np.zeros(len(xyz), np.int32), xyz, rgb, 2, 0)
    idx_a, idx_b = np.arange(0, 1620), np.arange(1620, 3120)
    hist = np.stack([colour_histogram(ca), colour_histogram(cb)])
    det = Detections(np.zeros(2, np.int32), np.array([[0, 0, 1.63], [0.6, 0, 1.63]], np.float32),
                     np.array([1.75, 1.75], np.float32), np.array([[0, 0], [0.6, 0]], np.float32),
                     np.array([0.1, 0.1], np.float32), hist, np.array([1620, 1500], np.int32), [idx_a, idx_b])
    traced = [trace_arm_points(xyz[i], det.head_xyz_m[k, :2].astype(np.float64), 1.75, fronts=FRONTS)
              for k, i in enumerate((idx_a, idx_b))]
    return pts, det, traced


@pytest.mark.parametrize(("sleeve", "moves"), [(RED, True), (SKIN, False)])
def test_an_arm_goes_to_the_neighbour_whose_sleeve_it_is(sleeve, moves):
    pts, det, traced = _scene(sleeve)
    assert np.isfinite(traced[0][0]).any() and np.isnan(traced[1][0]).all()  # the locator's mistake
    tip = traced[0][0][np.isfinite(traced[0][0][:, 0])][0]
    moved = _arms_by_colour(pts, det, np.array([0, 1]), traced, FRONTS, VisionParams())
    assert moved == int(moves)
    if moves:
        assert np.isnan(traced[0][0]).all()
        assert np.isclose(traced[1][0], tip).all(axis=1).any()  # B has the hand now, as its left
        assert np.isfinite(traced[1][1][3]).all()  # with a shoulder and an elbow
    else:
        assert np.isnan(traced[1][0]).all()
