"""The walkout repository: accounts, sessions, cart ledger, receipts, stock, review queue, event log."""

from __future__ import annotations

import dataclasses
import math
import pkgutil

import pytest
from sqlalchemy import func, select

import walkout.engine.db as db_pkg
from walkout.carts.receipt import Receipt, ReceiptLine, make_receipt
from walkout.core.errors import StorageError
from walkout.core.store import PlateId, Product, Store
from walkout.engine.db import AccountRecord, Database, StockChange
from walkout.engine.db.models import ReceiptLineRow, ReceiptRow
from walkout.engine.result import Attribution, ReviewItem
from walkout.events.types import ShelfEvent
from walkout.io.accounts import DemoAccount, demo_accounts

ALICE = DemoAccount(account_id="a-1", name="Alice", email="alice@example.invalid", token="tok-alice")
BOB = DemoAccount(account_id="a-2", name="Bob", email="bob@example.invalid", token="tok-bob", role="associate")

STORE = Store(
    name="test",
    tax_rate=0.0825,
    floor_ltrb_m=(0.0, 0.0, 4.0, 4.0),
    gondolas=(),
    shelves=(),
    plates=(),
    products=(
        Product(upc="111", name="Cola", mass_g=355.0, mass_sigma_g=3.0, price_cents=199),
        Product(upc="222", name="Bread", mass_g=500.0, mass_sigma_g=8.0, price_cents=349, taxable=False),
    ),
)


# Every test that takes ``db_url`` (tests/conftest.py) runs on SQLite and on PostgreSQL.

# What the database says when it refuses a row, per dialect.
REFUSALS = {
    "unique": {"sqlite": "UNIQUE constraint failed", "postgresql": "violates unique constraint"},
    "foreign_key": {"sqlite": "FOREIGN KEY constraint failed", "postgresql": "violates foreign key constraint"},
    "null_line_name": {
        "sqlite": "NOT NULL constraint failed: receipt_lines.name",
        "postgresql": 'null value in column "name" of relation "receipt_lines"',
    },
    "null_currency": {
        "sqlite": "NOT NULL constraint failed: receipts.currency",
        "postgresql": 'null value in column "currency" of relation "receipts"',
    },
    "check_quantity": {
        "sqlite": "CHECK constraint failed: ck_receipt_lines_quantity",
        "postgresql": 'violates check constraint "ck_receipt_lines_quantity"',
    },
}


def refusal(db: Database, kind: str) -> str:
    """The error text ``db``'s dialect gives for a refusal of ``kind`` (a key of REFUSALS)."""
    return REFUSALS[kind][db.engine.dialect.name]


@pytest.fixture
def db(db_url):
    database = Database(db_url)
    database.upgrade()
    database.seed_accounts([ALICE, BOB])
    yield database
    database.dispose()


@pytest.fixture
def session(db):
    db.open_session("s-1", ALICE.account_id, "rec-1", 10.0)
    return "s-1"


def _receipt(session_id="s-1", cart=None, exit_t_s=60.0) -> Receipt:
    return make_receipt(STORE, session_id, ALICE.account_id, cart or {"111": 2, "222": 1}, 10.0, exit_t_s)


def _count(db: Database, model) -> int:
    with db.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)))


def test_public_api_matches_all():
    public = {n for n in dir(db_pkg) if not n.startswith("_")}
    modules = {m.name for m in pkgutil.iter_modules(db_pkg.__path__)}  # submodules are attributes once imported
    assert set(db_pkg.__all__) == public - modules


# ---- accounts ----
def test_seed_accounts_is_idempotent(db):
    assert db.seed_accounts([ALICE, BOB]) == 0
    accounts = demo_accounts()
    assert db.seed_accounts(accounts) == len(accounts) == 64
    assert db.seed_accounts(accounts) == 0
    assert db.seed_accounts([*accounts, ALICE, ALICE]) == 0


def test_seed_accounts_skips_repeats_within_one_call(db_url):
    with Database(db_url) as fresh:
        fresh.upgrade()
        assert fresh.seed_accounts([ALICE, ALICE, BOB]) == 2


def test_seed_accounts_with_a_taken_token_writes_nothing(db):
    carol = DemoAccount(account_id="a-3", name="Carol", email="c@example.invalid", token="tok-carol")
    thief = DemoAccount(account_id="a-4", name="Mallory", email="m@example.invalid", token=ALICE.token)
    with pytest.raises(StorageError, match=f"^seed_accounts: .*{refusal(db, 'unique')}") as err:
        db.seed_accounts([carol, thief])
    assert err.value.__cause__ is not None
    assert db.account_by_token("tok-carol") is None


