"""Evaluation: joins engine output with ground truth (AutoCheckout scoring, event P/R, reports).

Modules, in the order data flows::

    truth       GroundTruth: what really happened (written by the simulator)
    matching    engine shelf events <-> true events, one-to-one (Hungarian, time tolerance)
    diagnosis   why a receipt line is wrong (missed event, wrong product, wrong shopper, ...)
    scoring     the AutoCheckout receipt rule per recording, micro-averaged over a run
    report      report.json and the per-recording F1 chart
    render      rich tables and receipt panels for the CLI

The rule and the report schema are documented in ``docs/evaluation.md``.
"""

from walkout.eval.diagnosis import ReceiptError
from walkout.eval.matching import EVENT_TOLERANCE_S, EventMatching, match_events
from walkout.eval.render import errors_table, f1_table, receipt_panel
from walkout.eval.report import build_report, write_report
from walkout.eval.scoring import (
    RecordingScore,
    RunScore,
    ShopperScore,
    combine_scores,
    expected_items,
    link_sessions,
    score_recording,
    score_run,
)
from walkout.eval.truth import GroundTruth, TruthEvent, TruthShopper, read_truth, write_truth

__all__ = [
    "EVENT_TOLERANCE_S",
    "EventMatching",
    "GroundTruth",
    "ReceiptError",
    "RecordingScore",
    "RunScore",
    "ShopperScore",
    "TruthEvent",
    "TruthShopper",
    "build_report",
    "combine_scores",
    "errors_table",
    "expected_items",
    "f1_table",
    "link_sessions",
    "match_events",
    "read_truth",
    "receipt_panel",
    "score_recording",
    "score_run",
    "write_report",
    "write_truth",
]
