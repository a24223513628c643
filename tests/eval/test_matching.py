"""One-to-one matching of engine shelf events to true events (shelf, kind, time tolerance)."""

from __future__ import annotations

import pytest

from walkout.eval import EVENT_TOLERANCE_S, match_events

from .fakes import SALT, pick, putback, shelf_event

# (case, engine event (t_end_s, kind, shelf), truth event (t_s, kind, shelf), matched)
# fakes: an engine event spans [t_end_s - 1.0, t_end_s], a true one [t_s - 1.5, t_s]; the
# tolerance applies to the gap between the two intervals.
PAIR_CASES = [
    ("same time", (10.0, "pick", (1, 1)), (10.0, "pick", (1, 1)), True),
    ("engine late, intervals overlap", (10.9, "pick", (1, 1)), (10.0, "pick", (1, 1)), True),
    ("engine late by the tolerance", (13.0, "pick", (1, 1)), (10.0, "pick", (1, 1)), True),
    ("engine early by the tolerance", (6.5, "putback", (1, 1)), (10.0, "putback", (1, 1)), True),
    ("just beyond the tolerance (late)", (13.01, "pick", (1, 1)), (10.0, "pick", (1, 1)), False),
    ("just beyond the tolerance (early)", (6.49, "pick", (1, 1)), (10.0, "pick", (1, 1)), False),
    ("other kind", (10.0, "putback", (1, 1)), (10.0, "pick", (1, 1)), False),
    ("other shelf of the gondola", (10.0, "pick", (1, 2)), (10.0, "pick", (1, 1)), False),
    ("same shelf index, other gondola", (10.0, "pick", (2, 1)), (10.0, "pick", (1, 1)), False),
]


@pytest.mark.parametrize(("engine", "true", "matched"), [c[1:] for c in PAIR_CASES], ids=[c[0] for c in PAIR_CASES])
def test_pair_rules(engine, true, matched):
    t_s, kind, shelf = true
    truth_event = (pick if kind == "pick" else putback)("A", SALT, t_s, shelf=shelf)
    m = match_events([shelf_event(7, *engine)], [truth_event])
    assert m.matched == int(matched)
    assert m.pairs == (((7, 0),) if matched else ())
    assert (m.precision, m.recall) == ((1.0, 1.0) if matched else (0.0, 0.0))


def test_default_tolerance_is_two_seconds():
    assert EVENT_TOLERANCE_S == 2.0


def test_gap_between_intervals_is_what_the_tolerance_bounds():
    # truth spans [8.5, 10]; an engine event ending at 12.0 spans [11, 12]: the gap is 1 s
    true = pick("A", SALT, 10.0)
    assert match_events([shelf_event(0, 12.0, "pick")], [true]).matched == 1
    assert match_events([shelf_event(0, 12.0, "pick")], [true], tolerance_s=0.99).matched == 0
    assert match_events([shelf_event(0, 12.0, "pick")], [true], tolerance_s=1.0).matched == 1


def test_one_to_one_extra_engine_event_is_unmatched():
    m = match_events([shelf_event(0, 10.0, "pick"), shelf_event(1, 10.5, "pick")], [pick("A", SALT, 10.2)])
    assert m.matched == 1
    assert (m.precision, m.recall) == (0.5, 1.0)


def test_maximum_matching_beats_greedy_nearest():
    # Greedy nearest would pair 11.0 with 11.5 and leave 13.0 too far from 10.0.
    engine = [shelf_event(0, 11.0, "pick"), shelf_event(1, 13.0, "pick")]
    truth = [pick("A", SALT, 10.0), pick("B", SALT, 11.5)]
    m = match_events(engine, truth)
    assert m.pairs == ((0, 0), (1, 1))


def test_least_total_time_difference_among_maximum_matchings():
    engine = [shelf_event(0, 10.1, "pick"), shelf_event(1, 11.1, "pick")]
    truth = [pick("A", SALT, 10.0), pick("B", SALT, 11.0)]
    m = match_events(engine, truth)
    assert m.truth_for_engine == {0: 0, 1: 1}
    assert m.engine_for_truth == {0: 0, 1: 1}


def test_empty_inputs():
    assert (match_events([], []).precision, match_events([], []).recall) == (1.0, 1.0)
    only_truth = match_events([], [pick("A", SALT, 1.0)])
    assert (only_truth.precision, only_truth.recall) == (1.0, 0.0)
    only_engine = match_events([shelf_event(0, 1.0, "pick")], [])
    assert (only_engine.precision, only_engine.recall) == (0.0, 1.0)


def test_negative_tolerance_raises():
    with pytest.raises(ValueError, match="tolerance_s"):
        match_events([], [], tolerance_s=-1.0)
