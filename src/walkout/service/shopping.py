"""What a customer sees and does: the current session and cart, receipts, disputes, entry tokens,
payment methods. Also the receipt and dispute views the staff routes share.

Every function that takes an ``account_id`` answers only about that account: another account's
session, receipt or dispute is reported as missing (None, or :class:`~walkout.service.errors.NotFound`),
never shown, so an id reveals nothing about whether it exists.
"""

from __future__ import annotations

import io
import secrets
import time
from collections.abc import Mapping
from typing import Literal, cast

import segno
from sqlalchemy import select

from walkout.carts.entry import ENTRY_TOKEN_TTL_S, account_key, issue_entry_token
from walkout.carts.payments import PaymentProvider
from walkout.core.errors import OperationError
from walkout.core.store import Store
from walkout.engine.db import Database
from walkout.engine.db.models import ReceiptRow, SessionRow
from walkout.engine.db.models_ops import DisputeRow
from walkout.operations import accounts, disputes, money
from walkout.operations.disputes import DisputeParams
from walkout.service.errors import NotFound
from walkout.service.schemas import (
    CartLinePublic,
    CurrentSessionPublic,
    DisputePublic,
    EntryTokenPublic,
    PaymentMethodPublic,
    PaymentPublic,
    ReceiptLinePublic,
    ReceiptPublic,
    ReceiptSummaryPublic,
)

DisputeStatus = Literal["refunded", "in_review", "rejected"]


def priced_cart(store: Store, cart: Mapping[str, int]) -> tuple[list[CartLinePublic], int]:
    """Cart lines at catalogue prices (a UPC the store does not sell shows as itself at 0) and their sum."""
    lines = []
    for upc, quantity in sorted(cart.items()):
        product = store.product_by_upc.get(upc)
        price = product.price_cents if product is not None else 0
        lines.append(
            CartLinePublic(upc=upc, name=product.name if product else upc, quantity=quantity, unit_price_cents=price)
        )
    return lines, sum(line.quantity * line.unit_price_cents for line in lines)


def current_session(db: Database, store: Store, account_id: str) -> CurrentSessionPublic:
    """The account's newest customer session still in progress (open, or exited and not yet
    finalized) with its cart, or an empty answer when the account is not in the store."""
    with db.transaction("current_session") as s:
        row = s.scalars(
            select(SessionRow)
            .where(
                SessionRow.account_id == account_id,
                SessionRow.kind == "customer",
                SessionRow.status.in_(("open", "exited")),
            )
            .order_by(SessionRow.created_at.desc(), SessionRow.entry_t_s.desc())
            .limit(1)
        ).one_or_none()
        found = None if row is None else (row.session_id, row.status, row.entry_t_s)
    if found is None:
        return CurrentSessionPublic(session_id=None, status=None, entry_t_s=None, cart=[], subtotal_cents=0)
    lines, subtotal = priced_cart(store, db.cart(found[0]))
    status = cast(Literal["open", "exited"], found[1])
    return CurrentSessionPublic(
        session_id=found[0], status=status, entry_t_s=found[2], cart=lines, subtotal_cents=subtotal
    )


def entry_token(store_secret: bytes, account_id: str, now_unix_s: float | None = None) -> EntryTokenPublic:
    """A fresh signed rotating entry token of the account and its QR code as an SVG document.

    The token is :func:`walkout.carts.entry.issue_entry_token` under the account's key
    (:func:`walkout.carts.entry.account_key` of the store secret) with an 8-byte random nonce;
    the QR code is segno's, error correction M, 4-module quiet zone (ISO/IEC 18004).

    Raises:
        OperationError: the account id cannot be put in an entry token (not ``[A-Za-z0-9_-]{1,64}``).
    """
    issued = int(time.time() if now_unix_s is None else now_unix_s)
    try:
        token = issue_entry_token(account_key(store_secret, account_id), account_id, issued, secrets.token_bytes(8))
    except ValueError as exc:
        raise OperationError(f"entry_token: {exc}") from exc
    buffer = io.BytesIO()
    segno.make(token, error="m", micro=False).save(
        buffer, kind="svg", scale=4, border=4, xmldecl=False, title="walkout entry code"
    )
    return EntryTokenPublic(
        token=token, svg=buffer.getvalue().decode("utf-8"), issued_unix_s=issued, expires_in_s=ENTRY_TOKEN_TTL_S
    )


def payment_methods(db: Database, account_id: str) -> list[PaymentMethodPublic]:
    """The account's usable payment methods (label, provider, default flag; never the provider token)."""
    return [PaymentMethodPublic.model_validate(m) for m in accounts.payment_methods(db, account_id)]


def add_payment_method(db: Database, provider: PaymentProvider, account_id: str, label: str) -> PaymentMethodPublic:
    """Vault a payment method with ``provider`` (:func:`walkout.operations.accounts.add_payment_method`)."""
    return PaymentMethodPublic.model_validate(accounts.add_payment_method(db, provider, account_id, label))