@pytest.mark.parametrize(
    ("token", "expected"),
    [("tok-alice", ("a-1", "customer")), ("tok-bob", ("a-2", "associate")), ("tok-nobody", None), ("", None)],
)
def test_account_by_token(db, token, expected):
    record = db.account_by_token(token)
    if expected is None:
        assert record is None
        return
    assert isinstance(record, AccountRecord) and dataclasses.is_dataclass(record)
    assert (record.account_id, record.role) == expected
    assert record.created_at.utcoffset() is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.name = "x"  # type: ignore[misc]


# ---- sessions and cart ledger ----
def test_open_session_records_an_open_session(db, session):
    record = db.session(session)
    assert record is not None
    assert (record.account_id, record.recording, record.entry_t_s, record.exit_t_s, record.status) == (
        "a-1",
        "rec-1",
        10.0,
        None,
        "open",
    )
    assert db.open_session(session, "a-1", "rec-1", 10.0) == record  # idempotent repeat
    assert db.session("s-nope") is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("s-2", "a-404", "rec-1", 1.0), "account 'a-404' is unknown"),
        (("s-1", "a-2", "rec-1", 10.0), "already exists"),
        (("s-1", "a-1", "rec-1", 11.0), "already exists"),
    ],
)
def test_open_session_refuses(db, session, args, message):
    with pytest.raises(StorageError, match=f"^open_session: .*{message}"):
        db.open_session(*args)
    assert db.session("s-2") is None


def test_pick_and_put_back_cancel(db, session):
    assert db.add_cart_line(session, 1, "111", 2, 12.0, 0.9) == 0
    assert db.add_cart_line(session, 2, "222", 1, 13.0, 0.8) == 0
    assert db.cart(session) == {"111": 2, "222": 1}
    assert db.add_cart_line(session, 3, "111", -2, 14.0, 0.9) == 0
    assert db.cart(session) == {"222": 1}


def test_put_back_beyond_the_cart_is_clamped_and_reported(db, session):
    db.add_cart_line(session, 1, "111", 1, 12.0, 0.9)
    assert db.add_cart_line(session, 2, "111", -3, 13.0, 0.9) == -2
    assert db.cart(session) == {}
    assert db.add_cart_line(session, 3, "111", 1, 14.0, 0.9) == 0
    assert db.cart(session) == {"111": 1}  # the unapplied put-back does not pre-pay a later pick


def test_cart_line_is_idempotent_per_event_and_upc(db, session):
    db.add_cart_line(session, 1, "111", 1, 12.0, 0.9)
    assert db.add_cart_line(session, 2, "111", -4, 13.0, 0.9) == -3
    assert db.add_cart_line(session, 1, "111", 1, 12.0, 0.9) == 0
    assert db.add_cart_line(session, 2, "111", -4, 13.0, 0.9) == -3  # same answer on replay
    assert db.cart(session) == {}
    with pytest.raises(StorageError, match=r"^add_cart_line: event 1 already booked \+1 of 111"):
        db.add_cart_line(session, 1, "111", 2, 12.0, 0.9)


@pytest.mark.parametrize(
    ("session_id", "delta", "confidence", "message"),
    [
        ("s-1", 0, 0.9, "non-zero"),
        ("s-1", 1, 1.5, r"confidence 1.5 is not in \[0, 1\]"),
        ("s-1", 1, math.nan, "confidence nan is not"),
        ("s-404", 1, 0.9, "session 's-404' is unknown"),
    ],
)
def test_add_cart_line_refuses(db, session, session_id, delta, confidence, message):
    with pytest.raises(StorageError, match=f"^add_cart_line: .*{message}"):
        db.add_cart_line(session_id, 1, "111", delta, 12.0, confidence)
    assert db.cart(session) == {}


def test_closed_session_takes_no_cart_line(db, session):
    db.close_session(session, 60.0, _receipt(cart={"111": 1}))
    with pytest.raises(StorageError, match="^add_cart_line: session 's-1' is closed"):
        db.add_cart_line(session, 9, "111", 1, 70.0, 0.9)


# ---- close_session and receipts ----
def test_close_session_stores_the_receipt(db, session):
    receipt = _receipt()
    assert receipt.tax_cents > 0 and len(receipt.lines) == 2
    assert db.close_session(session, 60.0, receipt) == receipt
    assert db.receipt(session) == receipt
    record = db.session(session)
    assert record is not None and (record.status, record.exit_t_s) == ("closed", 60.0)


