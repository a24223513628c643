"""Conversions between ORM rows and walkout values, and the repository's input checks (private)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from walkout.carts.receipt import Receipt, ReceiptLine
from walkout.core.store import PlateId
from walkout.engine.db.models import ReceiptLineRow, ReceiptRow, ReviewItemRow, SessionRow, ShelfEventRow
from walkout.engine.db.records import ReviewRecord, SessionRecord, ShelfEventRecord
from walkout.engine.result import Attribution, ReviewItem
from walkout.events.types import ShelfEvent


class Refused(Exception):
    """An input the repository refuses; turned into StorageError by :meth:`walkout.engine.db.Database._tx`."""


def reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc)
    return text.splitlines()[0] if text else type(exc).__name__


def utc(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)  # SQLite returns naive UTC


def plate(plate_id: str) -> str:
    try:
        return str(PlateId.parse(plate_id))
    except ValueError as exc:
        raise Refused(str(exc)) from exc


def session_record(row: SessionRow) -> SessionRecord:
    status = cast(Literal["open", "exited", "closed", "deleted"], row.status)
    kind = cast(Literal["customer", "staff"], row.kind or "customer")
    return SessionRecord(row.session_id, row.account_id, row.recording, row.entry_t_s, row.exit_t_s, status, kind)


def check_receipt(row: SessionRow, exit_t_s: float, receipt: Receipt) -> None:
    expected = {
        "session_id": (receipt.session_id, row.session_id),
        "account_id": (receipt.account_id, row.account_id),
        "entry_t_s": (receipt.entry_t_s, row.entry_t_s),
        "exit_t_s": (receipt.exit_t_s, exit_t_s),
    }
    for name, (got, want) in expected.items():
        if got != want:
            raise Refused(f"receipt {name} is {got!r}, expected {want!r}")
    lines_cents = sum(line.line_total_cents for line in receipt.lines)
    if receipt.subtotal_cents != lines_cents:
        raise Refused(f"receipt subtotal {receipt.subtotal_cents} != sum of lines {lines_cents}")
    if receipt.total_cents != receipt.subtotal_cents + receipt.tax_cents:
        raise Refused(f"receipt total {receipt.total_cents} != subtotal + tax")


def load_receipt(s: Session, session: SessionRow) -> Receipt | None:
    head = s.scalars(select(ReceiptRow).where(ReceiptRow.session_id == session.session_id)).one_or_none()
    if head is None:
        return None
    query = select(ReceiptLineRow).where(ReceiptLineRow.receipt_id == head.receipt_id).order_by(ReceiptLineRow.line_no)
    lines = tuple(ReceiptLine(r.upc, r.name, r.quantity, r.unit_price_cents, bool(r.taxable)) for r in s.scalars(query))
    return Receipt(
        session.session_id,
        session.account_id,
        head.entry_t_s,
        head.exit_t_s,
        lines,
        head.subtotal_cents,
        head.tax_cents,
        head.total_cents,
        head.currency,
    )


def review_record(row: ReviewItemRow) -> ReviewRecord:
    item = ReviewItem(row.event_id, row.t_s, row.reason, row.confidence, dict(row.evidence), row.session_id)
    return ReviewRecord(row.review_id, row.recording, item, cast(Literal["open", "resolved"], row.status))


def shelf_event_row(event: ShelfEvent, recording: str, attribution: Attribution | None) -> ShelfEventRow:
    if len(event.plates) != len(event.plate_delta_g):
        raise Refused(f"event {event.event_id} has {len(event.plates)} plates but {len(event.plate_delta_g)} deltas")
    deltas: dict[str, Any] = {str(p): float(d) for p, d in zip(event.plates, event.plate_delta_g, strict=True)}
    a = attribution
    return ShelfEventRow(
        recording=recording,
        event_id=event.event_id,
        gondola=event.gondola,
        shelf=event.shelf,
        t_start_s=event.t_start_s,
        t_end_s=event.t_end_s,
        delta_g=event.delta_g,
        kind=event.kind,
        plate_delta_g=deltas,
        items=[[u, int(q)] for u, q in a.items] if a else [],
        session_id=a.session_id if a else None,
        confidence=a.confidence if a else None,
    )


def shelf_event_record(row: ShelfEventRow) -> ShelfEventRecord:
    return ShelfEventRecord(
        row.recording,
        row.event_id,
        row.gondola,
        row.shelf,
        row.t_start_s,
        row.t_end_s,
        row.delta_g,
        cast(Literal["pick", "putback"], row.kind),
        {k: float(v) for k, v in row.plate_delta_g.items()},
        tuple((str(u), int(q)) for u, q in row.items),
        row.session_id,
        row.confidence,
    )
