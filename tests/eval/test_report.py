"""report.json shape, JSON safety, atomic writes and the F1 chart."""

from __future__ import annotations

import json

import numpy as np
import pytest

from walkout.engine.result import ReviewItem
from walkout.eval import build_report, score_run, write_report

from .fakes import BBQ, LEMON, SALT, STORE, charge, pick, putback, run, truth

OVERALL_KEYS = {
    "precision",
    "recall",
    "f1",
    "event_precision",
    "event_recall",
    "tp",
    "fp",
    "fn",
    "recordings",
    "shoppers",
}
RECORDING_KEYS = {"name", "precision", "recall", "f1", "tp", "fp", "fn", "event_precision", "event_recall", "receipts"}
RECEIPT_KEYS = {"shopper", "account_id", "lines", "subtotal_cents", "tax_cents", "total_cents", "expected"}
LINE_KEYS = {"upc", "name", "quantity", "unit_price_cents"}
ERROR_KEYS = {"recording", "shopper", "upc", "name", "kind", "quantity", "cause"}
REVIEW_KEYS = {"recording", "event_id", "t_s", "reason", "confidence", "evidence"}


def _inputs():
    review = [
        ReviewItem(
            3,
            12.5,
            "two shoppers at the shelf",
            0.41,
            {"p": np.float64(0.41), "plates": ("1.1.1",), "bad": float("nan")},
        )
    ]
    truths = [
        truth("alpha", ["A", "B"], [pick("A", SALT, 10), pick("B", LEMON, 20, 2), putback("B", LEMON, 30)]),
        truth("beta", ["C"]),
    ]
    results = [
        run("alpha", ["A", "B"], [charge(10, "A", BBQ), charge(20, "B", LEMON, 2)], review=review),
        run("beta", ["C"]),
    ]
    return truths, results


def _report(extra=None):
    truths, results = _inputs()
    score = score_run(zip(truths, results, strict=True), STORE)
    return build_report(score, results, truths, STORE, extra), score


def test_report_shape():
    report, score = _report()
    assert {"overall", "recordings", "errors", "review"} <= set(report)
    assert set(report["overall"]) >= OVERALL_KEYS
    assert (report["overall"]["recordings"], report["overall"]["shoppers"]) == (2, 3)
    assert (report["overall"]["tp"], report["overall"]["fp"], report["overall"]["fn"]) == (score.tp, score.fp, score.fn)
    assert [r["name"] for r in report["recordings"]] == ["alpha", "beta"]
    for row in report["recordings"]:
        assert set(row) >= RECORDING_KEYS
        for rec in row["receipts"]:
            assert set(rec) >= RECEIPT_KEYS
            assert all(set(line) >= LINE_KEYS for line in rec["lines"])
    alpha = report["recordings"][0]
    by_shopper = {r["shopper"]: r for r in alpha["receipts"]}
    assert by_shopper["A"]["expected"] == {SALT: 1}
    assert by_shopper["A"]["lines"] == [{"upc": BBQ, "name": "Kettle BBQ", "quantity": 1, "unit_price_cents": 199}]
    assert by_shopper["A"]["total_cents"] == 199 + 14
    assert by_shopper["B"]["expected"] == {LEMON: 1}
    assert report["errors"] and all(set(e) == ERROR_KEYS for e in report["errors"])
    assert len(report["review"]) == 1 and set(report["review"][0]) >= REVIEW_KEYS
    assert report["review"][0]["recording"] == "alpha"


def test_report_is_strict_json():
    report, _ = _report()
    text = json.dumps(report, allow_nan=False)
    assert json.loads(text) == report
    assert report["review"][0]["evidence"] == {"p": 0.41, "plates": ["1.1.1"], "bad": None}


def test_extra_keys_are_added_but_may_not_replace_reserved_ones():
    report, _ = _report({"engine": {"threshold": 0.5}})
    assert report["engine"] == {"threshold": 0.5}
    with pytest.raises(ValueError, match="reserved"):
        _report({"overall": 1})


def test_recording_without_result_raises():
    truths, results = _inputs()
    score = score_run(zip(truths, results, strict=True), STORE)
    with pytest.raises(ValueError, match="beta"):
        build_report(score, results[:1], truths, STORE, None)


def test_shopper_without_receipt_is_listed():
    t = truth("r", ["A"], [pick("A", SALT, 10)])
    result = run("r", ["A"], receipt_keys=[])
    report = build_report(score_run([(t, result)], STORE), [result], [t], STORE, None)
    assert report["recordings"][0]["shoppers_without_receipt"] == [{"shopper": "A", "expected": {SALT: 1}}]


def test_write_report(tmp_path):
    report, _ = _report()
    out = tmp_path / "eval" / "run1"
    path = write_report(report, out)
    assert path == out / "report.json"
    assert json.loads(path.read_text()) == report
    png = out / "f1_per_recording.png"
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000
    assert sorted(p.name for p in out.iterdir()) == ["f1_per_recording.png", "report.json"]  # no temp files left


def test_write_report_overwrites_and_handles_no_recordings(tmp_path):
    empty = build_report(score_run([], STORE), [], [], STORE, None)
    write_report(_report()[0], tmp_path)
    path = write_report(empty, tmp_path)
    assert json.loads(path.read_text())["overall"]["recordings"] == 0
    assert (tmp_path / "f1_per_recording.png").stat().st_size > 0
