"""The evaluation report: one JSON document (``report.json``) and a per-recording F1 chart.

The JSON schema is documented in ``docs/evaluation.md``; :func:`build_report` is pure, and
:func:`write_report` is the only function here that touches the disk.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from walkout.carts.receipt import Receipt
from walkout.core.store import Store
from walkout.engine.result import ReviewItem, RunResult
from walkout.eval.scoring import RecordingScore, RunScore
from walkout.eval.truth import GroundTruth

if TYPE_CHECKING:
    from matplotlib.figure import Figure

REPORT_FORMAT = "walkout-eval-report"
REPORT_FORMAT_VERSION = 1
REPORT_JSON = "report.json"
F1_PNG = "f1_per_recording.png"
_RESERVED = frozenset({"format", "version", "store", "overall", "recordings", "errors", "review", "sessions_reviewed_share"})


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: tuples -> lists, numpy -> Python, NaN/inf -> None, else str."""
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return str(value)


def _receipt_row(receipt: Receipt, shopper: str | None, expected: dict[str, int]) -> dict[str, Any]:
    return {
        "shopper": shopper,
        "account_id": receipt.account_id,
        "session_id": receipt.session_id,
        "entry_t_s": receipt.entry_t_s,
        "exit_t_s": receipt.exit_t_s,
        "lines": [
            {"upc": ln.upc, "name": ln.name, "quantity": ln.quantity, "unit_price_cents": ln.unit_price_cents}
            for ln in receipt.lines
        ],
        "subtotal_cents": receipt.subtotal_cents,
        "tax_cents": receipt.tax_cents,
        "total_cents": receipt.total_cents,
        "currency": receipt.currency,
        "expected": expected,
    }


def _recording_row(score: RecordingScore, result: RunResult, truth: GroundTruth) -> dict[str, Any]:
    return {
        "name": score.recording,
        "precision": score.precision,
        "recall": score.recall,
        "f1": score.f1,
        "tp": score.tp,
        "fp": score.fp,
        "fn": score.fn,
        "event_precision": score.event_precision,
        "event_recall": score.event_recall,
        "events_matched": score.events.matched,
        "engine_events": score.events.n_engine,
        "truth_events": score.events.n_truth,
        "shoppers": len(score.shoppers),
        "receipts": [
            _receipt_row(r, k, score.expected_for(k))
            for r, k in zip(result.receipts, score.receipt_shoppers, strict=True)
        ],
        "shoppers_without_receipt": [
            {"shopper": s.key, "expected": dict(s.expected)} for s in score.shoppers if not s.session_ids
        ],
        "skipped_labels": len(truth.skipped_labels),
        "rejections": dict(result.rejections),
    }


def sessions_reviewed_share(results: Sequence[RunResult]) -> float:
    """Share of customer sessions (not deleted) with at least one review task: the review
    queue's load (0.0 when there is no such session)."""
    sessions = {s.session_id for r in results for s in r.sessions if s.kind == "customer" and not s.deleted}
    reviewed = {i.session_id for r in results for i in r.review} & sessions
    return len(reviewed) / len(sessions) if sessions else 0.0


def _review_row(recording: str, item: ReviewItem) -> dict[str, Any]:
    return {
        "recording": recording,
        "event_id": item.event_id,
        "t_s": item.t_s,
        "reason": item.reason,
        "confidence": item.confidence,
        "evidence": item.evidence,
    }


