"""SQLAlchemy models of store operations (private to :mod:`walkout.engine.db` and :mod:`walkout.operations`).

Group members, entry scans and used entry tokens, payment methods, the built-in payment
provider's ledger, charges and refunds, disputes, the e-mail outbox, and inventory (stock
movements, low-stock thresholds and alerts). Same conventions as :mod:`walkout.engine.db.models`
(money in integer cents, recording-clock seconds as Float, wall-clock stamps timezone-aware UTC);
created by migration ``0002``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from walkout.engine.db.models import RECORDING, UPC, Base, utc_now

KEY = String(128)  # idempotency keys, provider tokens and references


class SessionMemberRow(Base):
    """One person of a (group) session: the payer is member 0; companions follow in entry order."""

    __tablename__ = "session_members"

    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.session_id"), primary_key=True)
    member_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_t_s: Mapped[float] = mapped_column(Float)
    exit_t_s: Mapped[float | None] = mapped_column(Float)


class EntryScanRow(Base):
    """Every scan at a gate and what the gate answered (an audit log; personal data, purged by age)."""

    __tablename__ = "entry_scans"
    __table_args__ = (
        CheckConstraint(
            "code IN ('admitted', 'forged', 'expired', 'replayed', 'not_yet_valid', 'unknown_account', "
            "'not_staff', 'account_closed', 'refused')",
            name="code",
        ),
    )

    scan_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording: Mapped[str] = mapped_column(RECORDING, index=True)
    gate_id: Mapped[str] = mapped_column(String(64))
    t_s: Mapped[float] = mapped_column(Float)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.account_id"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.session_id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class UsedEntryTokenRow(Base):
    """An entry token that admitted someone: one entry per token (the primary key refuses a replay)."""

    __tablename__ = "used_entry_tokens"

    token_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.account_id"), index=True)
    used_unix_s: Mapped[float] = mapped_column(Float)


class PaymentMethodRow(Base):
    """A payment method on file: only the provider's token and a display label, never card data."""

    __tablename__ = "payment_methods"

    method_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.account_id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_token: Mapped[str] = mapped_column(KEY, unique=True)
    label: Mapped[str] = mapped_column(String(64))
    is_default: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LedgerEntryRow(Base):
    """The built-in payment provider's books: one row per charge or refund it executed.

    ``idempotency_key`` is unique: the provider executes a key once and answers repeats with the
    stored entry (Stripe's idempotent-request semantics).
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("kind IN ('charge', 'refund')", name="kind"),
        CheckConstraint("amount_cents > 0", name="amount"),
    )

    entry_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider_token: Mapped[str] = mapped_column(KEY, index=True)
    kind: Mapped[str] = mapped_column(String(8))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    idempotency_key: Mapped[str] = mapped_column(KEY, unique=True)
    description: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class PaymentRow(Base):
    """Money moved for a receipt, as walkout recorded it: the charge at exit, refunds, adjustments.

    ``idempotency_key`` is unique (``charge:<session>``, ``refund:dispute:<id>``, ...), so a retried
    finalization or refund records one payment. ``method_id`` is the payment method charged or
    refunded (None: the account had none on file), so a refund goes back to the card that paid.
    """

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("kind IN ('charge', 'refund')", name="kind"),
        CheckConstraint("amount_cents > 0", name="amount"),
        CheckConstraint("status IN ('succeeded', 'failed')", name="status"),
    )

    payment_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.receipt_id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    amount_cents: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(KEY, unique=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_ref: Mapped[str | None] = mapped_column(KEY)
    method_id: Mapped[int | None] = mapped_column(ForeignKey("payment_methods.method_id"))
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class DisputeRow(Base):
    """A customer's dispute of one receipt line (some or all of its units)."""

    __tablename__ = "disputes"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("amount_cents >= 0", name="amount"),
        CheckConstraint("status IN ('refunded', 'in_review', 'rejected')", name="status"),
    )

    dispute_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.receipt_id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    upc: Mapped[str] = mapped_column(UPC)
    quantity: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(12))
    review_id: Mapped[int | None] = mapped_column(ForeignKey("review_items.review_id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OutboxMessageRow(Base):
    """An e-mail to send (receipts, refunds): written in the transaction that decides it, sent after.

    ``idempotency_key`` (``receipt:<session>``, ``refund:<payment>``) makes each message exist once.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (CheckConstraint("status IN ('queued', 'sent', 'failed')", name="status"),)

    message_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(KEY, unique=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.account_id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    to_addr: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    attachment_pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(8), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StockMovementRow(Base):
    """One change of units on a plate and why (the stock ledger behind ``plate_stock``).

    ``reason``: ``pick`` / ``putback`` (a shopper), ``restock`` / ``facing`` (an associate),
    ``correction`` (a reviewer or a count). ``session_id`` is who moved it (None: nobody linked).
    """

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint("delta <> 0", name="nonzero"),
        CheckConstraint("reason IN ('pick', 'putback', 'restock', 'facing', 'correction')", name="reason"),
        UniqueConstraint("recording", "event_id", "plate_id", "upc"),
    )

    movement_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording: Mapped[str] = mapped_column(RECORDING)
    event_id: Mapped[int] = mapped_column(Integer)
    plate_id: Mapped[str] = mapped_column(String(32), index=True)
    upc: Mapped[str] = mapped_column(UPC, index=True)
    delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(12))
    misplaced: Mapped[bool] = mapped_column(Boolean, default=False)
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.session_id"), index=True)
    t_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class ProductSettingRow(Base):
    """Per-product store settings: the low-stock threshold (units across all plates)."""

    __tablename__ = "product_settings"
    __table_args__ = (CheckConstraint("low_stock_threshold >= 0", name="threshold"),)

    upc: Mapped[str] = mapped_column(UPC, primary_key=True)
    low_stock_threshold: Mapped[int] = mapped_column(Integer)


class StockAlertRow(Base):
    """A low-stock alert: raised when a product's units fall to its threshold, cleared on restock."""

    __tablename__ = "stock_alerts"

    alert_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    upc: Mapped[str] = mapped_column(UPC, index=True)
    count: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[int] = mapped_column(Integer)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
