"""The review queue: the engine's low-confidence decisions and disputed lines, decided by a person.

A review task is a ``review_items`` row: ``kind`` ``event`` (the engine queued a shelf event it
was unsure of, with its evidence: shelf, plates, plate weight changes, candidate products and
candidate sessions with their probabilities) or ``dispute`` (a customer disputed a receipt line,
:mod:`walkout.operations.disputes`). :func:`tasks` lists them; :func:`decide` records a verdict.

For an event task:

- ``approve``: the engine was right; the task is resolved.
- ``correct``: the event really was ``items`` taken (or put back, for a put-back event) by
  ``session_id`` (None: nobody, or an associate). The verdict is compared per session and UPC
  with what the engine booked for the event (its cart lines). A session not finalized yet (open
  or exited) gets compensating cart lines (``event_id`` = minus the review id, clamped at zero as
  every put-back). A closed session (receipt stored and charged) gets a money adjustment instead:
  the receipt is re-priced with the corrected units (receipt prices, the store's tax rate) and the
  difference refunded or charged through :func:`walkout.operations.money.pay` with the key
  ``review:<review id>:<session id>``, and a notice is e-mailed. Where the stock ledger holds the
  event's movements, the products' stock is corrected too (reason ``correction``).

A dispute task is passed to :func:`walkout.operations.disputes.resolve_dispute_review`:
``approve`` refunds, ``reject`` (or ``correct``) rejects.

Every verdict stores ``decision`` (JSON), ``decided_by`` and ``resolved_at``. Deciding a resolved
task again with the same verdict is a no-op; with another verdict it is refused. Cart lines, stock
corrections and the resolution are written in one transaction; payments (at the provider, outside
the database) come before it, each once per key, so a retry after a failure completes the
decision without paying twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from walkout.carts.payments import PaymentProvider
from walkout.core.errors import OperationError
from walkout.core.store import Store
from walkout.engine.db import Database
from walkout.engine.db.models import CartLineRow, ReviewItemRow, SessionRow, ShelfEventRow
from walkout.operations import _checks, disputes
from walkout.operations import _corrections as _corr
from walkout.operations._common import aware_utc, reviewer
from walkout.operations._corrections import Adjustment, CartCorrection
from walkout.operations.disputes import DisputeOutcome

__all__ = [
    "Adjustment",
    "CartCorrection",
    "ReviewDecision",
    "ReviewTask",
    "decide",
    "sessions_reviewed_share",
    "tasks",
]

Action = Literal["approve", "correct", "reject"]


@dataclass(frozen=True)
class ReviewTask:
    """A review task with its evidence.

    Attributes:
        review_id: the task's id.
        kind: ``event`` (an engine decision) or ``dispute`` (``event_id`` is the dispute id).
        recording: the recording of the event or disputed session.
        event_id: the shelf event (or dispute) under review.
        t_s: event end (or the disputed session's exit), seconds on the recording clock.
        reason: why it was queued (e.g. ``low confidence``, ``no shopper linked``).
        confidence: the engine's confidence in its decision, in [0, 1].
        evidence: what the reviewer sees (JSON document; see the module docstring).
        status: ``open`` or ``resolved``.
        session_id: the session the task is about, if the queue recorded one.
        created_at: when it was queued (aware UTC).
        decision: the verdict (None while open).
        decided_by: the reviewer's account id (None while open).
        resolved_at: when it was decided (None while open).
    """

    review_id: int
    kind: Literal["event", "dispute"]
    recording: str
    event_id: int
    t_s: float
    reason: str
    confidence: float
    evidence: Mapping[str, Any]
    status: Literal["open", "resolved"]
    session_id: str | None
    created_at: datetime
    decision: Mapping[str, Any] | None = None
    decided_by: str | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class ReviewDecision:
    """The outcome of :func:`decide`.

    Attributes:
        review_id: the task.
        kind: the task's kind.
        action: the verdict recorded.
        decided_by: the reviewer.
        replayed: the task had been decided the same way before; nothing changed now.
        cart: compensating cart lines written (sessions not finalized).
        adjustments: refunds and charges of closed sessions.
        stock: stock corrections written, as (plate id, upc, delta).
        dispute: the dispute after the verdict (dispute tasks only).
    """

    review_id: int
    kind: Literal["event", "dispute"]
    action: Action
    decided_by: str
    replayed: bool = False
    cart: tuple[CartCorrection, ...] = ()
    adjustments: tuple[Adjustment, ...] = ()
    stock: tuple[tuple[str, str, int], ...] = ()
    dispute: DisputeOutcome | None = None


# ---------------------------------------------------------------- listing
def tasks(
    db: Database,
    *,
    status: Literal["open", "resolved"] | None = "open",
    session_id: str | None = None,
    kind: Literal["event", "dispute"] | None = None,
    recording: str | None = None,
) -> list[ReviewTask]:
    """Review tasks in time order (recording clock, then event id).

    Args:
        db: the database.
        status: ``open``, ``resolved`` or None (both).
        session_id: only tasks concerning this session: recorded for it, about an event booked
            to its cart or logged for it, or naming it among the candidate shoppers.
        kind: ``event``, ``dispute`` or None (both).
        recording: only tasks of this recording.

    Raises:
        OperationError: an unknown status or kind.
    """
    if status not in ("open", "resolved", None):
        raise OperationError(f"tasks: status {status!r} must be 'open', 'resolved' or None")
    if kind not in ("event", "dispute", None):
        raise OperationError(f"tasks: kind {kind!r} must be 'event', 'dispute' or None")
    with db.transaction("review_tasks") as s:
        query = select(ReviewItemRow)
        if status is not None:
            query = query.where(ReviewItemRow.status == status)
        if kind is not None:
            query = query.where(ReviewItemRow.kind == kind)
        if recording is not None:
            query = query.where(ReviewItemRow.recording == recording)
        if session_id is not None:
            session = s.get(SessionRow, session_id)
            if session is None:
                return []
            query = query.where(ReviewItemRow.recording == session.recording)
        rows = list(s.scalars(query.order_by(ReviewItemRow.t_s, ReviewItemRow.event_id, ReviewItemRow.review_id)))
        if session_id is not None:
            events = _session_events(s, session_id)
            rows = [r for r in rows if session_id in _concerned(r, events.get(session_id, set()), session_id)]
        return [_task(r) for r in rows]


def _session_events(s: Session, session_id: str | None = None, recording: str | None = None) -> dict[str, set[int]]:
    """session -> ids of the events booked to its cart or logged for it."""
    out: dict[str, set[int]] = {}
    lines = select(CartLineRow.session_id, CartLineRow.event_id)
    logged = select(ShelfEventRow.session_id, ShelfEventRow.event_id).where(ShelfEventRow.session_id.is_not(None))
    if session_id is not None:
        lines = lines.where(CartLineRow.session_id == session_id)
        logged = logged.where(ShelfEventRow.session_id == session_id)
    if recording is not None:
        lines = lines.join(SessionRow, SessionRow.session_id == CartLineRow.session_id).where(
            SessionRow.recording == recording
        )
        logged = logged.where(ShelfEventRow.recording == recording)
    for query in (lines, logged):
        for sid, event_id in s.execute(query):
            out.setdefault(str(sid), set()).add(int(event_id))
    return out


def _concerned(row: ReviewItemRow, events: set[int], session_id: str) -> set[str]:
    """The sessions among ``{row.session_id, session_id, candidates}`` a task concerns."""
    out = {row.session_id} if row.session_id else set()
    if row.kind == "event":
        if row.event_id in events:
            out.add(session_id)
        for candidate in (row.evidence or {}).get("shoppers", []):
            if isinstance(candidate, list | tuple) and candidate and candidate[0] is not None:
                out.add(str(candidate[0]))
    return out


def _task(row: ReviewItemRow) -> ReviewTask:
    return ReviewTask(
        row.review_id,
        cast(Literal["event", "dispute"], row.kind or "event"),
        row.recording,
        row.event_id,
        row.t_s,
        row.reason,
        row.confidence,
        dict(row.evidence or {}),
        cast(Literal["open", "resolved"], row.status),
        row.session_id,
        _checks.utc(row.created_at),
        None if row.decision is None else dict(row.decision),
        row.decided_by,
        None if row.resolved_at is None else _checks.utc(row.resolved_at),
    )


def sessions_reviewed_share(db: Database, recording: str | None = None) -> float:
    """The share of customer sessions (not deleted) that at least one event review task concerns.

    A task concerns a session as in :func:`tasks` (recorded for it, about an event booked to it or
    logged for it, or naming it a candidate shopper), whatever the task's status.

    Returns:
        A fraction in [0, 1] (0.0 when there is no such session).
    """
    with db.transaction("sessions_reviewed_share") as s:
        query = select(SessionRow.session_id, SessionRow.recording).where(
            SessionRow.kind == "customer", SessionRow.status != "deleted"
        )
        if recording is not None:
            query = query.where(SessionRow.recording == recording)
        sessions = {str(sid): str(rec) for sid, rec in s.execute(query)}
        if not sessions:
            return 0.0
        events = _session_events(s, recording=recording)
        review_query = select(ReviewItemRow).where(ReviewItemRow.kind == "event")
        if recording is not None:
            review_query = review_query.where(ReviewItemRow.recording == recording)
        by_recording: dict[str, list[ReviewItemRow]] = {}
        for row in s.scalars(review_query):
            by_recording.setdefault(row.recording, []).append(row)
        reviewed = {
            sid
            for sid, rec in sessions.items()
            if any(sid in _concerned(r, events.get(sid, set()), sid) for r in by_recording.get(rec, []))
        }
        return len(reviewed) / len(sessions)


# ---------------------------------------------------------------- deciding
def decide(
    db: Database,
    review_id: int,
    *,
    reviewer_id: str,
    action: Action,
    store: Store,
    items: Iterable[tuple[str, int]] | None = None,
    session_id: str | None = None,
    provider: PaymentProvider | None = None,
    now: datetime | None = None,
) -> ReviewDecision:
    """Record a reviewer's verdict on a task and carry it out (see the module docstring).

    Args:
        db: the database.
        review_id: the task.
        reviewer_id: an active associate account.
        action: ``approve``, ``correct`` (event tasks; on a dispute it rejects) or ``reject``
            (dispute tasks).
        store: the store (prices and tax rate of adjustments, e-mail rendering, known UPCs).
        items: for ``correct``: ((upc, units), ...) the event really moved (units > 0; the
            direction is the event's: taken for a pick, put back for a put-back); () = nothing.
        session_id: for ``correct``: the customer session that did it (None: nobody/associate).
        provider: the payment provider (needed to refund or charge closed sessions and disputes).
        now: the decision time (aware; default now).

    Returns:
        What was written; ``replayed`` when the same verdict had been recorded before.

    Raises:
        OperationError: naming the field: unknown task or reviewer, an action that does not fit
            the task, bad items or session, a resolved task decided otherwise before, a missing
            provider, or a refund above what the receipt's charges left.
        PaymentError: the provider declined an adjustment (nothing recorded; the task stays open).
    """
    op = "decide"
    if action not in ("approve", "correct", "reject"):
        raise OperationError(f"{op}: action {action!r} must be 'approve', 'correct' or 'reject'")
    t = aware_utc(op, now)
    with db.transaction(op) as s:
        reviewer(s, op, reviewer_id)
        valid_id = isinstance(review_id, int) and not isinstance(review_id, bool)
        task = s.get(ReviewItemRow, review_id) if valid_id else None
        if task is None:
            raise OperationError(f"{op}: review_id {review_id!r} is not a review task")
        kind, was_resolved = task.kind or "event", task.status == "resolved"
    if kind == "dispute":
        return _decide_dispute(db, review_id, reviewer_id, action, store, provider, t, was_resolved)
    if action == "reject":
        raise OperationError(f"{op}: action 'reject' is for dispute tasks; an event task is approved or corrected")
    decision = _decision(store, action, items, session_id)
    with db.transaction(op) as s:
        task = s.get(ReviewItemRow, review_id)
        assert task is not None
        if task.status == "resolved":
            return _replay(task, decision)
        plan = _corr.plan(s, task, decision, store) if action == "correct" else _corr.Plan((), (), ())
    paid = _corr.pay(db, provider, review_id, plan)
    with db.transaction(op) as s:
        task = s.get(ReviewItemRow, review_id)
        assert task is not None
        if task.status == "resolved":
            return _replay(task, decision)
        if action == "correct" and _corr.plan(s, task, decision, store) != plan:
            raise OperationError(f"{op}: the carts of review task {review_id} changed meanwhile; decide again")
        cart, adjustments = _corr.write(s, task, plan, paid)
        decision = {**decision, **_corr.written(cart, adjustments, plan.stock)}
        task.status, task.decision, task.decided_by, task.resolved_at = "resolved", decision, reviewer_id, t
    _corr.notify(db, store, review_id, adjustments)
    return ReviewDecision(review_id, "event", action, reviewer_id, False, cart, adjustments, plan.stock)


def _decide_dispute(
    db: Database,
    review_id: int,
    reviewer_id: str,
    action: Action,
    store: Store,
    provider: PaymentProvider | None,
    t: datetime,
    was_resolved: bool,
) -> ReviewDecision:
    verdict: Literal["approve", "reject"] = "approve" if action == "approve" else "reject"
    if provider is None:
        raise OperationError("decide: provider is needed to decide a dispute task")
    out = disputes.resolve_dispute_review(
        db, provider, review_id, store=store, reviewer_id=reviewer_id, action=verdict, now=t
    )
    return ReviewDecision(review_id, "dispute", verdict, reviewer_id, replayed=was_resolved, dispute=out)


def _decision(
    store: Store, action: Action, items: Iterable[tuple[str, int]] | None, session_id: str | None
) -> dict[str, Any]:
    op = "decide"
    if action == "approve":
        if items is not None or session_id is not None:
            raise OperationError(f"{op}: items and session_id are for 'correct'; 'approve' takes neither")
        return {"action": "approve"}
    if items is None:
        raise OperationError(f"{op}: items are required to correct (() if the event moved nothing)")
    merged: dict[str, int] = {}
    for entry in items:
        if not isinstance(entry, tuple | list) or len(entry) != 2:
            raise OperationError(f"{op}: items entry {entry!r} is not a (upc, units) pair")
        upc, units = entry
        if upc not in store.product_by_upc:
            raise OperationError(f"{op}: items UPC {upc!r} is not a product of store {store.name!r}")
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            raise OperationError(f"{op}: items units of {upc} must be an integer > 0, got {units!r}")
        merged[upc] = merged.get(upc, 0) + units
    if session_id is not None and not isinstance(session_id, str):
        raise OperationError(f"{op}: session_id must be a session id or None, got {session_id!r}")
    return {"action": "correct", "items": [[u, q] for u, q in sorted(merged.items())], "session_id": session_id}


def _replay(task: ReviewItemRow, decision: dict[str, Any]) -> ReviewDecision:
    stored = dict(task.decision or {})
    same = {k: stored.get(k) for k in decision} == decision and stored.get("action") == decision["action"]
    if not same:
        shown = {k: stored.get(k) for k in ("action", "items", "session_id") if k in stored}
        raise OperationError(f"decide: review task {task.review_id} was already decided differently: {shown}")
    return ReviewDecision(task.review_id, "event", cast(Action, decision["action"]), task.decided_by or "", True)