def _overall(run_score: RunScore) -> dict[str, Any]:
    causes: dict[str, int] = {}
    for e in run_score.errors:
        head = e.cause.split(" (")[0]
        causes[head] = causes.get(head, 0) + e.quantity
    return {
        "precision": run_score.precision,
        "recall": run_score.recall,
        "f1": run_score.f1,
        "event_precision": run_score.event_precision,
        "event_recall": run_score.event_recall,
        "tp": run_score.tp,
        "fp": run_score.fp,
        "fn": run_score.fn,
        "recordings": len(run_score.recordings),
        "shoppers": run_score.shoppers,
        "events_matched": run_score.events_matched,
        "engine_events": run_score.engine_events,
        "truth_events": run_score.truth_events,
        "error_units_by_cause": dict(sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def build_report(
    run_score: RunScore,
    results: Sequence[RunResult],
    truths: Sequence[GroundTruth],
    store: Store,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the evaluation report as a JSON-ready dict (schema: ``docs/evaluation.md``).

    Args:
        run_score: the scores (from :func:`walkout.eval.score_run`).
        results: the engine results scored, matched to recordings by ``RunResult.recording``.
        truths: the ground truths scored, matched by ``GroundTruth.recording``.
        store: the store the recordings were made in.
        extra: more top-level keys to include (e.g. engine settings, seeds); must not reuse a
            reserved key (format, version, store, overall, recordings, errors, review).

    Raises:
        ValueError: if a scored recording has no result or truth, or ``extra`` reuses a
            reserved key.
    """
    by_result = {r.recording: r for r in results}
    by_truth = {t.recording: t for t in truths}
    missing = [s.recording for s in run_score.recordings if s.recording not in by_result or s.recording not in by_truth]
    if missing:
        raise ValueError(f"no result or truth for scored recordings: {', '.join(missing)}")
    clash = sorted(_RESERVED & set(extra or {}))
    if clash:
        raise ValueError(f"extra reuses reserved report keys: {', '.join(clash)}")
    report: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "version": REPORT_FORMAT_VERSION,
        "store": {"name": store.name, "currency": store.currency, "tax_rate": store.tax_rate},
        "overall": _overall(run_score),
        "recordings": [_recording_row(s, by_result[s.recording], by_truth[s.recording]) for s in run_score.recordings],
        "errors": [e.to_dict() for e in run_score.errors],
        "review": [_review_row(s.recording, i) for s in run_score.recordings for i in by_result[s.recording].review],
        "sessions_reviewed_share": sessions_reviewed_share([by_result[s.recording] for s in run_score.recordings]),
    }
    report.update(extra or {})
    return jsonable(report)


def f1_figure(report: Mapping[str, Any]) -> Figure:
    """Horizontal bar chart of each recording's F1 with the overall (micro) F1 as a line.

    Uses matplotlib's object API (no pyplot, no global backend switch); imported lazily so that
    ``import walkout.eval`` stays cheap for the simulator, which writes ground truth.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    rows = report["recordings"]
    height = max(2.8, 1.3 + 0.32 * len(rows))
    fig = Figure(figsize=(8.0, height), layout="constrained")
    ax = fig.add_subplot()
    names = [r["name"] for r in rows]
    f1s = [r["f1"] for r in rows]
    y = np.arange(len(rows))
    ax.barh(y, f1s, color="#4c78a8")
    for i, f in enumerate(f1s):
        ax.text(min(f, 1.0) + 0.01, i, f"{f:.1%}", va="center", fontsize=8)
    overall = report["overall"]["f1"]
    ax.axvline(overall, color="#e45756", linestyle="--", label=f"overall F1 {overall:.1%} (micro)")
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0.0, 1.12)
    ax.set_xlabel("F1 (AutoCheckout receipt rule)")
    ax.set_title(f"Receipt F1 per recording ({len(rows)} recordings)")
    if not rows:
        ax.text(0.5, 0.5, "no recordings", ha="center", va="center", transform=ax.transAxes)
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    fig.legend(loc="outside lower center", fontsize=8, frameon=False)
    return fig


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def write_report(report: Mapping[str, Any], out_dir: str | Path) -> Path:
    """Write ``out_dir/report.json`` and ``out_dir/f1_per_recording.png``, each atomically.

    Args:
        report: a report from :func:`build_report`.
        out_dir: directory to write into (created if absent).

    Returns:
        The path of ``report.json``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    png = io.BytesIO()
    FigureCanvasAgg(f1_figure(report)).print_png(png)
    _atomic_write_bytes(out / F1_PNG, png.getvalue())
    path = out / REPORT_JSON
    _atomic_write_bytes(path, (json.dumps(report, indent=1, allow_nan=False) + "\n").encode())
    return path
