"""Privacy: retention purge, erasure of an account (GDPR Art. 17), no biometric columns.

The erasure test scans every column of every table in the schema (``Base.metadata``) for the
erased account's personal values, so a new table that keeps personal data fails it.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from ops_world import REVIEWER, associate, card, customer, finalize, log_event, queue, rows, shopping
from sqlalchemy import Column, Integer, MetaData, String, Table, select

from walkout.core.errors import OperationError
from walkout.engine.db.models import AccountRow, Base, CartLineRow, ReceiptRow, SessionRow, ShelfEventRow, utc_now
from walkout.engine.db.models_ops import (
    EntryScanRow,
    LedgerEntryRow,
    OutboxMessageRow,
    PaymentMethodRow,
    PaymentRow,
    SessionMemberRow,
    UsedEntryTokenRow,
)
from walkout.operations import accounts, disputes, outbox, review
from walkout.operations.ledger import LedgerProvider
from walkout.operations.privacy import RetentionPolicy, biometric_columns, erase_account, purge

NAME, EMAIL = "Zelda Quixote-Marchbanks", "zelda.qm@mailbox.example.invalid"
ENTRY_TOKEN = "et-zelda-5f3a9c"


def scan(db, needles: list[str]) -> dict[str, set[str]]:
    """needle -> {"table.column"} where any stored value contains it (case-insensitive), over every table."""
    found: dict[str, set[str]] = {}
    lowered = [n.lower() for n in needles]
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for column, value in zip(table.columns, row, strict=True):
                    text = _text(value).lower()
                    for needle, low in zip(needles, lowered, strict=True):
                        if low in text:
                            found.setdefault(needle, set()).add(f"{table.name}.{column.name}")
    return found


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("latin-1")
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


@pytest.fixture
def lived(db, shop):
    """Zelda (zq-7) has used the store in every way; Bob (b-2) is another customer. Returns the needles."""
    ledger = LedgerProvider(db)
    accounts.register_account(db, "zq-7", NAME, EMAIL)
    token = accounts.account(db, "zq-7").token
    first = card(db, ledger, "zq-7")
    old = accounts.add_payment_method(db, ledger, "zq-7", "Amex ending 0005")
    accounts.remove_payment_method(db, "zq-7", old.method_id)
    customer(db, "b-2", "Bob Control", "bob@example.invalid")
    card(db, ledger, "b-2")
    associate(db)
    shopping(db, "s-z", "zq-7", {1: ("111", 2), 2: ("222", 1)})
    log_event(db, 1, {"1.1.1": -710.0}, (("111", 2),), "s-z")
    with db.transaction("test entry") as s:
        s.add(
            EntryScanRow(
                recording="rec-1",
                gate_id="g1",
                t_s=9.0,
                account_id="zq-7",
                code="admitted",
                reason="admitted",
                session_id="s-z",
            )
        )
        s.add(UsedEntryTokenRow(token_id=ENTRY_TOKEN, account_id="zq-7", used_unix_s=time.time()))
        s.add(SessionMemberRow(session_id="s-z", member_no=0, entry_t_s=10.0))
    finalize(db, shop, ledger, "s-z")
    outbox.enqueue(
        db,
        idempotency_key="receipt:s-z",
        account_id="zq-7",
        kind="receipt",
        to_addr=EMAIL,
        subject="Your receipt",
        body_text=f"Hi {NAME}",
        body_html=f"<p>Hi {NAME}</p>",
    )
    outbox.enqueue(
        db,
        idempotency_key="legacy:1",
        account_id=None,
        kind="notice",
        to_addr=EMAIL.upper(),
        subject="Hello",
        body_text="no account on this one",
        body_html="",
    )
    disputes.open_dispute(
        db,
        ledger,
        store=shop,
        account_id="zq-7",
        session_id="s-z",
        line_no=1,
        quantity=1,
        reason=f"{NAME} here: I put the bread back",
    )
    rid = queue(db, 1, session_id="s-z")
    review.decide(
        db,
        rid,
        reviewer_id=REVIEWER,
        action="correct",
        items=[("111", 1)],
        session_id="s-z",
        store=shop,
        provider=ledger,
    )
    shopping(db, "s-b", "b-2", {1: ("111", 1)})
    finalize(db, shop, ledger, "s-b")
    return [NAME, "Quixote", "Marchbanks", EMAIL, token, first, old.provider_token, ENTRY_TOKEN]


# ---------------------------------------------------------------- erasure
def test_after_erasure_and_purge_no_personal_value_remains_in_any_table(db, lived):
    before = scan(db, lived)
    assert set(before) == set(lived)  # the scan finds every value while the account is active
    hit_tables = {c.split(".")[0] for cols in before.values() for c in cols}
    assert {
        "accounts",
        "payment_methods",
        "ledger_entries",
        "outbox_messages",
        "used_entry_tokens",
        "disputes",
    } <= hit_tables
    report = erase_account(db, "zq-7")
    assert scan(db, lived) == {}
    assert report.deleted["payment_methods"] == 2 and report.deleted["outbox_messages"] >= 3
    assert report.deleted["entry_scans"] == 1 and report.deleted["used_entry_tokens"] == 1
    purge(db, now=utc_now() + timedelta(days=400))
    assert scan(db, lived) == {}
    assert scan(db, ["Bob Control", "bob@example.invalid"]).keys() == {"Bob Control", "bob@example.invalid"}


def test_erasure_keeps_the_financial_records_of_the_anonymised_account(db, lived):
    payments_before = rows(db, PaymentRow)
    t = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    report = erase_account(db, "zq-7", now=t)
    (account,) = rows(db, AccountRow, AccountRow.account_id == "zq-7")
    assert (account["status"], account["name"], account["email"]) == ("erased", "(erased)", "erased@erased.invalid")
    assert report.erased_at == t and not report.already_erased
    assert rows(db, ReceiptRow, ReceiptRow.session_id == "s-z")  # receipts and payments stay
    after = rows(db, PaymentRow)
    assert sorted((p["payment_id"], p["amount_cents"], p["kind"]) for p in after) == sorted(
        (p["payment_id"], p["amount_cents"], p["kind"]) for p in payments_before
    )
    assert all(
        p["method_id"] is None
        for p in after
        if p["receipt_id"] == rows(db, ReceiptRow, ReceiptRow.session_id == "s-z")[0]["receipt_id"]
    )
    assert rows(db, PaymentMethodRow, PaymentMethodRow.account_id == "zq-7") == []
    assert rows(db, PaymentMethodRow, PaymentMethodRow.account_id == "b-2")  # others untouched
    again = erase_account(db, "zq-7")
    assert again.already_erased and again.erased_at == t and dict(again.deleted) == {}


@pytest.mark.parametrize(
    ("account_id", "now", "message"),
    [
        ("nobody", None, "erase_account: account_id 'nobody' is unknown"),
        ("a-1", None, "account 'a-1' has session 's-open' in progress"),
        ("a-1", datetime(2026, 1, 1), "now .* is not a timezone-aware"),
    ],
)
def test_erase_account_refuses(db, account_id, now, message):
    customer(db, "a-1")
    shopping(db, "s-open", "a-1", {})
    with pytest.raises(OperationError, match=message):
        erase_account(db, account_id, now=now)
    assert rows(db, AccountRow)[0]["status"] == "active"


# ---------------------------------------------------------------- purge
def test_purge_deletes_each_kind_of_data_after_its_retention(db, lived, tmp_path):
    t0 = utc_now()
    frames = tmp_path / "debug" / "cam-25"
    frames.mkdir(parents=True)
    (frames / "old.png").write_bytes(b"x")
    (frames / "new.png").write_bytes(b"y")
    for name, age_days in (("old.png", 8), ("new.png", 6)):  # as seen from t0 + 30 days
        mtime = (t0 + timedelta(days=30 - age_days)).timestamp()
        os.utime(frames / name, (mtime, mtime))

    assert purge(db, now=t0 + timedelta(days=29)).total == 0
    month = purge(db, now=t0 + timedelta(days=31))
    assert month.deleted["entry_scans"] == 1 and month.deleted["used_entry_tokens"] == 1
    assert month.deleted["outbox_messages"] == 4  # receipt, legacy notice, dispute refund, review refund
    assert rows(db, OutboxMessageRow) == [] and rows(db, EntryScanRow) == []
    assert month.deleted["payment_methods"] == 1  # the removed Amex no payment names
    assert rows(db, CartLineRow) and rows(db, ShelfEventRow)  # session detail stays 90 days

    files = purge(db, now=t0 + timedelta(days=30), debug_dir=tmp_path / "debug")
    assert files.debug_files == 1 and not (frames / "old.png").exists() and (frames / "new.png").exists()

    quarter = purge(db, now=t0 + timedelta(days=91))
    assert quarter.deleted["cart_lines"] > 0 and quarter.deleted["shelf_events"] == 1
    assert quarter.deleted["session_members"] == 1
    assert quarter.deleted["review_items"] == 0  # the resolved task moved money: kept with the financial records
    assert rows(db, CartLineRow) == [] and rows(db, SessionMemberRow) == []
    assert {s["session_id"] for s in rows(db, SessionRow)} == {"s-z", "s-b"}  # they have receipts
    assert len(rows(db, ReceiptRow)) == 2 and rows(db, PaymentRow) and rows(db, LedgerEntryRow)

    assert purge(db, now=t0 + timedelta(days=91)).total == 0  # idempotent
    years = purge(db, now=t0 + timedelta(days=7 * 365 + 3))
    assert years.deleted["receipts"] == 2 and years.deleted["payments"] >= 4 and years.deleted["disputes"] == 1
    assert years.deleted["sessions"] == 2 and years.deleted["ledger_entries"] >= 4
    assert years.deleted["review_items"] == 1  # the correction that refunded, kept until now
    for model in (ReceiptRow, PaymentRow, SessionRow, LedgerEntryRow):
        assert rows(db, model) == []


def test_purge_keeps_open_work_and_sessions_in_progress(db, shop):
    customer(db, "a-1")
    associate(db)
    shopping(db, "s-open", "a-1", {1: ("111", 1)})
    rid = queue(db, 1, session_id="s-open")
    approved = queue(db, 2, session_id="s-open")
    review.decide(db, approved, reviewer_id=REVIEWER, action="approve", store=shop)
    report = purge(db, now=utc_now() + timedelta(days=200))
    assert report.deleted["sessions"] == 0 and report.deleted["review_items"] == 1  # the approved one
    assert [t.review_id for t in review.tasks(db)] == [rid]
    assert rows(db, SessionRow)[0]["status"] == "open"
    assert db.cart("s-open") == {"111": 1}  # the cart of a session still to be charged stays


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"now": datetime(2030, 1, 1)}, "purge: now .* is not a timezone-aware"),
        ({"debug_dir": "file"}, "purge: debug_dir .* is not a directory"),
    ],
)
def test_purge_refuses(db, tmp_path, kw, message):
    (tmp_path / "file").write_text("x")
    args = {"now": datetime(2030, 1, 1, tzinfo=UTC), **kw}
    if args.get("debug_dir") == "file":
        args["debug_dir"] = tmp_path / "file"
    with pytest.raises(OperationError, match=message):
        purge(db, **args)


def test_retention_policy_defaults_and_refusals():
    policy = RetentionPolicy()
    assert (
        policy.entry_scans_days,
        policy.outbox_days,
        policy.session_detail_days,
        policy.debug_frames_days,
        policy.financial_days,
    ) == (30, 30, 90, 7, 7 * 365 + 2)
    for bad in (0, -3, 1.5, True):
        with pytest.raises(OperationError, match="RetentionPolicy: session_detail_days must be a whole number"):
            RetentionPolicy(session_detail_days=bad)


# ---------------------------------------------------------------- biometric data
def test_no_column_of_the_schema_stores_biometric_data():
    assert biometric_columns(Base.metadata) == []


def test_the_biometric_check_catches_such_columns():
    meta = MetaData()
    Table(
        "people",
        meta,
        Column("person_id", Integer, primary_key=True),
        Column("appearance_hist", String),
        Column("face_embedding", String),
        Column("height_m", Integer),
        Column("facing", String),
        Column("invoice_no", String),
        Column("reid_vector", String),
    )
    assert biometric_columns(meta) == [
        "people.appearance_hist",
        "people.face_embedding",
        "people.height_m",
        "people.reid_vector",
    ]
