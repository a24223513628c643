"""The review queue: listing tasks, approving, correcting before and after finalization, the share."""

from __future__ import annotations

import pytest
from ops_world import REVIEWER, associate, card, customer, finalize, log_event, queue, rows, shopping

from walkout.carts.receipt import tax_cents
from walkout.core.errors import OperationError
from walkout.engine.db.models import CartLineRow
from walkout.engine.db.models_ops import OutboxMessageRow, PaymentRow, StockMovementRow
from walkout.operations import inventory, review
from walkout.operations.ledger import LedgerProvider


@pytest.fixture
def world(db):
    """Customers a-1 and b-2 (cards on file), reviewer rv-1; the ledger provider."""
    ledger = LedgerProvider(db)
    for account in ("a-1", "b-2"):
        customer(db, account)
        card(db, ledger, account)
    associate(db)
    return ledger


def decide(db, shop, review_id, **kw):
    return review.decide(db, review_id, reviewer_id=REVIEWER, store=shop, **kw)


# ---------------------------------------------------------------- listing
def test_tasks_carry_evidence_kind_and_time_and_filter_by_session(db, world):
    shopping(db, "s-1", "a-1", {7: ("111", 1)})
    shopping(db, "s-2", "b-2", {})
    shopping(db, "s-3", "b-2", {}, recording="rec-2")
    booked = queue(db, 7)  # no session recorded: concerns s-1 through its cart line for event 7
    candidate = queue(db, 8, shoppers=(("s-2", 0.6), (None, 0.4)))
    linked = queue(db, 9, session_id="s-2")
    listed = review.tasks(db)
    assert [t.review_id for t in listed] == [booked, candidate, linked]
    first = listed[0]
    assert (first.kind, first.recording, first.event_id, first.status, first.reason) == (
        "event",
        "rec-1",
        7,
        "open",
        "low confidence",
    )
    assert first.evidence["plates"] == ["1.1.1"] and first.evidence["shoppers"] == []
    assert first.created_at.tzinfo is not None and first.decision is None
    assert [t.review_id for t in review.tasks(db, session_id="s-1")] == [booked]
    assert [t.review_id for t in review.tasks(db, session_id="s-2")] == [candidate, linked]
    assert review.tasks(db, session_id="s-3") == [] and review.tasks(db, session_id="nope") == []
    assert review.tasks(db, kind="dispute") == [] and review.tasks(db, status="resolved") == []
    assert len(review.tasks(db, status=None, kind="event", recording="rec-1")) == 3
    for kw in ({"status": "closed"}, {"kind": "other"}):
        with pytest.raises(OperationError, match=f"tasks: {next(iter(kw))} '"):
            review.tasks(db, **kw)


# ---------------------------------------------------------------- approve
def test_approve_resolves_once_and_refuses_another_verdict(db, shop, world):
    shopping(db, "s-1", "a-1", {7: ("111", 1)})
    rid = queue(db, 7, session_id="s-1")
    out = decide(db, shop, rid, action="approve")
    assert (out.action, out.replayed, out.cart, out.adjustments) == ("approve", False, (), ())
    (task,) = review.tasks(db, status="resolved")
    assert task.decision["action"] == "approve" and task.decided_by == REVIEWER and task.resolved_at is not None
    assert decide(db, shop, rid, action="approve").replayed
    with pytest.raises(OperationError, match="already decided differently"):
        decide(db, shop, rid, action="correct", items=[], session_id=None)
    assert db.cart("s-1") == {"111": 1}


# ---------------------------------------------------------------- correct before finalization
def test_correction_before_finalization_moves_the_item_between_carts(db, shop, world):
    shopping(db, "s-1", "a-1", {7: ("111", 1), 8: ("222", 1)})
    shopping(db, "s-2", "b-2", {})
    db.exit_session("s-1", 60.0)  # exited: the receipt waits, a correction is still a cart line
    log_event(db, 7, {"1.1.1": -355.0}, (("111", 1),), "s-1")
    rid = queue(db, 7, session_id="s-1", shoppers=(("s-1", 0.5), ("s-2", 0.5)))
    out = decide(db, shop, rid, action="correct", items=[("333", 1)], session_id="s-2")
    assert set(out.cart) == {review.CartCorrection("s-1", "111", -1, -1), review.CartCorrection("s-2", "333", 1, 1)}
    assert db.cart("s-1") == {"222": 1} and db.cart("s-2") == {"333": 1}
    lines = rows(db, CartLineRow, CartLineRow.event_id == -rid)
    assert sorted((r["session_id"], r["upc"], r["quantity_delta"]) for r in lines) == [
        ("s-1", "111", -1),
        ("s-2", "333", 1),
    ]
    (task,) = review.tasks(db, status="resolved")
    assert task.decision["items"] == [["333", 1]] and task.decision["session_id"] == "s-2"
    again = decide(db, shop, rid, action="correct", items=[("333", 1)], session_id="s-2")
    assert again.replayed and db.cart("s-2") == {"333": 1}  # nothing booked twice
    with pytest.raises(OperationError, match="already decided differently"):
        decide(db, shop, rid, action="correct", items=[("333", 2)], session_id="s-2")