def test_empty_receipt_round_trips(db, session):
    receipt = Receipt(session, "a-1", 10.0, 60.0, (), 0, 0, 0, "USD")
    db.close_session(session, 60.0, receipt)
    assert db.receipt(session) == receipt


def test_close_session_twice_is_idempotent(db, session):
    receipt = _receipt()
    db.close_session(session, 60.0, receipt)
    assert db.close_session(session, 60.0, receipt) == receipt
    assert _count(db, ReceiptRow) == 1
    with pytest.raises(StorageError, match="^close_session: .*already closed with a different receipt"):
        db.close_session(session, 60.0, _receipt(cart={"111": 5}))
    assert db.receipt(session) == receipt


def _replace_line(receipt: Receipt, **changes) -> Receipt:
    first = dataclasses.replace(receipt.lines[0], **changes)
    lines = (first, *receipt.lines[1:])
    subtotal = sum(line.line_total_cents for line in lines)
    return dataclasses.replace(receipt, lines=lines, subtotal_cents=subtotal, total_cents=subtotal + receipt.tax_cents)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        # refused by the database after the session row and receipt head were flushed
        (lambda r: _replace_line(r, name=None), "null_line_name"),
        (lambda r: _replace_line(r, quantity=0), "check_quantity"),
        (lambda r: dataclasses.replace(r, currency=None), "null_currency"),
        # refused before anything is written
        (lambda r: dataclasses.replace(r, subtotal_cents=r.subtotal_cents + 1), "subtotal .* != sum of lines"),
        (lambda r: dataclasses.replace(r, total_cents=r.total_cents + 1), "total .* != subtotal \\+ tax"),
        (lambda r: dataclasses.replace(r, account_id="a-2"), "account_id is 'a-2', expected 'a-1'"),
        (lambda r: dataclasses.replace(r, exit_t_s=61.0), "exit_t_s is 61.0, expected 60.0"),
        (lambda r: dataclasses.replace(r, session_id="s-9"), "session_id is 's-9'"),
    ],
)
def test_failed_close_writes_nothing(db, session, bad, message):
    message = refusal(db, message) if message in REFUSALS else message
    with pytest.raises(StorageError, match=f"^close_session: .*{message}"):
        db.close_session(session, 60.0, bad(_receipt()))
    record = db.session(session)
    assert record is not None and (record.status, record.exit_t_s) == ("open", None)
    assert db.receipt(session) is None
    assert _count(db, ReceiptRow) == _count(db, ReceiptLineRow) == 0
    db.add_cart_line(session, 1, "111", 1, 12.0, 0.9)  # still open for business
    assert db.close_session(session, 60.0, _receipt()) == _receipt()


def test_close_unknown_session(db):
    with pytest.raises(StorageError, match="^close_session: session 's-404' is unknown"):
        db.close_session("s-404", 60.0, _receipt("s-404"))


def test_receipt_of_open_or_unknown_session_is_none(db, session):
    assert db.receipt(session) is None
    assert db.receipt("s-404") is None


def test_receipt_lines_keep_their_order(db, session):
    lines = (ReceiptLine("222", "Bread", 1, 349, False), ReceiptLine("111", "Cola", 1, 199, True))
    receipt = Receipt(session, "a-1", 10.0, 60.0, lines, 548, 16, 564, "USD")
    db.close_session(session, 60.0, receipt)
    assert db.receipt(session) == receipt


# ---- inventory ----
def test_set_stock_replaces_named_plates_only(db):
    assert db.set_stock([("2.1.1", "111", 5), ("10.1.1", "111", 1), ("2.1.2", "222", 3)]) == 3
    assert db.stock() == [("2.1.1", "111", 5), ("2.1.2", "222", 3), ("10.1.1", "111", 1)]
    db.set_stock([("2.1.1", "222", 4), ("2.1.1", "333", 0)])
    assert db.stock() == [("2.1.1", "222", 4), ("2.1.1", "333", 0), ("2.1.2", "222", 3), ("10.1.1", "111", 1)]
    assert db.set_stock([]) == 0
    assert len(db.stock()) == 4


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("2.1.1", "111", -1)], "negative count -1"),
        ([("2.1.1", "111", 1), ("2.1.1", "111", 2)], "lists 111 twice"),
        ([("2.1", "111", 1)], "not of the form"),
        ([("2.1.1", "111", "many")], "invalid input"),
    ],
)
def test_set_stock_refuses(db, rows, message):
    db.set_stock([("2.1.1", "111", 5)])
    with pytest.raises(StorageError, match=f"^set_stock: .*{message}"):
        db.set_stock(rows)
    assert db.stock() == [("2.1.1", "111", 5)]


