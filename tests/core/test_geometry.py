"""Floor-plane segment distances (core.geometry)."""

from __future__ import annotations

import numpy as np
import pytest

from walkout.core.geometry import segment_distance_m, segment_gap_m


def test_segment_distance_to_the_middle_and_past_the_ends() -> None:
    d = segment_distance_m(np.array([[0.5, 0.3], [-0.4, 0.0], [1.0, -2.0]]), (0.0, 0.0), (1.0, 0.0))
    assert d == pytest.approx([0.3, 0.4, 2.0])


@pytest.mark.parametrize(
    ("a", "b", "c", "d", "gap"),
    [
        ((0, 0), (1, 1), (0, 1), (1, 0), 0.0),  # an X: they cross
        ((0, 0), (1, 0), (0, 0.5), (1, 0.5), 0.5),  # parallel, side by side
        ((0, 0), (1, 0), (1.3, 0.4), (2, 2), 0.5),  # end to end
        ((0, 0), (1, 0), (0.5, 0.2), (0.5, 0.2), 0.2),  # a point (somebody standing, not reaching)
        ((0.5, 0.2), (0.5, 0.2), (0, 0), (1, 0), 0.2),
        ((0, 0), (0, 0), (3, 4), (3, 4), 5.0),  # two points
    ],
)
def test_segment_gap(a, b, c, d, gap) -> None:
    pts = [np.array(p, dtype=np.float64) for p in (a, b, c, d)]
    assert segment_gap_m(*pts) == pytest.approx(gap)
    assert segment_gap_m(pts[2], pts[3], pts[0], pts[1]) == pytest.approx(gap)
