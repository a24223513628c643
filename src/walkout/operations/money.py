"""The money path: charge or refund a receipt through the payment provider, exactly once per key.

Checkout, review corrections and disputes all move money with :func:`pay`. The protocol, per
idempotency key (``charge:<session>``, ``refund:dispute:<id>``, ...):

1. one transaction looks the key up in ``payments``: a stored payment is answered as it is
   (a stored failure raises :class:`~walkout.core.errors.PaymentError` again) and the provider
   is not called; otherwise it reads the session's receipt and the payment method to use;
2. the provider is called with the same key, outside any transaction;
3. a second transaction records the outcome as one ``payments`` row (the key is unique; losing a
   race to another recorder answers the winner's row).

If the process dies between 2 and 3, a retry finds no row, calls the provider again with the same
key, the provider answers the first result (``replayed=True``, nothing moves) and the row is
recorded then: one charge at the provider either way. This is Stripe's idempotency-key recipe
(Brandur Leach, "Implementing Stripe-like Idempotency Keys in Postgres", 2017), with the
provider's own key store as the recovery point.

Charges go to the payer account's default payment method; a refund goes back to the method of
the receipt's latest successful charge, and the refunds of a receipt never exceed its successful
charges. A provider's decline (PaymentError) is recorded as a ``failed`` payment and raised; any
other failure of the provider (unknown outcome) records nothing and propagates, so a retry with
the same key is safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from walkout.carts.payments import PaymentProvider
from walkout.core.errors import OperationError, PaymentError, StorageError
from walkout.engine.db import Database
from walkout.engine.db.models import ReceiptRow, SessionRow
from walkout.engine.db.models_ops import PaymentMethodRow, PaymentRow
from walkout.operations import _checks

Kind = Literal["charge", "refund"]
Status = Literal["succeeded", "failed"]


@dataclass(frozen=True)
class PaymentRecord:
    """Money walkout moved (or tried to move) for a receipt.

    Attributes:
        payment_id: walkout's id of the payment.
        session_id: the shopping session whose receipt it belongs to.
        receipt_id: the receipt's id.
        kind: ``"charge"`` or ``"refund"``.
        amount_cents: amount (> 0) in the minor unit of ``currency``.
        currency: the receipt's ISO 4217 currency.
        idempotency_key: the unique key it was requested with.
        provider: the payment provider's name.
        provider_ref: the provider's id of the executed charge or refund (None if it failed).
        status: ``"succeeded"`` or ``"failed"`` (declined, or no payment method on file).
        reason: why the money moved; for a failure, followed by what the provider said.
        method_id: the payment method charged or refunded (None: the account had none).
        method_label: that method's display label (None: no method).
        created_at: when it was recorded (timezone-aware UTC).
    """

    payment_id: int
    session_id: str
    receipt_id: int
    kind: Kind
    amount_cents: int
    currency: str
    idempotency_key: str
    provider: str
    provider_ref: str | None
    status: Status
    reason: str
    method_id: int | None
    method_label: str | None
    created_at: datetime


@dataclass(frozen=True)
class _Plan:
    """What step 1 found: the receipt and the payment method to charge or refund."""

    session_id: str
    receipt_id: int
    currency: str
    method_id: int | None
    token: str | None


def pay(
    db: Database,
    provider: PaymentProvider,
    *,
    receipt_session_id: str,
    kind: Kind,
    amount_cents: int,
    idempotency_key: str,
    reason: str,
) -> PaymentRecord:
    """Charge or refund ``amount_cents`` on the receipt of session ``receipt_session_id``, once per key.

    Args:
        db: the walkout database.
        provider: the payment provider holding the account's payment methods.
        receipt_session_id: a session with a stored receipt (closed).
        kind: ``"charge"`` (the payer's default method) or ``"refund"`` (back to the method of the
            receipt's latest successful charge).
        amount_cents: integer cents > 0 in the receipt's currency.
        idempotency_key: unique per intended payment (1-128 printable characters, no spaces).
        reason: why (1-200 characters); stored with the payment and sent to the provider.

    Returns:
        The recorded payment (status succeeded); a repeated key returns the stored payment.

    Raises:
        OperationError: a malformed argument, an unknown session or one without a receipt, a key
            already used for another payment, a refund above what the receipt's charges left, or
            a payment method of another provider. Nothing is recorded.
        PaymentError: the provider declined, or the payer has no payment method: recorded as a
            failed payment (a repeat raises again without calling the provider).
        StorageError: the database failed; retry with the same key.
    """
    op = "pay"
    _checks.text(op, "receipt_session_id", receipt_session_id, 64)
    if kind not in ("charge", "refund"):
        raise OperationError(f"{op}: kind {kind!r} must be 'charge' or 'refund'")
    _checks.cents(op, "amount_cents", amount_cents)
    _checks.key(op, idempotency_key)
    _checks.text(op, "reason", reason, 200)
    with db.transaction(op) as s:
        stored = _row_by_key(s, idempotency_key)
        if stored is not None:
            return _replay(s, stored, receipt_session_id, kind, amount_cents)
        plan = _plan(s, provider, receipt_session_id, kind, amount_cents)
    request = _Request(plan, kind, amount_cents, idempotency_key, reason, provider.name)
    if plan.token is None:
        _store(db, request, None, "failed", f"{reason} [failed: no payment method on file]")
        raise PaymentError(f"{op}: {kind} for session {receipt_session_id!r} failed: no payment method on file")
    call = provider.charge if kind == "charge" else provider.refund
    try:
        result = call(plan.token, amount_cents, plan.currency, idempotency_key, reason)
    except PaymentError as exc:
        _store(db, request, None, "failed", f"{reason} [failed: {exc}]")
        raise PaymentError(
            f"{op}: {kind} of {amount_cents} cents for session {receipt_session_id!r} failed: {exc}"
        ) from exc
    if (result.kind, result.amount_cents) != (kind, amount_cents):
        raise OperationError(
            f"{op}: the provider executed idempotency_key {idempotency_key!r} as a {result.kind} of "
            f"{result.amount_cents} cents, not a {kind} of {amount_cents}"
        )
    return _store(db, request, result.provider_ref, "succeeded", reason)


def payments(db: Database, session_id: str) -> list[PaymentRecord]:
    """The payments recorded for a session's receipt, in the order they were recorded."""
    with db.transaction("payments") as s:
        query = (
            select(PaymentRow)
            .join(ReceiptRow, ReceiptRow.receipt_id == PaymentRow.receipt_id)
            .where(ReceiptRow.session_id == session_id)
            .order_by(PaymentRow.payment_id)
        )
        return [_record(s, r) for r in s.scalars(query)]


def payment_by_key(db: Database, idempotency_key: str) -> PaymentRecord | None:
    """The payment recorded under ``idempotency_key``, or None."""
    with db.transaction("payment_by_key") as s:
        row = _row_by_key(s, idempotency_key)
        return None if row is None else _record(s, row)


@dataclass(frozen=True)
class _Request:
    plan: _Plan
    kind: Kind
    amount_cents: int
    key: str
    reason: str
    provider: str


def _plan(s: Session, provider: PaymentProvider, session_id: str, kind: Kind, amount_cents: int) -> _Plan:
    session = s.get(SessionRow, session_id)
    if session is None:
        raise OperationError(f"pay: session {session_id!r} is unknown")
    receipt = s.scalars(select(ReceiptRow).where(ReceiptRow.session_id == session_id)).one_or_none()
    if receipt is None:
        raise OperationError(f"pay: session {session_id!r} has no receipt (it is {session.status})")
    if kind == "charge":
        method = s.scalars(
            select(PaymentMethodRow)
            .where(
                PaymentMethodRow.account_id == session.account_id,
                PaymentMethodRow.removed_at.is_(None),
                PaymentMethodRow.is_default.is_(True),
            )
            .order_by(PaymentMethodRow.method_id.desc())
            .limit(1)
        ).one_or_none()
    else:
        method = _refund_method(s, session_id, receipt.receipt_id, amount_cents)
    if method is not None and method.provider != provider.name:
        raise OperationError(
            f"pay: payment method {method.method_id} belongs to provider {method.provider!r}, not {provider.name!r}"
        )
    token = None if method is None else method.provider_token
    return _Plan(session_id, receipt.receipt_id, receipt.currency, None if method is None else method.method_id, token)


def _refund_method(s: Session, session_id: str, receipt_id: int, amount_cents: int) -> PaymentMethodRow:
    def total(kind: str) -> int:
        query = select(func.coalesce(func.sum(PaymentRow.amount_cents), 0)).where(
            PaymentRow.receipt_id == receipt_id, PaymentRow.kind == kind, PaymentRow.status == "succeeded"
        )
        return int(s.scalar(query) or 0)

    left = total("charge") - total("refund")
    if amount_cents > left:
        raise OperationError(
            f"pay: amount_cents {amount_cents} exceeds the {left} cents charged and not yet refunded on session {session_id!r}"
        )
    charge = s.scalars(
        select(PaymentRow)
        .where(PaymentRow.receipt_id == receipt_id, PaymentRow.kind == "charge", PaymentRow.status == "succeeded")
        .order_by(PaymentRow.payment_id.desc())
        .limit(1)
    ).one()
    method = None if charge.method_id is None else s.get(PaymentMethodRow, charge.method_id)
    if method is None:
        raise OperationError(f"pay: the charge {charge.idempotency_key!r} names no payment method to refund to")
    return method


def _replay(s: Session, row: PaymentRow, session_id: str, kind: Kind, amount_cents: int) -> PaymentRecord:
    record = _record(s, row)
    if (record.session_id, record.kind, record.amount_cents) != (session_id, kind, amount_cents):
        raise OperationError(
            f"pay: idempotency_key {row.idempotency_key!r} was used for a {record.kind} of {record.amount_cents} "
            f"cents on session {record.session_id!r}"
        )
    if record.status == "failed":
        raise PaymentError(f"pay: {kind} {row.idempotency_key!r} failed before: {record.reason}")
    return record


def _store(db: Database, req: _Request, provider_ref: str | None, status: Status, reason: str) -> PaymentRecord:
    """Step 3: record the outcome once; a concurrent recorder's row wins."""
    try:
        with db.transaction("pay") as s:
            row = PaymentRow(
                receipt_id=req.plan.receipt_id,
                kind=req.kind,
                amount_cents=req.amount_cents,
                idempotency_key=req.key,
                provider=req.provider,
                provider_ref=provider_ref,
                method_id=req.plan.method_id,
                status=status,
                reason=reason[:200],
            )
            s.add(row)
            s.flush()
            return _record(s, row)
    except StorageError as exc:
        if not _checks.is_integrity_error(exc):
            raise
        with db.transaction("pay") as s:
            stored = _row_by_key(s, req.key)
            record = None if stored is None else _record(s, stored)
        if record is None:
            raise
        return record


def _row_by_key(s: Session, key: str) -> PaymentRow | None:
    return s.scalars(select(PaymentRow).where(PaymentRow.idempotency_key == key)).one_or_none()


def _record(s: Session, row: PaymentRow) -> PaymentRecord:
    receipt = s.get(ReceiptRow, row.receipt_id)
    assert receipt is not None  # a foreign key
    method = None if row.method_id is None else s.get(PaymentMethodRow, row.method_id)
    return PaymentRecord(
        row.payment_id,
        receipt.session_id,
        row.receipt_id,
        cast(Kind, row.kind),
        row.amount_cents,
        receipt.currency,
        row.idempotency_key,
        row.provider,
        row.provider_ref,
        cast(Status, row.status),
        row.reason,
        row.method_id,
        None if method is None else method.label,
        _checks.utc(row.created_at),
    )