@pytest.mark.parametrize(
    ("start", "delta", "expected"),
    [
        (5, -2, StockChange("2.1.1", "111", 3, 0)),
        (5, +2, StockChange("2.1.1", "111", 7, 0)),
        (1, -3, StockChange("2.1.1", "111", 0, -2)),
        (None, -1, StockChange("2.1.1", "111", 0, -1)),
        (None, +2, StockChange("2.1.1", "111", 2, 0)),
    ],
)
def test_adjust_stock_never_goes_negative(db, start, delta, expected):
    if start is not None:
        db.set_stock([("2.1.1", "111", start)])
    assert db.adjust_stock(str(PlateId(2, 1, 1)), "111", delta) == expected
    assert all(count >= 0 for _, _, count in db.stock())
    assert dict(((p, u), c) for p, u, c in db.stock()).get(("2.1.1", "111"), 0) == expected.count


def test_adjust_stock_refuses_a_bad_plate(db):
    with pytest.raises(StorageError, match="^adjust_stock: plate id 'x' is not"):
        db.adjust_stock("x", "111", 1)


# ---- review queue ----
def test_review_items_queue_and_resolve(db):
    late = ReviewItem(7, 30.0, "low product confidence", 0.4, {"top": [["111", 1, 0.4]], "delta_g": -355.0})
    early = ReviewItem(3, 20.0, "no shopper nearby", 0.2)
    first = db.add_review_item(late, recording="rec-1")
    second = db.add_review_item(early, recording="rec-1")
    assert db.add_review_item(late, recording="rec-1") == first  # idempotent
    open_items = db.open_review_items()
    assert [r.review_id for r in open_items] == [second, first]
    assert open_items[1].item == late and open_items[1].status == "open"
    assert db.open_review_items("rec-other") == []
    db.resolve_review_item(second)
    db.resolve_review_item(second)
    assert [r.item for r in db.open_review_items("rec-1")] == [late]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (
            lambda db: db.add_review_item(ReviewItem(1, 1.0, "r", 0.5, {"x": math.nan})),
            "add_review_item: .*not JSON compliant",
        ),
        (
            lambda db: db.add_review_item(ReviewItem(1, 1.0, "r", 0.5, {"x": object()})),
            "add_review_item: .*not JSON serializable",
        ),
        (lambda db: db.resolve_review_item(404), "resolve_review_item: review item 404 is unknown"),
    ],
)
def test_review_queue_refuses(db, action, message):
    with pytest.raises(StorageError, match=f"^{message}"):
        action(db)
    assert db.open_review_items() == []


# ---- shelf-event log ----
EVENT = ShelfEvent(4, 2, 1, 12.0, 12.8, (PlateId(2, 1, 1), PlateId(2, 1, 2)), (-300.0, -55.0))


def test_log_shelf_event_with_and_without_attribution(db, session):
    attribution = Attribution(4, 12.8, "pick", (("111", 1),), 0.9, session, 0.8)
    assert db.log_shelf_event(EVENT, "rec-1", attribution) is True
    assert db.log_shelf_event(EVENT, "rec-1") is False  # idempotent: first log wins
    other = dataclasses.replace(EVENT, event_id=5, plate_delta_g=(100.0, 0.0))
    assert db.log_shelf_event(other, "rec-1") is True
    first, second = db.shelf_events("rec-1")
    assert (first.kind, first.delta_g, first.plate_delta_g) == ("pick", -355.0, {"2.1.1": -300.0, "2.1.2": -55.0})
    assert (first.items, first.session_id, first.confidence) == ((("111", 1),), session, pytest.approx(0.72))
    assert (second.event_id, second.kind, second.items, second.session_id, second.confidence) == (
        5,
        "putback",
        (),
        None,
        None,
    )
    assert db.shelf_events("rec-2") == []


@pytest.mark.parametrize(
    ("attribution", "message"),
    [
        (Attribution(4, 12.8, "pick", (("111", 1),), 0.9, "s-404", 0.8), "foreign_key"),
        (Attribution(5, 12.8, "pick", (("111", 1),), 0.9, None, 0.0), "attribution is for event 5, not 4"),
    ],
)
def test_log_shelf_event_refuses(db, attribution, message):
    message = refusal(db, message) if message in REFUSALS else message
    with pytest.raises(StorageError, match=f"^log_shelf_event: .*{message}"):
        db.log_shelf_event(EVENT, "rec-1", attribution)
    assert db.shelf_events("rec-1") == []
