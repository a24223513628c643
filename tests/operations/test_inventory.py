"""Inventory: live stock, thresholds and alerts, misplaced units, the stock ledger, shrinkage."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ops_world import associate, card, customer, finalize, rows, shopping

from walkout.core.errors import OperationError
from walkout.engine.db import Database
from walkout.engine.db.models_ops import StockAlertRow, StockMovementRow
from walkout.operations import disputes, inventory
from walkout.operations.inventory import MisplacedStock, PlateStock, ProductStock, ShrinkageRow
from walkout.operations.ledger import LedgerProvider

PEACH = "835144008984"  # the embedded store's facing on plates 1.1.5 and 1.1.6
HARIBO = "042238312210"  # facing on 1.1.8 and 1.1.9


def move(db, event_id, upc, delta, reason, plate="1.1.1", session_id=None, recording="rec-1"):
    return inventory.record_movement(
        db,
        recording=recording,
        event_id=event_id,
        plate_id=plate,
        upc=upc,
        delta=delta,
        reason=reason,
        session_id=session_id,
        t_s=float(event_id),
    )


# ---------------------------------------------------------------- live stock, thresholds, alerts
def test_stock_per_plate_and_per_product(db):
    db.set_stock([("1.1.10", "111", 2), ("1.1.9", "111", 3), ("1.2.1", "222", 0)])
    assert inventory.plate_stock(db) == [PlateStock("1.1.9", "111", 3), PlateStock("1.1.10", "111", 2)]
    assert inventory.product_stock(db) == [
        ProductStock("111", 5, ("1.1.9", "1.1.10"), None),
        ProductStock("222", 0, (), None),
    ]
    assert inventory.low_stock(db) == []  # no thresholds: nothing is ever low


def test_low_stock_alerts_are_raised_once_and_cleared_after_restock(db):
    associate(db)
    db.set_stock([("1.1.1", "111", 3), ("1.1.2", "333", 9)])
    inventory.set_threshold(db, "111", 5)
    inventory.set_threshold(db, "222", 0)  # never stocked: 0 units, at its threshold
    inventory.set_threshold(db, "333", 2)
    assert [(p.upc, p.units, p.plates) for p in inventory.low_stock(db)] == [("111", 3, ("1.1.1",)), ("222", 0, ())]
    assert inventory.raise_alerts(db) == inventory.AlertChanges(("111", "222"), ())
    assert inventory.raise_alerts(db) == inventory.AlertChanges((), ())  # idempotent
    inventory.restock(db, plate_id="1.1.1", upc="111", units=4, associate_id="rv-1", restock_id=1)
    inventory.set_threshold(db, "222", None)
    assert inventory.raise_alerts(db) == inventory.AlertChanges((), ("111", "222"))
    alerts = rows(db, StockAlertRow)
    assert sorted((a["upc"], a["count"], a["threshold"], a["cleared_at"] is not None) for a in alerts) == [
        ("111", 3, 5, True),
        ("222", 0, 0, True),
    ]
    move(db, 2, "111", -6, "pick")  # 7 -> 1: low again, a new alert
    assert inventory.raise_alerts(db).raised == ("111",)


@pytest.mark.parametrize(
    ("upc", "units", "message"),
    [
        ("", 3, "set_threshold: upc '' is not a UPC"),
        ("111", -1, "units -1 is not a non-negative integer"),
        ("111", 2.5, "units 2.5"),
        ("111", True, "units True"),
    ],
)
def test_set_threshold_refuses(db, upc, units, message):
    with pytest.raises(OperationError, match=message):
        inventory.set_threshold(db, upc, units)


def test_misplaced_units_lie_outside_their_facing(db, store):
    db.set_stock([("1.1.5", PEACH, 7), ("1.1.8", PEACH, 1), ("1.1.8", HARIBO, 8), ("1.1.1", "000", 2)])
    assert inventory.misplaced(db, store) == [
        MisplacedStock("1.1.1", "000", 2, ()),  # not in the planogram at all
        MisplacedStock("1.1.8", PEACH, 1, ("1.1.5", "1.1.6")),
    ]
    assert len(inventory.misplaced(db, store, planogram=())) == 4  # an empty operating planogram: nothing is home


# ---------------------------------------------------------------- the stock ledger
def test_record_movement_applies_once_and_clamps_at_zero(db):
    db.set_stock([("1.1.1", "111", 2)])
    first = move(db, 1, "111", -3, "pick")
    assert (first.count, first.unapplied, first.replayed) == (0, -1, False)
    again = move(db, 1, "111", -3, "pick")
    assert (again.count, again.replayed) == (0, True)
    assert move(db, 2, "111", 1, "putback", plate="1.1.2").count == 1
    assert db.stock() == [("1.1.1", "111", 0), ("1.1.2", "111", 1)]
    assert len(rows(db, StockMovementRow)) == 2
    with pytest.raises(
        OperationError, match="record_movement: event_id 1: movement rec-1/1 of 111 on 1.1.1 is already"
    ):
        move(db, 1, "111", -2, "pick")


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"plate": "1.1"}, "plate_id '1.1' is not of the form"),
        ({"delta": 0}, "delta 0 is not a non-zero"),
        ({"delta": 1.5}, "delta 1.5"),
        ({"reason": "theft"}, "reason 'theft' is not one of pick, putback, restock, facing, correction"),
        ({"upc": " "}, "upc ' ' is not a UPC"),
        ({"session_id": "s-9"}, "session_id 's-9' is unknown"),
    ],
)
def test_record_movement_refuses_naming_the_field(db, kw, message):
    args = {"event_id": 1, "upc": "111", "delta": -1, "reason": "pick", **kw}
    with pytest.raises(OperationError, match=f"record_movement: {message}"):
        move(db, **args)
    assert rows(db, StockMovementRow) == [] and db.stock() == []


def test_restock_is_filed_under_the_associate(db):
    associate(db)
    customer(db, "a-1")
    out = inventory.restock(db, plate_id="1.1.1", upc="111", units=6, associate_id="rv-1", restock_id=41)
    assert (out.recording, out.event_id, out.reason, out.count) == ("associate:rv-1", 41, "restock", 6)
    assert inventory.restock(db, plate_id="1.1.1", upc="111", units=6, associate_id="rv-1", restock_id=41).replayed
    for kw, message in (
        ({"associate_id": "a-1"}, "associate_id 'a-1' is not an active associate"),
        ({"units": 0}, "units 0 is not a positive number"),
    ):
        with pytest.raises(OperationError, match=f"restock: {message}"):
            inventory.restock(
                db, **{"plate_id": "1.1.1", "upc": "111", "units": 2, "associate_id": "rv-1", "restock_id": 42, **kw}
            )
    assert db.stock() == [("1.1.1", "111", 6)]


# ---------------------------------------------------------------- shrinkage
def test_shrinkage_is_units_gone_that_nobody_paid_for(db, shop):
    ledger = LedgerProvider(db)
    customer(db, "a-1")
    card(db, ledger, "a-1")
    associate(db)
    inventory.restock(db, plate_id="1.1.1", upc="111", units=10, associate_id="rv-1", restock_id=1)  # excluded
    shopping(db, "s-1", "a-1", {1: ("111", 2), 3: ("222", 1)})
    move(db, 1, "111", -3, "pick", session_id="s-1")  # the engine saw 3 leave but booked 2
    move(db, 2, "111", 1, "putback", session_id="s-1")
    move(db, 3, "222", -1, "pick", session_id="s-1")
    move(db, 4, "333", -1, "pick")  # taken by nobody linked
    move(db, 5, "333", -1, "facing")  # an associate moving it: excluded
    finalize(db, shop, ledger, "s-1")
    assert inventory.shrinkage(db) == [ShrinkageRow("111", 2, 2), ShrinkageRow("222", 1, 1), ShrinkageRow("333", 1, 0)]
    out = disputes.open_dispute(
        db, ledger, store=shop, account_id="a-1", session_id="s-1", line_no=0, quantity=1, reason="only took one"
    )
    assert out.status == "refunded"
    by_upc = {r.upc: r.shrinkage_units for r in inventory.shrinkage(db)}
    assert by_upc == {"111": 1, "222": 0, "333": 1}  # the refunded unit is now charged to nobody


# ---------------------------------------------------------------- properties
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def prop_db(tmp_path_factory):
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('inv') / 'walkout.db'}")
    database.upgrade()
    yield database
    database.dispose()


def _fresh_plate(db: Database, start: int) -> tuple[str, str]:
    """A plate of its own for one example, holding ``start`` units; returns (recording, upc)."""
    n = next(_ids)
    db.set_stock([("9.9.9", f"p{n}", start)])
    return f"prop-{n}", f"p{n}"


@settings(max_examples=40, deadline=None)
@given(start=st.integers(0, 12), deltas=st.lists(st.integers(-6, 6).filter(bool), min_size=1, max_size=8))
def test_stock_never_goes_negative(prop_db, start, deltas):
    recording, upc = _fresh_plate(prop_db, start)
    expected = start
    for event_id, delta in enumerate(deltas, start=1):
        out = inventory.record_movement(
            prop_db,
            recording=recording,
            event_id=event_id,
            plate_id="9.9.9",
            upc=upc,
            delta=delta,
            reason="pick" if delta < 0 else "putback",
            session_id=None,
            t_s=float(event_id),
        )
        wanted, expected = expected + delta, max(expected + delta, 0)
        assert out.count == expected >= 0
        assert out.unapplied == min(wanted, 0)  # the part of a removal that found no unit
    (product,) = [p for p in inventory.product_stock(prop_db) if p.upc == upc]
    assert product.units == expected >= 0


@settings(max_examples=40, deadline=None)
@given(start=st.integers(0, 12), quantity=st.integers(1, 6))
def test_a_pick_and_its_put_back_cancel(prop_db, start, quantity):
    recording, upc = _fresh_plate(prop_db, start + quantity)
    before = {(p, u): n for p, u, n in prop_db.stock() if u == upc}
    for event_id, delta, reason in ((1, -quantity, "pick"), (2, quantity, "putback")):
        inventory.record_movement(
            prop_db,
            recording=recording,
            event_id=event_id,
            plate_id="9.9.9",
            upc=upc,
            delta=delta,
            reason=reason,
            session_id=None,
            t_s=float(event_id),
        )
    assert {(p, u): n for p, u, n in prop_db.stock() if u == upc} == before
    assert {r.upc: r.left_shelves_units for r in inventory.shrinkage(prop_db)}.get(upc) == 0


# ---------------------------------------------------------------- public API
@pytest.mark.parametrize("module", ["inventory", "review", "disputes", "privacy"])
def test_public_api_matches_all(module):
    """``__all__`` names exactly the public classes, functions and constants the module defines."""
    import importlib
    import inspect

    mod = importlib.import_module(f"walkout.operations.{module}")
    defined = {
        name
        for name, value in vars(mod).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == mod.__name__
    }
    assert defined <= set(mod.__all__), defined - set(mod.__all__)
    assert all(hasattr(mod, name) for name in mod.__all__)