def test_correction_of_a_put_back_credits_the_cart(db, shop, world):
    shopping(db, "s-1", "a-1", {3: ("111", 2)})
    log_event(db, 7, {"1.1.1": 355.0})  # a put-back the engine could not attribute
    rid = queue(db, 7)
    decide(db, shop, rid, action="correct", items=[("111", 1)], session_id="s-1")
    assert db.cart("s-1") == {"111": 1}


# ---------------------------------------------------------------- correct after finalization
def test_correction_after_finalization_refunds_and_mails(db, shop, world):
    shopping(db, "s-1", "a-1", {7: ("111", 2), 8: ("222", 1)})
    receipt = finalize(db, shop, world, "s-1")
    rid = queue(db, 7, session_id="s-1")
    out = decide(db, shop, rid, action="correct", items=[("111", 1)], session_id="s-1", provider=world)
    after = 199 + 349 + tax_cents(199, shop.tax_rate)
    (adj,) = out.adjustments
    assert (adj.session_id, adj.units, adj.kind, adj.amount_cents) == (
        "s-1",
        (("111", -1),),
        "refund",
        receipt.total_cents - after,
    )
    (payment,) = rows(db, PaymentRow, PaymentRow.idempotency_key == f"review:{rid}:s-1")
    assert (payment["kind"], payment["amount_cents"], payment["status"]) == ("refund", adj.amount_cents, "succeeded")
    assert payment["payment_id"] == adj.payment_id
    (mail,) = rows(db, OutboxMessageRow, OutboxMessageRow.idempotency_key == f"review:{rid}:s-1")
    assert (mail["kind"], mail["to_addr"], mail["account_id"]) == ("refund", "a-1@example.invalid", "a-1")
    assert db.cart("s-1") == {"111": 2, "222": 1}  # the closed cart is history; the money moved instead
    assert decide(db, shop, rid, action="correct", items=[("111", 1)], session_id="s-1", provider=world).replayed
    assert len(rows(db, PaymentRow, PaymentRow.kind == "refund")) == 1


def test_correction_after_finalization_charges_what_the_receipt_missed(db, shop, world):
    shopping(db, "s-1", "a-1", {8: ("222", 1)})
    shopping(db, "s-2", "b-2", {7: ("111", 1)})
    finalize(db, shop, world, "s-1")
    rid = queue(db, 7, session_id="s-2", shoppers=(("s-2", 0.5), ("s-1", 0.5)))
    out = decide(db, shop, rid, action="correct", items=[("111", 1)], session_id="s-1", provider=world)
    assert out.cart == (review.CartCorrection("s-2", "111", -1, -1),)  # s-2 is still open: a cart line
    (adj,) = out.adjustments
    assert (adj.kind, adj.amount_cents) == ("charge", 199 + tax_cents(199, shop.tax_rate))
    (mail,) = rows(db, OutboxMessageRow, OutboxMessageRow.idempotency_key == f"review:{rid}:s-1")
    assert mail["kind"] == "adjustment" and "charged" in mail["body_text"]
    assert db.cart("s-2") == {}


def test_a_unit_refunded_through_a_dispute_is_not_refunded_again_by_a_correction(db, shop, world):
    from walkout.operations import disputes

    shopping(db, "s-1", "a-1", {7: ("111", 1), 8: ("222", 1)})
    finalize(db, shop, world, "s-1")
    refunded = disputes.open_dispute(
        db, world, store=shop, account_id="a-1", session_id="s-1", line_no=0, quantity=1, reason="not mine"
    )
    assert refunded.status == "refunded"
    rid = queue(db, 7, session_id="s-1")
    out = decide(db, shop, rid, action="correct", items=[], session_id=None, provider=world)
    assert out.adjustments == () and review.tasks(db, status="resolved")[0].review_id == rid
    assert len(rows(db, PaymentRow, PaymentRow.kind == "refund")) == 1