# ---------------------------------------------------------------- receipts
def receipts_of(db: Database, account_id: str) -> list[ReceiptSummaryPublic]:
    """The account's receipts, newest first."""
    with db.transaction("receipts_of") as s:
        rows = s.execute(
            select(ReceiptRow)
            .join(SessionRow, SessionRow.session_id == ReceiptRow.session_id)
            .where(SessionRow.account_id == account_id)
            .order_by(ReceiptRow.created_at.desc(), ReceiptRow.receipt_id.desc())
        ).scalars()
        heads = [(r.session_id, r.total_cents, r.currency, r.entry_t_s, r.exit_t_s, r.created_at) for r in rows]
    out = []
    for session_id, total, currency, entry, exit_, created in heads:
        receipt = db.receipt(session_id)
        n = 0 if receipt is None else len(receipt.lines)
        out.append(
            ReceiptSummaryPublic(
                session_id=session_id,
                total_cents=total,
                currency=currency,
                lines=n,
                entry_t_s=entry,
                exit_t_s=exit_,
                created_at=created,
            )
        )
    return out


def receipt(db: Database, session_id: str, account_id: str | None = None) -> ReceiptPublic | None:
    """The receipt of a session with its payments and disputes (None: no receipt, or with
    ``account_id`` given, a session of another account)."""
    session = db.session(session_id)
    if session is None or (account_id is not None and session.account_id != account_id):
        return None
    stored = db.receipt(session_id)
    if stored is None:
        return None
    lines = [
        ReceiptLinePublic(
            line_no=i,
            upc=x.upc,
            name=x.name,
            quantity=x.quantity,
            unit_price_cents=x.unit_price_cents,
            taxable=x.taxable,
            line_total_cents=x.line_total_cents,
        )
        for i, x in enumerate(stored.lines)
    ]
    pays = [PaymentPublic.model_validate(p) for p in money.payments(db, session_id)]
    return ReceiptPublic(
        session_id=stored.session_id,
        account_id=stored.account_id,
        entry_t_s=stored.entry_t_s,
        exit_t_s=stored.exit_t_s,
        lines=lines,
        subtotal_cents=stored.subtotal_cents,
        tax_cents=stored.tax_cents,
        total_cents=stored.total_cents,
        currency=stored.currency,
        payments=pays,
        disputes=dispute_list(db, session_id=session_id),
    )


# ---------------------------------------------------------------- disputes
def dispute_list(
    db: Database, *, account_id: str | None = None, session_id: str | None = None, status: DisputeStatus | None = None
) -> list[DisputePublic]:
    """Disputes (of one account, one session's receipt, one status, or all), newest first."""
    query = (
        select(DisputeRow, ReceiptRow.session_id, SessionRow.account_id)
        .join(ReceiptRow, ReceiptRow.receipt_id == DisputeRow.receipt_id)
        .join(SessionRow, SessionRow.session_id == ReceiptRow.session_id)
        .order_by(DisputeRow.dispute_id.desc())
    )
    if account_id is not None:
        query = query.where(SessionRow.account_id == account_id)
    if session_id is not None:
        query = query.where(ReceiptRow.session_id == session_id)
    if status is not None:
        query = query.where(DisputeRow.status == status)
    with db.transaction("dispute_list") as s:
        return [_dispute(row, sid, aid) for row, sid, aid in s.execute(query)]


def dispute_of(db: Database, dispute_id: int, account_id: str | None = None) -> DisputePublic | None:
    """One dispute (None: unknown, or with ``account_id`` given, another account's)."""
    query = (
        select(DisputeRow, ReceiptRow.session_id, SessionRow.account_id)
        .join(ReceiptRow, ReceiptRow.receipt_id == DisputeRow.receipt_id)
        .join(SessionRow, SessionRow.session_id == ReceiptRow.session_id)
        .where(DisputeRow.dispute_id == dispute_id)
    )
    with db.transaction("dispute_of") as s:
        found = s.execute(query).one_or_none()
        if found is None or (account_id is not None and found[2] != account_id):
            return None
        return _dispute(*found)


def open_dispute(
    db: Database,
    provider: PaymentProvider,
    store: Store,
    params: DisputeParams,
    *,
    account_id: str,
    session_id: str,
    line_no: int,
    quantity: int,
    reason: str,
) -> DisputePublic:
    """Dispute units of a line of the account's own receipt (:func:`walkout.operations.disputes.open_dispute`):
    refunded at once up to ``params.auto_refund_max_cents``, else queued for review.

    Raises:
        NotFound: no receipt of this account for ``session_id``.
        OperationError: a bad line, quantity or reason.
    """
    if receipt(db, session_id, account_id) is None:
        raise NotFound(f"open_dispute: no receipt {session_id!r}")
    outcome = disputes.open_dispute(
        db,
        provider,
        store=store,
        account_id=account_id,
        session_id=session_id,
        line_no=line_no,
        quantity=quantity,
        reason=reason,
        params=params,
    )
    view = dispute_of(db, outcome.dispute_id, account_id)
    assert view is not None
    return view


def _dispute(row: DisputeRow, session_id: str, account_id: str) -> DisputePublic:
    return DisputePublic(
        dispute_id=row.dispute_id,
        session_id=session_id,
        account_id=account_id,
        line_no=row.line_no,
        upc=row.upc,
        quantity=row.quantity,
        amount_cents=row.amount_cents,
        status=cast(DisputeStatus, row.status),
        review_id=row.review_id,
        reason=row.reason,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
    )
