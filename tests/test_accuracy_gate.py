"""Accuracy gate: a small fixed scenario set that fails CI when the engine gets worse.

The full benchmark (seeds 0-4, crowded scenarios) lives in ``benchmarks/``; this gate replays the
34 real AiFi labelled recordings at two fixed seeds plus two fixed crowded random scenarios.
"""

from __future__ import annotations

import pytest

from walkout.engine.desk import demo_entry_desk
from walkout.engine.loop import Engine
from walkout.engine.params import EngineParams
from walkout.eval import score_recording
from walkout.io.store_file import embedded_store_dir
from walkout.replay import replay_ground_truth
from walkout.sim import random_scenario, simulate

GT = embedded_store_dir() / "ground_truth_dev.json"


@pytest.mark.parametrize("seed", [0, 1])
def test_aifi_replay_receipts_and_events(store, seed):
    report = replay_ground_truth(GT, store, seed=seed).report
    ov = report["overall"]
    assert ov["f1"] >= 0.99, report["errors"]
    assert ov["precision"] >= 0.99 and ov["recall"] >= 0.99
    assert ov["event_precision"] >= 0.97 and ov["event_recall"] >= 0.97
    assert len(report["recordings"]) == 34


def test_aifi_replay_with_vision(store):
    """People seen by the ceiling depth units instead of the tracker stream (seed 0).

    The floor is today's measured level (F1 0.99 on seed 0, see docs/vision.md), not the
    target: a change that makes vision worse fails here.
    """
    report = replay_ground_truth(GT, store, seed=0, params=EngineParams(people="vision")).report
    assert report["people_source"] == "vision"
    assert report["overall"]["f1"] >= 0.98, report["errors"]
    tracking = report["tracking"]
    assert tracking["idf1"] >= 0.95 and tracking["mota"] >= 0.95
    assert tracking["hand_median_cm"] <= 12.0


@pytest.mark.parametrize(("seed", "min_f1"), [(1, 0.97), (3, 0.97)])
def test_crowded_store_receipts(store, seed, min_f1):
    rec, truth = simulate(random_scenario(store, 6, 180.0, seed), store, seed)
    result = Engine(demo_entry_desk()).run(rec)
    score = score_recording(truth, result, store)
    assert score.f1 >= min_f1, [e.cause for e in score.errors]
    assert len(result.receipts) == 6
