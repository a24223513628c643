"""Helpers shared by the store-operations modules (private).

Clock handling (every wall-clock stamp is timezone-aware UTC), the proportional tax share of part
of a receipt, the units a receipt's charge was adjusted by after finalization (refunded disputes,
reviewers' corrections), and the plain-text / HTML notices e-mailed to customers.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from walkout.core.errors import OperationError
from walkout.engine.db.models import AccountRow, ReceiptRow, ReviewItemRow, utc_now
from walkout.engine.db.models_ops import DisputeRow

# Keys of a review decision (``review_items.decision``) that record a money adjustment of a
# closed session: a list of {"session_id", "upc", "delta", "amount_cents"}; ``delta`` is the
# change of charged units (< 0: units refunded, > 0: units charged extra).
ADJUSTMENTS = "adjustments"


def aware_utc(op: str, now: datetime | None, field: str = "now") -> datetime:
    """``now`` as timezone-aware UTC (the current time when None).

    Raises:
        OperationError: ``now`` is naive (the message names ``op`` and ``field``).
    """
    if now is None:
        return utc_now()
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise OperationError(f"{op}: {field} {now!r} is not a timezone-aware time (e.g. 2026-11-22T10:00:00+00:00)")
    return now.astimezone(UTC)


def half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up to an integer (``denominator`` > 0)."""
    return int((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def tax_share_cents(part_cents: int, taxable_subtotal_cents: int, receipt_tax_cents: int) -> int:
    """The share of a receipt's sales tax that falls on ``part_cents`` of its taxable subtotal.

    ``receipt_tax_cents * part_cents / taxable_subtotal_cents``, rounded half up to the cent
    (the rounding of :func:`walkout.carts.receipt.tax_cents`); 0 when nothing was taxable.
    """
    if taxable_subtotal_cents <= 0 or part_cents <= 0:
        return 0
    return half_up(receipt_tax_cents * part_cents, taxable_subtotal_cents)


def refunded_dispute_units(s: Session, session_id: str | None = None) -> dict[tuple[str, str], int]:
    """(session_id, upc) -> units refunded through disputes (status refunded), of one session or all."""
    query = (
        select(ReceiptRow.session_id, DisputeRow.upc, DisputeRow.quantity)
        .join(ReceiptRow, ReceiptRow.receipt_id == DisputeRow.receipt_id)
        .where(DisputeRow.status == "refunded")
    )
    if session_id is not None:
        query = query.where(ReceiptRow.session_id == session_id)
    out: dict[tuple[str, str], int] = {}
    for sid, upc, q in s.execute(query):
        out[(sid, upc)] = out.get((sid, upc), 0) + int(q)
    return out


def review_adjusted_units(s: Session, session_id: str | None = None) -> dict[tuple[str, str], int]:
    """(session_id, upc) -> units a reviewer's correction charged extra (> 0) or refunded (< 0) on a
    finalized receipt (the ``adjustments`` of :func:`walkout.operations.review.decide`)."""
    out: dict[tuple[str, str], int] = {}
    rows = s.scalars(select(ReviewItemRow).where(ReviewItemRow.status == "resolved", ReviewItemRow.kind == "event"))
    for row in rows:
        for adj in adjustments_of(row.decision):
            key = (str(adj["session_id"]), str(adj["upc"]))
            if session_id is None or key[0] == session_id:
                out[key] = out.get(key, 0) + int(adj["delta"])
    return out


def adjustments_of(decision: Any) -> list[dict[str, Any]]:
    """The money adjustments a review decision records (empty for none)."""
    if not isinstance(decision, dict):
        return []
    adjustments = decision.get(ADJUSTMENTS) or []
    return [a for a in adjustments if isinstance(a, dict)]


def reviewer(s: Session, op: str, reviewer_id: str) -> AccountRow:
    """The active associate (or manager) account ``reviewer_id``.

    Raises:
        OperationError: unknown, erased or neither an associate nor a manager.
    """
    row = s.get(AccountRow, reviewer_id) if isinstance(reviewer_id, str) else None
    if row is None or row.role not in ("associate", "manager") or row.status != "active":
        raise OperationError(f"{op}: reviewer_id {reviewer_id!r} is not an active associate account")
    return row


def contact(s: Session, account_id: str) -> str | None:
    """The e-mail address of an active account (None if unknown or erased: nothing is sent)."""
    row = s.get(AccountRow, account_id)
    if row is None or row.status == "erased":
        return None
    return row.email


def money(cents: int, currency: str = "USD") -> str:
    """``1234`` -> ``"12.34 USD"``."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d} {currency}"


def notice(title: str, lines: Iterable[str]) -> tuple[str, str]:
    """A short customer notice as (plain text, HTML) with the same content."""
    body = list(lines)
    text = "\n".join([title, "", *body, "", "walkout"]) + "\n"
    items = "".join(f"<p>{html.escape(line)}</p>" for line in body)
    page = f"<!doctype html><html><body><h1>{html.escape(title)}</h1>{items}<p>walkout</p></body></html>"
    return text, page
