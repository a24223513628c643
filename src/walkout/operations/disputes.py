"""Disputes: a customer contests units of a line on their own receipt.

:func:`open_dispute` prices the disputed units (quantity x unit price, plus their share of the
receipt's sales tax for a taxable line) and then either

- refunds them at once when the amount is at most :attr:`DisputeParams.auto_refund_max_cents`
  (small disputes cost more to review than to refund: the usual retail policy), or
- queues a review task (``kind`` dispute, ``event_id`` = the dispute id) with the evidence: the
  receipt line, the shelf events the engine logged for that session involving the UPC (their
  plate weight changes and confidences) and the cart ledger lines of that UPC.

A reviewer decides the task through :func:`walkout.operations.review.decide`, which calls
:func:`resolve_dispute_review`: ``approve`` refunds, ``reject`` (or ``correct``: the engine's
charge stands) rejects. Every refund is a ``payments`` row made by
:func:`walkout.operations.money.pay` with the key ``refund:dispute:<id>`` and an e-mail queued in
the outbox; a rejection is e-mailed too.

Steps that call the payment provider cannot share a transaction with it (the provider is
outside the database), so each step is idempotent and retried safely: a dispute row is written
first (status ``in_review``), then the refund is paid (one payment per key, however often it is
retried), then the dispute is marked ``refunded``. :func:`settle_pending` finishes automatic
refunds that a crash interrupted between those steps.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from walkout.carts import render
from walkout.carts.payments import PaymentProvider
from walkout.core.errors import OperationError, PaymentError
from walkout.core.store import Store
from walkout.engine.db import Database
from walkout.engine.db.models import (
    CartLineRow,
    ReceiptLineRow,
    ReceiptRow,
    ReviewItemRow,
    SessionRow,
    ShelfEventRow,
)
from walkout.engine.db.models_ops import DisputeRow, PaymentRow
from walkout.operations import _checks, money, outbox
from walkout.operations._common import aware_utc, notice, review_adjusted_units, reviewer, tax_share_cents

__all__ = [
    "DISPUTE_REASON",
    "DisputeOutcome",
    "DisputeParams",
    "dispute",
    "open_dispute",
    "resolve_dispute_review",
    "settle_pending",
]

DISPUTE_REASON = "disputed receipt line"  # the review task's reason (its event_id is the dispute id)
Status = Literal["refunded", "in_review", "rejected"]


@dataclass(frozen=True)
class DisputeParams:
    """Dispute policy.

    Attributes:
        auto_refund_max_cents: disputes of at most this amount (tax included) are refunded at
            once without review; larger ones go to a reviewer.
    """

    auto_refund_max_cents: int = 500

    def __post_init__(self) -> None:
        _checks.cents("DisputeParams", "auto_refund_max_cents", self.auto_refund_max_cents, positive=False)


@dataclass(frozen=True)
class DisputeOutcome:
    """A dispute and where it stands.

    Attributes:
        dispute_id: the dispute's id.
        session_id: the session whose receipt is disputed.
        line_no: the receipt line (0-based, the receipt's line order).
        upc: the line's product.
        quantity: units disputed.
        amount_cents: their price plus tax share, integer cents.
        status: ``refunded``, ``in_review`` or ``rejected``.
        review_id: the review task (None: refunded without review).
        payment_id: the refund payment (None: not refunded, or nothing to pay).
        note: why an automatic refund went to review instead (e.g. the provider declined).
    """

    dispute_id: int
    session_id: str
    line_no: int
    upc: str
    quantity: int
    amount_cents: int
    status: Status
    review_id: int | None
    payment_id: int | None = None
    note: str = ""


def open_dispute(
    db: Database,
    provider: PaymentProvider,
    *,
    store: Store,
    account_id: str,
    session_id: str,
    line_no: int,
    quantity: int,
    reason: str,
    params: DisputeParams = DisputeParams(),
    now: datetime | None = None,
) -> DisputeOutcome:
    """Dispute ``quantity`` units of line ``line_no`` of the account's own receipt.

    Args:
        db: the database.
        provider: the payment provider that refunds.
        store: the store (for the refund e-mail).
        account_id: the customer disputing (must own the session).
        session_id: a closed session of that account (its receipt is stored).
        line_no: the receipt line, 0-based.
        quantity: units disputed, at most those charged on the line minus those already
            disputed (in any state) or refunded by a reviewer.
        reason: the customer's words (1-500 characters).
        params: the dispute policy.
        now: the decision time stamped on a refunded dispute (aware; default: now).

    Returns:
        The dispute: ``refunded`` (amount <= threshold) or ``in_review``. If the provider declines
        the automatic refund, the dispute goes to review and ``note`` says why.

    Raises:
        OperationError: naming the field: another account's or an unknown session, a session
            without receipt, an unknown line, a quantity that is not a positive integer or
            exceeds what can be disputed, a bad reason.
        StorageError: the database failed (nothing written).
    """
    op = "open_dispute"
    for name, value, low in (("line_no", line_no, 0), ("quantity", quantity, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise OperationError(f"{op}: {name} must be an integer >= {low}, got {value!r}")
    _checks.text(op, "reason", reason, 500)
    t = aware_utc(op, now)
    with db.transaction(op) as s:
        row = _new_dispute(s, account_id, session_id, line_no, quantity, reason)
        if row.amount_cents > params.auto_refund_max_cents:
            _queue_review(s, row, "")
            return _outcome(s, row)
        dispute_id = row.dispute_id
    return _refund(db, provider, store, dispute_id, t, review=None)


def _new_dispute(s: Session, account_id: str, session_id: str, line_no: int, quantity: int, reason: str) -> DisputeRow:
    op = "open_dispute"
    session = s.get(SessionRow, session_id) if isinstance(session_id, str) else None
    if session is None or session.account_id != account_id:
        raise OperationError(f"{op}: session_id {session_id!r} is not a session of account {account_id!r}")
    receipt = s.scalars(select(ReceiptRow).where(ReceiptRow.session_id == session_id)).one_or_none()
    if receipt is None:
        raise OperationError(f"{op}: session_id {session_id!r} has no receipt yet (it is {session.status})")
    lines = {
        r.line_no: r for r in s.scalars(select(ReceiptLineRow).where(ReceiptLineRow.receipt_id == receipt.receipt_id))
    }
    line = lines.get(line_no)
    if line is None:
        raise OperationError(
            f"{op}: line_no {line_no} is not a line of the receipt of session {session_id!r} "
            f"(it has {len(lines)} lines, numbered from 0)"
        )
    disputed = s.scalar(
        select(func.coalesce(func.sum(DisputeRow.quantity), 0)).where(
            DisputeRow.receipt_id == receipt.receipt_id, DisputeRow.line_no == line_no
        )
    )
    charged = line.quantity + review_adjusted_units(s, session_id).get((session_id, line.upc), 0)
    left = charged - int(disputed or 0)
    if quantity > left:
        raise OperationError(
            f"{op}: quantity {quantity} exceeds the {max(left, 0)} units of line {line_no} charged and not yet disputed"
        )
    part = quantity * line.unit_price_cents
    taxable = sum(r.quantity * r.unit_price_cents for r in lines.values() if r.taxable)
    amount = part + (tax_share_cents(part, taxable, receipt.tax_cents) if line.taxable else 0)
    promised = s.scalar(
        select(func.coalesce(func.sum(DisputeRow.amount_cents), 0)).where(
            DisputeRow.receipt_id == receipt.receipt_id, DisputeRow.status != "rejected"
        )
    )
    unpromised = receipt.total_cents - int(promised or 0)  # tax shares rounded up never add up past the total
    amount = max(min(amount, unpromised), 0)
    row = DisputeRow(
        receipt_id=receipt.receipt_id,
        line_no=line_no,
        upc=line.upc,
        quantity=quantity,
        amount_cents=amount,
        reason=reason,
        status="in_review",
    )
    s.add(row)
    s.flush()
    return row


def _queue_review(s: Session, row: DisputeRow, note: str) -> None:
    """Create the dispute's review task with its evidence (idempotent) and link it."""
    receipt = s.get(ReceiptRow, row.receipt_id)
    assert receipt is not None  # the foreign key guarantees it
    session = s.get(SessionRow, receipt.session_id)
    assert session is not None
    existing = s.scalars(
        select(ReviewItemRow).where(ReviewItemRow.kind == "dispute", ReviewItemRow.event_id == row.dispute_id)
    ).first()
    if existing is None:
        evidence = _evidence(s, row, session)
        confidences = [c["confidence"] for c in evidence["cart_lines"]]
        existing = ReviewItemRow(
            recording=session.recording,
            event_id=row.dispute_id,
            t_s=session.exit_t_s or session.entry_t_s,
            reason=DISPUTE_REASON if not note else f"{DISPUTE_REASON}: {note}"[:255],
            confidence=min(confidences, default=0.0),
            evidence=evidence,
            status="open",
            kind="dispute",
            session_id=session.session_id,
        )
        s.add(existing)
        s.flush()
    row.review_id = existing.review_id


_EVENT_FIELDS = ("event_id", "kind", "t_start_s", "t_end_s", "delta_g", "plate_delta_g", "items", "confidence")
_LINE_FIELDS = ("line_no", "upc", "name", "quantity", "unit_price_cents", "taxable")
_CART_FIELDS = ("event_id", "quantity_delta", "applied_delta", "t_s", "confidence")


def _evidence(s: Session, row: DisputeRow, session: SessionRow) -> dict[str, Any]:
    """The disputed line, the session's logged shelf events involving its UPC (plate weight changes
    in grams, confidences) and the session's cart ledger lines of that UPC."""
    line = s.get(ReceiptLineRow, (row.receipt_id, row.line_no))
    assert line is not None
    query = select(ShelfEventRow).where(
        ShelfEventRow.recording == session.recording, ShelfEventRow.session_id == session.session_id
    )
    events = [ev for ev in s.scalars(query.order_by(ShelfEventRow.event_id)) if any(u == row.upc for u, _ in ev.items)]
    cart = s.scalars(
        select(CartLineRow)
        .where(CartLineRow.session_id == session.session_id, CartLineRow.upc == row.upc)
        .order_by(CartLineRow.line_id)
    )
    return {
        "dispute_id": row.dispute_id,
        "line": {k: getattr(line, k) for k in _LINE_FIELDS} | {"taxable": bool(line.taxable)},
        "quantity": row.quantity,
        "amount_cents": row.amount_cents,
        "shelf_events": [{k: getattr(ev, k) for k in _EVENT_FIELDS} for ev in events],
        "cart_lines": [{k: getattr(c, k) for k in _CART_FIELDS} for c in cart],
    }


def _refund(
    db: Database,
    provider: PaymentProvider,
    store: Store,
    dispute_id: int,
    t: datetime,
    review: tuple[int, dict[str, Any], str] | None,
) -> DisputeOutcome:
    """Pay a dispute's refund (once per key), mark it refunded (and resolve its review task), mail it.

    ``review`` is (review id, decision, reviewer) for a reviewer's approval, whose payment errors
    propagate; None for an automatic refund, which goes to review instead when it cannot be paid.
    """
    with db.transaction("refund_dispute") as s:
        row = _dispute_row(s, "refund_dispute", dispute_id)
        line = s.get(ReceiptLineRow, (row.receipt_id, row.line_no))
        what = f"{row.quantity} x {line.name if line is not None else row.upc}"
        session_id, amount = _outcome(s, row).session_id, row.amount_cents
        key = _refund_key(s, dispute_id)
    payment = None
    if amount > 0:
        try:
            payment = money.pay(
                db,
                provider,
                receipt_session_id=session_id,
                kind="refund",
                amount_cents=amount,
                idempotency_key=key,
                reason=f"dispute {dispute_id}: {what}"[:200],
            )
        except (PaymentError, OperationError) as exc:  # declined, or nothing left to refund: a person decides
            if review is not None:
                raise
            return _to_review(db, dispute_id, f"automatic refund failed: {exc}")
    payment_id = None if payment is None else payment.payment_id
    with db.transaction("refund_dispute") as s:
        row = _dispute_row(s, "refund_dispute", dispute_id)
        row.status = "refunded"
        row.resolved_at = row.resolved_at or t
        if review is not None:
            _resolve_task(s, review[0], {**review[1], "payment_id": payment_id}, review[2], t)
        out = _outcome(s, row, payment_id)
    if payment is not None:
        text_html = _refund_bodies(db, store, session_id, amount, f"Disputed: {what}", payment.method_label)
        if text_html is not None:
            subject = f"Your refund from {store.name}"
            _enqueue(db, f"refund:dispute:{dispute_id}", "refund", session_id, subject, *text_html)
    return out


def _to_review(db: Database, dispute_id: int, note: str) -> DisputeOutcome:
    with db.transaction("open_dispute") as s:
        row = _dispute_row(s, "open_dispute", dispute_id)
        _queue_review(s, row, note)
        out = _outcome(s, row)
    return replace(out, note=note)


def _refund_bodies(
    db: Database, store: Store, session_id: str, amount: int, reason: str, label: str | None
) -> tuple[str, str] | None:
    receipt = db.receipt(session_id)
    account = None if receipt is None else db.account(receipt.account_id)
    if receipt is None or account is None or account.status != "active":
        return None
    kw: dict[str, Any] = {
        "customer_name": account.name,
        "amount_cents": amount,
        "reason": reason,
        "payment_label": label,
    }
    return render.refund_text(receipt, store, **kw), render.refund_html(receipt, store, **kw)


def _enqueue(db: Database, key: str, kind: str, session_id: str, subject: str, text: str, html: str) -> None:
    """Queue an e-mail to the payer of ``session_id`` (nothing for an erased account)."""
    session = db.session(session_id)
    account = None if session is None else db.account(session.account_id)
    if account is None or account.status != "active":
        return
    outbox.enqueue(
        db,
        idempotency_key=key,
        account_id=account.account_id,
        kind=kind,
        to_addr=account.email,
        subject=subject,
        body_text=text,
        body_html=html,
    )


def _resolve_task(s: Session, review_id: int, decision: dict[str, Any], reviewer_id: str, t: datetime) -> None:
    task = s.get(ReviewItemRow, review_id)
    if task is not None and task.status != "resolved":
        task.status, task.decision, task.decided_by, task.resolved_at = "resolved", decision, reviewer_id, t


def resolve_dispute_review(
    db: Database,
    provider: PaymentProvider,
    review_id: int,
    *,
    store: Store,
    reviewer_id: str,
    action: Literal["approve", "reject"],
    now: datetime | None = None,
) -> DisputeOutcome:
    """A reviewer's verdict on a dispute task: ``approve`` refunds it, ``reject`` rejects it.

    Both resolve the review task (decision, decided_by, resolved_at) and queue an e-mail to the
    customer. Idempotent: the same verdict again returns the dispute as it is.

    Raises:
        OperationError: an unknown review id or one that is not a dispute task, an unknown
            action or reviewer, or a task already resolved with the other verdict.
        PaymentError: the provider declined the refund (the task stays open).
    """
    op = "resolve_dispute_review"
    if action not in ("approve", "reject"):
        raise OperationError(f"{op}: action {action!r} must be 'approve' or 'reject' for a dispute")
    t = aware_utc(op, now)
    decision: dict[str, Any] = {"action": action}
    with db.transaction(op) as s:
        reviewer(s, op, reviewer_id)
        task = s.get(ReviewItemRow, review_id) if isinstance(review_id, int) else None
        if task is None or task.kind != "dispute":
            raise OperationError(f"{op}: review_id {review_id!r} is not a dispute review task")
        row = _dispute_row(s, op, task.event_id)
        dispute_id = row.dispute_id
        if task.status == "resolved":
            if (task.decision or {}).get("action") != action:
                raise OperationError(f"{op}: review task {review_id} was already decided: {task.decision}")
            return _outcome(s, row, _payment_id(s, row))
        if action == "reject":
            row.status, row.resolved_at = "rejected", t
            _resolve_task(s, review_id, decision, reviewer_id, t)
            out = _outcome(s, row)
    if action == "approve":
        return _refund(db, provider, store, dispute_id, t, (review_id, decision, reviewer_id))
    product = store.product_by_upc.get(out.upc)
    text, html = notice(
        f"Your dispute at {store.name}",
        [
            f"We reviewed your dispute of {out.quantity} x {product.name if product else out.upc} on receipt "
            f"{out.session_id}.",
            "The shelf sensors and the store's records show the item(s) leaving with you, so the charge stands.",
            "Reply to this e-mail if you believe this is wrong.",
        ],
    )
    _enqueue(
        db, f"dispute:{dispute_id}:rejected", "dispute", out.session_id, f"Your dispute at {store.name}", text, html
    )
    return out


def settle_pending(
    db: Database, provider: PaymentProvider, *, store: Store, now: datetime | None = None
) -> list[DisputeOutcome]:
    """Finish automatic refunds a crash interrupted (disputes ``in_review`` without a review task).

    Each is paid with its usual key (a refund the provider already executed is not repeated),
    marked refunded and e-mailed; a declined one goes to review as in :func:`open_dispute`.
    """
    t = aware_utc("settle_pending", now)
    with db.transaction("settle_pending") as s:
        ids = list(
            s.scalars(
                select(DisputeRow.dispute_id)
                .where(DisputeRow.status == "in_review", DisputeRow.review_id.is_(None))
                .order_by(DisputeRow.dispute_id)
            )
        )
    return [_refund(db, provider, store, i, t, review=None) for i in ids]


def dispute(db: Database, dispute_id: int) -> DisputeOutcome | None:
    """A dispute as it stands, or None."""
    with db.transaction("dispute") as s:
        row = s.get(DisputeRow, dispute_id)
        return None if row is None else _outcome(s, row, _payment_id(s, row))


def _dispute_row(s: Session, op: str, dispute_id: int) -> DisputeRow:
    row = s.get(DisputeRow, dispute_id)
    if row is None:
        raise OperationError(f"{op}: dispute {dispute_id} is unknown")
    return row


def _refund_key(s: Session, dispute_id: int) -> str:
    """The refund's idempotency key: ``refund:dispute:<id>``, or ``...:<n>`` after n - 1 declined tries.

    A declined payment is stored under its key (a repeat raises again), so a reviewer's approval
    after a declined automatic refund pays under the next key.
    """
    base = f"refund:dispute:{dispute_id}"
    failed = s.scalars(
        select(PaymentRow.idempotency_key).where(
            PaymentRow.status == "failed",
            (PaymentRow.idempotency_key == base) | PaymentRow.idempotency_key.startswith(base + ":"),
        )
    )
    return base if not (tried := set(failed)) else f"{base}:{len(tried) + 1}"


def _payment_id(s: Session, row: DisputeRow) -> int | None:
    base = f"refund:dispute:{row.dispute_id}"
    found = s.scalar(
        select(PaymentRow.payment_id).where(
            (PaymentRow.idempotency_key == base) | PaymentRow.idempotency_key.startswith(base + ":"),
            PaymentRow.status == "succeeded",
        )
    )
    return None if found is None else int(found)


def _outcome(s: Session, row: DisputeRow, payment_id: int | None = None) -> DisputeOutcome:
    receipt = s.get(ReceiptRow, row.receipt_id)
    assert receipt is not None
    return DisputeOutcome(
        row.dispute_id,
        receipt.session_id,
        row.line_no,
        row.upc,
        row.quantity,
        row.amount_cents,
        cast(Status, row.status),
        row.review_id,
        payment_id,
    )
