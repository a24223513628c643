"""SQLAlchemy ORM models of the walkout database (private to :mod:`walkout.engine.db`).

The schema is created and changed only by the Alembic migrations in ``migrations/versions``;
``tests/engine/test_db_migrations.py`` fails when these models and the migrations drift apart.

Types are kept portable (SQLite and PostgreSQL): money as Integer cents, times as Float seconds
on the recording clock, wall-clock stamps as timezone-aware UTC ``DateTime``, documents as
``JSON``. Constraint names follow :data:`NAMING_CONVENTION` so migrations can address them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(64)
UPC = String(32)
RECORDING = String(200)


def utc_now() -> datetime:
    """The current wall-clock time, timezone-aware UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base holding the walkout metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class AccountRow(Base):
    """A shopper (``customer``), a store associate or a store manager (``role``).

    ``token`` is the account's static app id (the demo recordings' scans carried it before entry
    tokens rotated). ``status`` is ``active`` or ``erased`` (personal fields overwritten, see
    :mod:`walkout.operations.privacy`).
    """

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("role IN ('customer', 'associate', 'manager')", name="role"),
        CheckConstraint("status IN ('active', 'erased')", name="status"),
    )

    account_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    token: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8), default="active", server_default="active")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SessionRow(Base):
    """A shopping session of one account (one payer) on one recording.

    Status: ``open`` (someone of the group is inside) -> ``exited`` (the last member left; the
    receipt waits for open review tasks) -> ``closed`` (finalized: receipt stored). ``deleted``:
    a second scan by a shopper already inside with nothing in the cart. ``kind`` is ``customer``
    or ``staff`` (an associate restocking: no cart, no receipt).
    """

    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint(
            "(status = 'open' AND exit_t_s IS NULL) OR (status IN ('exited', 'closed') AND exit_t_s IS NOT NULL)"
            " OR status = 'deleted'",
            name="status_exit",
        ),
        CheckConstraint("kind IN ('customer', 'staff')", name="kind"),
    )

    session_id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.account_id"), index=True)
    recording: Mapped[str] = mapped_column(RECORDING, index=True)
    entry_t_s: Mapped[float] = mapped_column(Float)
    exit_t_s: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(8), default="customer", server_default="customer")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    exited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CartLineRow(Base):
    """One append-only cart ledger entry; the cart is ``SUM(applied_delta)`` per UPC.

    ``quantity_delta`` is what the engine asked for (pick > 0, put-back < 0); ``applied_delta``
    is what moved the cart after clamping at zero (a put-back of a unit the cart never held).
    ``(session_id, event_id, upc)`` is the idempotency key.
    """

    __tablename__ = "cart_lines"
    __table_args__ = (
        UniqueConstraint("session_id", "event_id", "upc"),
        CheckConstraint("quantity_delta <> 0", name="nonzero"),
        CheckConstraint("applied_delta * quantity_delta >= 0", name="applied_sign"),
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence"),
    )

    line_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.session_id"))
    event_id: Mapped[int] = mapped_column(Integer)
    upc: Mapped[str] = mapped_column(UPC)
    quantity_delta: Mapped[int] = mapped_column(Integer)
    applied_delta: Mapped[int] = mapped_column(Integer)
    t_s: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class ReceiptRow(Base):
    """The receipt of a closed session (at most one per session)."""

    __tablename__ = "receipts"
    __table_args__ = (
        CheckConstraint("subtotal_cents >= 0 AND tax_cents >= 0", name="amounts"),
        CheckConstraint("total_cents = subtotal_cents + tax_cents", name="total"),
    )

    receipt_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.session_id"), unique=True)
    subtotal_cents: Mapped[int] = mapped_column(Integer)
    tax_cents: Mapped[int] = mapped_column(Integer)
    total_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    entry_t_s: Mapped[float] = mapped_column(Float)
    exit_t_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class ReceiptLineRow(Base):
    """One receipt line; ``line_no`` keeps the receipt's line order."""

    __tablename__ = "receipt_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("unit_price_cents >= 0", name="price"),
    )

    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.receipt_id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    upc: Mapped[str] = mapped_column(UPC)
    name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    taxable: Mapped[bool] = mapped_column(Boolean)


class PlateStockRow(Base):
    """Live inventory: ``count`` units of ``upc`` on plate ``plate_id`` ("G.S.P")."""

    __tablename__ = "plate_stock"
    __table_args__ = (CheckConstraint("count >= 0", name="count"),)

    plate_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    upc: Mapped[str] = mapped_column(UPC, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class ReviewItemRow(Base):
    """A review task: a low-confidence decision (``kind`` event) or a disputed receipt line (``kind``
    dispute, ``event_id`` = the dispute id), with its evidence; idempotent per (recording, event, reason).

    ``decision`` is the reviewer's verdict (``{"action": "approve" | "correct", ...}``).
    """

    __tablename__ = "review_items"
    __table_args__ = (
        UniqueConstraint("recording", "event_id", "reason"),
        CheckConstraint("status IN ('open', 'resolved')", name="status"),
        CheckConstraint("kind IN ('event', 'dispute')", name="kind"),
    )

    review_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording: Mapped[str] = mapped_column(RECORDING)
    event_id: Mapped[int] = mapped_column(Integer)
    t_s: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(255))
    confidence: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(8), index=True)
    kind: Mapped[str] = mapped_column(String(8), default="event", server_default="event")
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.session_id"), index=True)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    decided_by: Mapped[str | None] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ShelfEventRow(Base):
    """The log of shelf events and what the engine decided for each (one row per recording event)."""

    __tablename__ = "shelf_events"
    __table_args__ = (
        UniqueConstraint("recording", "event_id"),
        CheckConstraint("kind IN ('pick', 'putback')", name="kind"),
    )

    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording: Mapped[str] = mapped_column(RECORDING)
    event_id: Mapped[int] = mapped_column(Integer)
    gondola: Mapped[int] = mapped_column(Integer)
    shelf: Mapped[int] = mapped_column(Integer)
    t_start_s: Mapped[float] = mapped_column(Float)
    t_end_s: Mapped[float] = mapped_column(Float)
    delta_g: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(8))
    plate_delta_g: Mapped[dict[str, Any]] = mapped_column(JSON)
    items: Mapped[list[Any]] = mapped_column(JSON)
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.session_id"), index=True)
    confidence: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


# The store-operations tables live in their own module; importing it registers them on Base.metadata.
# The sign-in tables (credentials, API tokens, devices; migration 0003) register themselves on Base.metadata too.
from walkout.engine.db import models_auth as _models_auth  # noqa: E402,F401
from walkout.engine.db import models_ops as _models_ops  # noqa: E402,F401
