"""Orchestration of the whole loop: simulate -> recording -> engine -> receipts -> evaluation.

This module sits above the layers (like the CLI): it may use the simulator and the evaluator,
while the engine it drives sees only recordings.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from walkout.core.errors import StorageError
from walkout.core.store import Store
from walkout.engine.db import Database
from walkout.engine.desk import entry_desk
from walkout.engine.loop import Engine
from walkout.engine.params import EngineParams
from walkout.engine.result import RunResult
from walkout.eval.scoring import RunScore
from walkout.eval.tracking import TrackingScores
from walkout.eval.truth import GroundTruth
from walkout.io.accounts import demo_accounts
from walkout.io.mail import MailSender
from walkout.io.recording import Recording
from walkout.operations.checkout import Checkout, FinalizeOutcome
from walkout.operations.ledger import LedgerProvider


def open_database(url: str = "sqlite://") -> Database:
    """Open (and migrate) a database, seed the demo accounts and give every demo customer a
    payment method with the built-in ledger provider (once).

    Raises:
        StorageError: naming the URL (password hidden) when it cannot be opened or migrated.
    """
    from walkout.operations.accounts import add_payment_method, default_payment_method
    from walkout.operations.ledger import LedgerProvider

    db = Database(url)
    try:
        db.upgrade()
        db.seed_accounts(demo_accounts())
        provider = LedgerProvider(db)
        for a in demo_accounts():
            if a.role == "customer" and default_payment_method(db, a.account_id) is None:
                add_payment_method(db, provider, a.account_id, "Demo card")
    except StorageError as exc:
        db.dispose()
        raise StorageError(f"{_safe_url(url)}: {exc}") from exc
    return db


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for the message
        return "database URL"


@dataclass
class ReplayOutcome:
    """Results of a replay: per-recording (truth, result), timings, and the report dict."""

    pairs: list[tuple[GroundTruth, RunResult]] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=lambda: {"simulate": 0.0, "engine": 0.0, "evaluate": 0.0})
    report: dict[str, Any] = field(default_factory=dict)
    plate_samples: int = 0
    traces: list[Path] = field(default_factory=list)
    score: RunScore | None = None
    tracking: list[TrackingScores] = field(default_factory=list)
    checkout: list[FinalizeOutcome] = field(default_factory=list)


def checkout_summary(outcomes: list[FinalizeOutcome]) -> dict[str, Any]:
    """Counts of finalization outcomes, the amount charged and the receipt e-mails, for report.json."""
    by_status: dict[str, int] = {}
    for o in outcomes:
        by_status[o.status] = by_status.get(o.status, 0) + 1
    charged = sum(o.payment.amount_cents for o in outcomes
                  if o.payment is not None and o.payment.status == "succeeded" and o.payment.kind == "charge")
    return {"sessions": by_status, "charged_cents": charged,
            "receipt_emails": {s: sum(o.mail_status == s for o in outcomes) for s in ("sent", "queued", "failed")}}


def _tracking(rec: Recording, result: RunResult) -> TrackingScores | None:
    """Tracking metrics of a run that used vision on a simulated recording (None otherwise)."""
    from walkout.eval.people import score_vision
    from walkout.sim.depth import SimDepthSource

    if result.vision is None or not isinstance(rec.depth, SimDepthSource):
        return None
    return score_vision(result.vision, rec.depth.body_truth())


def run_pairs(
    simulated: Iterable[tuple[Recording, GroundTruth]],
    store: Store,
    db: Database,
    params: EngineParams = EngineParams(),
    on_recording: Callable[[Recording, GroundTruth, RunResult], None] | None = None,
    trace_dir: Path | None = None,
    mailer: MailSender | None = None,
) -> ReplayOutcome:
    """Run the engine over simulated recordings, finalize every session (receipt, charge with the
    built-in ledger provider, receipt e-mail) and score them.

    Args:
        simulated: (recording, ground truth) pairs, e.g. from :func:`walkout.sim.simulate_aifi`.
        store: the store (for scoring and the report).
        db: the database the engine writes to (accounts seeded).
        params: engine parameters.
        on_recording: called after each recording (progress display).
        trace_dir: if given, a weight-trace PNG of every wrong receipt line is written there.
        mailer: where receipt e-mails go (None: they stay queued in the database's outbox).
    """
    from walkout.eval import build_report, combine_scores, score_recording
    from walkout.eval.traces import write_traces
    from walkout.eval.tracking import combine_tracking_scores

    out = ReplayOutcome()
    scores = []
    engine = Engine(entry_desk(db), storage=db, params=params)
    checkout = Checkout(db, store, LedgerProvider(db), mailer)
    it = iter(simulated)
    while True:
        t0 = time.perf_counter()
        try:
            rec, truth = next(it)
        except StopIteration:
            break
        t1 = time.perf_counter()
        result = engine.run(rec)
        out.checkout += checkout.finalize_due(math.inf)  # a replay has no reviewer: nobody waits
        t2 = time.perf_counter()
        out.timings_s["simulate"] += t1 - t0
        out.timings_s["engine"] += t2 - t1
        out.plate_samples += len(rec.plates)
        out.pairs.append((truth, result))
        scores.append(score_recording(truth, result, store))
        tracking = _tracking(rec, result)
        if tracking is not None:
            out.tracking.append(tracking)
        out.timings_s["evaluate"] += time.perf_counter() - t2
        if trace_dir is not None and scores[-1].errors:
            out.traces += write_traces(rec, truth, result, scores[-1].errors, trace_dir)
        if on_recording is not None:
            on_recording(rec, truth, result)
    t3 = time.perf_counter()
    out.score = combine_scores(scores)
    out.report = build_report(out.score, [r for _, r in out.pairs], [t for t, _ in out.pairs], store)
    out.timings_s["evaluate"] += time.perf_counter() - t3
    if out.tracking:
        out.report["tracking"] = combine_tracking_scores(out.tracking).to_dict()
    out.report["people_source"] = params.people if out.tracking else "tracker"
    out.report["checkout"] = checkout_summary(out.checkout)
    out.report["timings_s"] = {k: round(v, 3) for k, v in out.timings_s.items()}
    out.report["plate_samples"] = out.plate_samples
    return out


def replay_ground_truth(
    gt_path: str | Path,
    store: Store,
    seed: int = 0,
    db_url: str = "sqlite://",
    params: EngineParams = EngineParams(),
    on_recording: Callable[[Recording, GroundTruth, RunResult], None] | None = None,
    trace_dir: Path | None = None,
    mail_dir: Path | None = None,
) -> ReplayOutcome:
    """Replay every labelled recording of an AiFi-format ground-truth file through the engine.

    ``trace_dir``: where to draw a weight-trace PNG of every wrong receipt line (None: none).
    ``mail_dir``: a Maildir receiving the receipt e-mails (None: they stay queued in the outbox).
    """
    from walkout.io.mail import MaildirSender
    from walkout.sim import simulate_aifi

    db = open_database(db_url)
    try:
        mailer = MaildirSender(mail_dir) if mail_dir is not None else None
        out = run_pairs(simulate_aifi(gt_path, store, seed), store, db, params, on_recording, trace_dir, mailer)
        out.report["seed"] = seed
        out.report["ground_truth"] = str(gt_path)
        return out
    finally:
        db.dispose()
