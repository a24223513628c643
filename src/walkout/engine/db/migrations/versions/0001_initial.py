"""Initial schema: accounts, sessions, cart ledger, receipts, stock, review queue, shelf-event log.

Revision ID: 0001
Revises:
Create Date: 2025-11-22

Written to match walkout.engine.db.models; tests/engine/test_db_migrations.py checks that
``alembic.autogenerate.compare_metadata`` finds no difference after ``upgrade head``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("token", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('customer', 'associate')", name=op.f("ck_accounts_role")),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("token", name=op.f("uq_accounts_token")),
    )
    op.create_table(
        "sessions",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("recording", sa.String(length=200), nullable=False),
        sa.Column("entry_t_s", sa.Float(), nullable=False),
        sa.Column("exit_t_s", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'open' AND exit_t_s IS NULL) OR (status = 'closed' AND exit_t_s IS NOT NULL)",
            name=op.f("ck_sessions_status_exit"),
        ),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"], name=op.f("fk_sessions_account_id_accounts")),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_sessions")),
    )
    op.create_index(op.f("ix_sessions_account_id"), "sessions", ["account_id"])
    op.create_index(op.f("ix_sessions_recording"), "sessions", ["recording"])
    op.create_table(
        "cart_lines",
        sa.Column("line_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("upc", sa.String(length=32), nullable=False),
        sa.Column("quantity_delta", sa.Integer(), nullable=False),
        sa.Column("applied_delta", sa.Integer(), nullable=False),
        sa.Column("t_s", sa.Float(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("applied_delta * quantity_delta >= 0", name=op.f("ck_cart_lines_applied_sign")),
        sa.CheckConstraint("confidence >= 0 AND confidence <= 1", name=op.f("ck_cart_lines_confidence")),
        sa.CheckConstraint("quantity_delta <> 0", name=op.f("ck_cart_lines_nonzero")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.session_id"], name=op.f("fk_cart_lines_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("line_id", name=op.f("pk_cart_lines")),
        sa.UniqueConstraint("session_id", "event_id", "upc", name=op.f("uq_cart_lines_session_id_event_id_upc")),
    )
    op.create_table(
        "receipts",
        sa.Column("receipt_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("subtotal_cents", sa.Integer(), nullable=False),
        sa.Column("tax_cents", sa.Integer(), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("entry_t_s", sa.Float(), nullable=False),
        sa.Column("exit_t_s", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("subtotal_cents >= 0 AND tax_cents >= 0", name=op.f("ck_receipts_amounts")),
        sa.CheckConstraint("total_cents = subtotal_cents + tax_cents", name=op.f("ck_receipts_total")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.session_id"], name=op.f("fk_receipts_session_id_sessions")),
        sa.PrimaryKeyConstraint("receipt_id", name=op.f("pk_receipts")),
        sa.UniqueConstraint("session_id", name=op.f("uq_receipts_session_id")),
    )
    op.create_table(
        "receipt_lines",
        sa.Column("receipt_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("upc", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_cents", sa.Integer(), nullable=False),
        sa.Column("taxable", sa.Boolean(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_receipt_lines_quantity")),
        sa.CheckConstraint("unit_price_cents >= 0", name=op.f("ck_receipt_lines_price")),
        sa.ForeignKeyConstraint(
            ["receipt_id"], ["receipts.receipt_id"], name=op.f("fk_receipt_lines_receipt_id_receipts")
        ),
        sa.PrimaryKeyConstraint("receipt_id", "line_no", name=op.f("pk_receipt_lines")),
    )
    op.create_table(
        "plate_stock",
        sa.Column("plate_id", sa.String(length=32), nullable=False),
        sa.Column("upc", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("count >= 0", name=op.f("ck_plate_stock_count")),
        sa.PrimaryKeyConstraint("plate_id", "upc", name=op.f("pk_plate_stock")),
    )
    op.create_table(
        "review_items",
        sa.Column("review_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("recording", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("t_s", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f("ck_review_items_status")),
        sa.PrimaryKeyConstraint("review_id", name=op.f("pk_review_items")),
        sa.UniqueConstraint("recording", "event_id", "reason", name=op.f("uq_review_items_recording_event_id_reason")),
    )
    op.create_index(op.f("ix_review_items_status"), "review_items", ["status"])
    op.create_table(
        "shelf_events",
        sa.Column("row_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("recording", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("gondola", sa.Integer(), nullable=False),
        sa.Column("shelf", sa.Integer(), nullable=False),
        sa.Column("t_start_s", sa.Float(), nullable=False),
        sa.Column("t_end_s", sa.Float(), nullable=False),
        sa.Column("delta_g", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("plate_delta_g", sa.JSON(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('pick', 'putback')", name=op.f("ck_shelf_events_kind")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.session_id"], name=op.f("fk_shelf_events_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("row_id", name=op.f("pk_shelf_events")),
        sa.UniqueConstraint("recording", "event_id", name=op.f("uq_shelf_events_recording_event_id")),
    )
    op.create_index(op.f("ix_shelf_events_session_id"), "shelf_events", ["session_id"])


def downgrade() -> None:
    op.drop_table("shelf_events")
    op.drop_table("review_items")
    op.drop_table("plate_stock")
    op.drop_table("receipt_lines")
    op.drop_table("receipts")
    op.drop_table("cart_lines")
    op.drop_table("sessions")
    op.drop_table("accounts")
