"""Property tests of the repository's invariants (hypothesis).

Invariants:
    cart ledger: after any sequence of picks and put-backs, ``cart()`` equals the fold of
        :func:`walkout.carts.cart.apply_line` over the asked deltas, every quantity is positive,
        and each ``add_cart_line`` reports the same unapplied remainder as ``apply_line``.
    pick / put-back: a pick of n units followed by the put-back of n units restores the cart.
    stock: ``adjust_stock`` never leaves a negative count; the count is max(0, running sum)
        with every clamp reported as ``unapplied``.
    receipts: any self-consistent receipt round-trips unchanged, and its total equals the sum of
        its lines plus tax.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import warnings
from types import MappingProxyType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pg import STORAGE_BACKENDS
from walkout.carts.cart import apply_line
from walkout.carts.receipt import Receipt, ReceiptLine
from walkout.engine.db import Database
from walkout.io.accounts import DemoAccount

# When a property fails, hypothesis's pytest plugin imports libcst, which warns about
# mypy_extensions.TypedDict; under -W error that turns the failure report into an INTERNALERROR.
# Importing it once here with the warning silenced keeps failure reports readable.
with warnings.catch_warnings(), contextlib.suppress(ImportError):
    warnings.simplefilter("ignore", DeprecationWarning)
    import hypothesis.extra._patching  # noqa: F401

ACCOUNT = DemoAccount(account_id="a-1", name="Alice", email="alice@example.invalid", token="tok-alice")
UPCS = ("111", "222", "333")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_ids = itertools.count()


@pytest.fixture(scope="module", params=STORAGE_BACKENDS)
def db(request, tmp_path_factory):
    """One migrated database per backend for the whole module (hypothesis reuses it across examples).

    Module-scoped, so it cannot take the function-scoped ``db_url``: PostgreSQL gets its own
    database on the session's server (tests/pg.py), dropped when the module is done.
    """
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'walkout.db'}"
        else:
            url = stack.enter_context(request.getfixturevalue("postgres_server").database())
        database = stack.enter_context(Database(url))
        database.upgrade()
        database.seed_accounts([ACCOUNT])
        yield database


def _new_session(db: Database) -> str:
    session_id = f"s-{next(_ids)}"
    db.open_session(session_id, ACCOUNT.account_id, "rec", 0.0)
    return session_id


lines = st.lists(st.tuples(st.sampled_from(UPCS), st.integers(-4, 4).filter(bool)), max_size=25)


@SETTINGS
@given(lines)
def test_cart_is_the_clamped_running_sum(db, steps):
    session_id = _new_session(db)
    model = MappingProxyType({})
    for event_id, (upc, delta) in enumerate(steps):
        model, expected_unapplied = apply_line(model, upc, delta)
        assert db.add_cart_line(session_id, event_id, upc, delta, float(event_id), 0.9) == expected_unapplied
    cart = db.cart(session_id)
    assert cart == dict(model)
    assert all(q > 0 for q in cart.values())


@SETTINGS
@given(lines, st.sampled_from(UPCS), st.integers(1, 5))
def test_pick_then_put_back_restores_the_cart(db, steps, upc, n):
    session_id = _new_session(db)
    for event_id, (u, delta) in enumerate(steps):
        db.add_cart_line(session_id, event_id, u, delta, 0.0, 0.9)
    before = db.cart(session_id)
    db.add_cart_line(session_id, 1000, upc, n, 1.0, 0.9)
    assert db.add_cart_line(session_id, 1001, upc, -n, 2.0, 0.9) == 0
    assert db.cart(session_id) == before


@SETTINGS
@given(st.integers(0, 10), st.lists(st.integers(-6, 6), max_size=25))
def test_stock_never_goes_negative(db, start, deltas):
    plate_id = f"1.1.{next(_ids) + 1}"
    db.set_stock([(plate_id, "111", start)])
    count = start
    for delta in deltas:
        change = db.adjust_stock(plate_id, "111", delta)
        assert change.unapplied == min(count + delta, 0)
        count = max(count + delta, 0)
        assert change.count == count >= 0
    assert all(c >= 0 for _, _, c in db.stock())
    assert (plate_id, "111", count) in db.stock()


receipt_lines = st.lists(
    st.builds(
        ReceiptLine,
        upc=st.sampled_from(UPCS),
        name=st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=30),  # PostgreSQL text has no NUL
        quantity=st.integers(1, 50),
        unit_price_cents=st.integers(0, 100_000),
        taxable=st.booleans(),
    ),
    max_size=8,
)


@SETTINGS
@given(receipt_lines, st.integers(0, 10_000), st.floats(0, 1e5, allow_nan=False), st.floats(0, 1e4, allow_nan=False))
def test_receipt_round_trips(db, rlines, tax, entry_t_s, dwell_s):
    session_id = f"s-{next(_ids)}"
    db.open_session(session_id, ACCOUNT.account_id, "rec", entry_t_s)
    exit_t_s = entry_t_s + dwell_s
    subtotal = sum(line.line_total_cents for line in rlines)
    receipt = Receipt(
        session_id, ACCOUNT.account_id, entry_t_s, exit_t_s, tuple(rlines), subtotal, tax, subtotal + tax, "USD"
    )
    db.close_session(session_id, exit_t_s, receipt)
    stored = db.receipt(session_id)
    assert stored == receipt
    assert stored.total_cents == sum(line.line_total_cents for line in stored.lines) + stored.tax_cents


def test_concurrent_put_backs_never_overdraw_the_cart(db):
    """Writers on separate connections are serialised: 20 put-backs against 10 units remove exactly 10."""
    session_id = _new_session(db)
    db.add_cart_line(session_id, 0, "111", 10, 0.0, 0.9)
    unapplied: list[int] = []
    errors: list[BaseException] = []

    def put_back(event_id: int) -> None:
        try:
            unapplied.append(db.add_cart_line(session_id, event_id, "111", -1, 1.0, 0.9))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=put_back, args=(i,)) for i in range(1, 21)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(unapplied) == [-1] * 10 + [0] * 10
    assert db.cart(session_id) == {}