def test_closed_session_needs_a_provider_and_nothing_is_written_without_it(db, shop, world):
    shopping(db, "s-1", "a-1", {7: ("111", 1)})
    finalize(db, shop, world, "s-1")
    rid = queue(db, 7, session_id="s-1")
    with pytest.raises(OperationError, match="provider is needed to refund closed session 's-1'"):
        decide(db, shop, rid, action="correct", items=[], session_id=None)
    assert review.tasks(db)[0].status == "open" and rows(db, PaymentRow, PaymentRow.kind == "refund") == []


def test_correction_corrects_the_stock_ledger(db, shop, world):
    db.set_stock([("1.1.1", "111", 3), ("1.1.1", "333", 2)])
    shopping(db, "s-1", "a-1", {7: ("111", 1)})
    inventory.record_movement(
        db,
        recording="rec-1",
        event_id=7,
        plate_id="1.1.1",
        upc="111",
        delta=-1,
        reason="pick",
        session_id="s-1",
        t_s=18.0,
    )
    rid = queue(db, 7, session_id="s-1")
    out = decide(db, shop, rid, action="correct", items=[("333", 1)], session_id="s-1")
    assert set(out.stock) == {("1.1.1", "111", 1), ("1.1.1", "333", -1)}
    assert {(p, u): n for p, u, n in db.stock()} == {("1.1.1", "111"): 3, ("1.1.1", "333"): 1}
    moves = rows(db, StockMovementRow, StockMovementRow.event_id == -rid)
    assert {(m["upc"], m["delta"], m["reason"]) for m in moves} == {("111", 1, "correction"), ("333", -1, "correction")}


# ---------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    ("review_id", "kw", "message"),
    [
        (999, {"action": "approve"}, "review_id 999 is not a review task"),
        (None, {"action": "approve", "reviewer_id": "a-1"}, "reviewer_id 'a-1' is not an active associate"),
        (None, {"action": "maybe"}, "action 'maybe' must be"),
        (None, {"action": "reject"}, "'reject' is for dispute tasks"),
        (None, {"action": "approve", "items": [("111", 1)]}, "'approve' takes neither"),
        (None, {"action": "correct"}, "items are required"),
        (None, {"action": "correct", "items": [("999", 1)]}, "items UPC '999' is not a product"),
        (None, {"action": "correct", "items": [("111", 0)]}, "items units of 111 must be an integer > 0"),
        (None, {"action": "correct", "items": ["111"]}, "not a \\(upc, units\\) pair"),
        (
            None,
            {"action": "correct", "items": [], "session_id": "s-9"},
            "session_id 's-9' is not a session of recording",
        ),
        (None, {"action": "correct", "items": [], "session_id": "s-staff"}, "is a staff session"),
        (None, {"action": "approve", "now": __import__("datetime").datetime(2026, 1, 1)}, "not a timezone-aware"),
    ],
)
def test_decide_refuses_bad_input_naming_the_field(db, shop, world, review_id, kw, message):
    shopping(db, "s-1", "a-1", {7: ("111", 1)})
    associate(db, "st-1")
    db.open_session("s-staff", "st-1", "rec-1", 5.0, kind="staff")
    rid = queue(db, 7, session_id="s-1")
    kw = {"reviewer_id": REVIEWER, **kw}
    with pytest.raises(OperationError, match=message):
        review.decide(db, rid if review_id is None else review_id, store=shop, **kw)
    assert review.tasks(db)[0].status == "open" and db.cart("s-1") == {"111": 1}


# ---------------------------------------------------------------- the share
def test_sessions_reviewed_share_counts_customer_sessions_with_an_event_task(db, world):
    associate(db, "st-1")
    for sid, account in (("s-1", "a-1"), ("s-2", "b-2"), ("s-3", "a-1")):
        shopping(db, sid, account, {})
    db.add_cart_line("s-1", 7, "111", 1, 17.0, 0.4)
    db.open_session("s-staff", "st-1", "rec-1", 5.0, kind="staff")  # not a customer session
    shopping(db, "s-gone", "b-2", {})
    with db.transaction("test delete") as s:  # a deleted session (a double scan) is not counted
        from walkout.engine.db.models import SessionRow

        s.get(SessionRow, "s-gone").status = "deleted"
    assert review.sessions_reviewed_share(db) == 0.0
    queue(db, 7)  # concerns s-1 through its booked line
    queue(db, 8, session_id="s-staff")
    assert review.sessions_reviewed_share(db) == pytest.approx(1 / 3)
    queue(db, 9, shoppers=(("s-2", 0.7),))
    assert review.sessions_reviewed_share(db, "rec-1") == pytest.approx(2 / 3)
    assert review.sessions_reviewed_share(db, "rec-other") == 0.0
