"""Disputes: priced with their tax share, refunded at once or reviewed, recorded and e-mailed."""

from __future__ import annotations

import pytest
from ops_world import REVIEWER, associate, card, customer, finalize, log_event, rows, shopping

from walkout.core.errors import OperationError, PaymentError
from walkout.engine.db.models_ops import DisputeRow, LedgerEntryRow, OutboxMessageRow, PaymentRow
from walkout.operations import disputes, review
from walkout.operations.disputes import DisputeParams
from walkout.operations.ledger import LedgerProvider

# Receipt of s-1 (shop: tax 8.25 %): line 0 = 3 x Cola 1.99 (taxed), line 1 = Bread 3.49 (untaxed),
# line 2 = 1 x "333" 1.00 (taxed). Taxable 6.97 -> tax round_half_up(57.5025) = 58 cents; total 11.04.
CART = {1: ("111", 3), 2: ("222", 1), 3: ("333", 1)}
TOTAL_CENTS = 597 + 349 + 100 + 58


class FlakyProvider:
    """Wraps the ledger: refunds are ``declined`` (PaymentError) or ``crash`` after executing (RuntimeError)."""

    def __init__(self, inner: LedgerProvider, mode: str) -> None:
        self.inner, self.mode, self.name = inner, mode, inner.name

    def new_payment_method(self, account_id, label):
        return self.inner.new_payment_method(account_id, label)

    def charge(self, *args):
        return self.inner.charge(*args)

    def refund(self, *args):
        if self.mode == "declined":
            raise PaymentError("ledger: refund declined (card declined)")
        self.inner.refund(*args)
        raise RuntimeError("the process died after the provider refunded")


@pytest.fixture
def ledger(db, shop):
    """a-1 (card on file) with s-1 closed and charged; b-2 another customer; reviewer rv-1."""
    provider = LedgerProvider(db)
    customer(db, "a-1")
    card(db, provider, "a-1")
    customer(db, "b-2")
    associate(db)
    shopping(db, "s-1", "a-1", CART)
    log_event(db, 1, {"1.1.1": -1065.0}, (("111", 3),), "s-1", confidence=0.62)
    log_event(db, 2, {"1.2.1": -500.0}, (("222", 1),), "s-1")
    log_event(db, 4, {"1.1.2": -355.0}, (("111", 1),), None)  # not this session's
    receipt = finalize(db, shop, provider, "s-1")
    assert receipt.total_cents == TOTAL_CENTS
    return provider


def open_(db, shop, provider, line_no=0, quantity=1, account_id="a-1", session_id="s-1", **kw):
    return disputes.open_dispute(
        db,
        provider,
        store=shop,
        account_id=account_id,
        session_id=session_id,
        line_no=line_no,
        quantity=quantity,
        reason="I did not take it",
        **kw,
    )


@pytest.mark.parametrize(
    ("line_no", "quantity", "amount_cents"),
    [
        (0, 1, 199 + 17),  # tax share 58 * 199 / 697 = 16.56 -> 17
        (1, 1, 349),  # untaxed: no tax share
        (2, 1, 100 + 8),  # 58 * 100 / 697 = 8.32 -> 8
    ],
)
def test_small_dispute_is_refunded_at_once_recorded_and_mailed(db, shop, ledger, line_no, quantity, amount_cents):
    out = open_(db, shop, ledger, line_no, quantity)
    assert (out.status, out.amount_cents, out.review_id, out.quantity) == ("refunded", amount_cents, None, quantity)
    (payment,) = rows(db, PaymentRow, PaymentRow.idempotency_key == f"refund:dispute:{out.dispute_id}")
    assert (payment["kind"], payment["amount_cents"], payment["status"]) == ("refund", amount_cents, "succeeded")
    assert out.payment_id == payment["payment_id"]
    assert [e["amount_cents"] for e in rows(db, LedgerEntryRow, LedgerEntryRow.kind == "refund")] == [amount_cents]
    (mail,) = rows(db, OutboxMessageRow, OutboxMessageRow.idempotency_key == f"refund:dispute:{out.dispute_id}")
    assert (mail["kind"], mail["to_addr"], mail["status"]) == ("refund", "a-1@example.invalid", "queued")
    assert "Disputed: 1 x" in mail["body_text"]
    assert review.tasks(db, kind="dispute") == []
    assert disputes.dispute(db, out.dispute_id) == out


def test_large_dispute_goes_to_review_with_the_evidence_then_approval_refunds(db, shop, ledger):
    out = open_(db, shop, ledger, 0, 3)
    assert (out.status, out.amount_cents) == ("in_review", 597 + 50)  # 58 * 597 / 697 = 49.68 -> 50
    assert rows(db, PaymentRow, PaymentRow.kind == "refund") == []
    (task,) = review.tasks(db, kind="dispute")
    assert (task.review_id, task.event_id, task.session_id, task.recording) == (
        out.review_id,
        out.dispute_id,
        "s-1",
        "rec-1",
    )
    ev = task.evidence
    assert ev["line"] == {
        "line_no": 0,
        "upc": "111",
        "name": "Cola",
        "quantity": 3,
        "unit_price_cents": 199,
        "taxable": True,
    }
    assert [(e["event_id"], e["plate_delta_g"], e["confidence"]) for e in ev["shelf_events"]] == [
        (1, {"1.1.1": -1065.0}, 0.62)
    ]
    assert [c["event_id"] for c in ev["cart_lines"]] == [1]
    decided = review.decide(db, task.review_id, reviewer_id=REVIEWER, action="approve", store=shop, provider=ledger)
    assert decided.dispute is not None and decided.dispute.status == "refunded" and not decided.replayed
    (payment,) = rows(db, PaymentRow, PaymentRow.kind == "refund")
    assert (payment["idempotency_key"], payment["amount_cents"]) == (f"refund:dispute:{out.dispute_id}", 647)
    assert rows(db, OutboxMessageRow, OutboxMessageRow.idempotency_key == f"refund:dispute:{out.dispute_id}")
    (resolved,) = review.tasks(db, status="resolved")
    assert resolved.decision["action"] == "approve" and resolved.decided_by == REVIEWER
    again = review.decide(db, task.review_id, reviewer_id=REVIEWER, action="approve", store=shop, provider=ledger)
    assert again.replayed and len(rows(db, PaymentRow, PaymentRow.kind == "refund")) == 1
    with pytest.raises(OperationError, match="already decided"):
        review.decide(db, task.review_id, reviewer_id=REVIEWER, action="reject", store=shop, provider=ledger)


def test_rejected_dispute_is_mailed_and_its_units_stay_disputed(db, shop, ledger):
    out = open_(db, shop, ledger, 0, 3)
    decided = review.decide(db, out.review_id, reviewer_id=REVIEWER, action="correct", store=shop, provider=ledger)
    assert decided.action == "reject" and decided.dispute.status == "rejected"
    assert rows(db, PaymentRow, PaymentRow.kind == "refund") == []
    (mail,) = rows(db, OutboxMessageRow, OutboxMessageRow.idempotency_key == f"dispute:{out.dispute_id}:rejected")
    assert mail["kind"] == "dispute" and "charge stands" in mail["body_text"]
    assert rows(db, DisputeRow)[0]["status"] == "rejected"
    with pytest.raises(OperationError, match="quantity 1 exceeds the 0 units"):
        open_(db, shop, ledger, 0, 1)


def test_disputed_units_count_against_the_line(db, shop, ledger):
    open_(db, shop, ledger, 0, 1)
    with pytest.raises(OperationError, match="open_dispute: quantity 3 exceeds the 2 units of line 0"):
        open_(db, shop, ledger, 0, 3)
    assert open_(db, shop, ledger, 0, 2).status == "refunded"  # 2 x 1.99 + tax share: under 5.00


def test_threshold_is_a_parameter(db, shop, ledger):
    assert open_(db, shop, ledger, 1, 1, params=DisputeParams(auto_refund_max_cents=0)).status == "in_review"
    assert open_(db, shop, ledger, 0, 3, params=DisputeParams(auto_refund_max_cents=10_000)).status == "refunded"
    with pytest.raises(OperationError, match="auto_refund_max_cents"):
        DisputeParams(auto_refund_max_cents=-1)


def test_declined_automatic_refund_goes_to_review_and_approval_pays_under_a_new_key(db, shop, ledger):
    out = open_(db, shop, FlakyProvider(ledger, "declined"), 1, 1)
    assert out.status == "in_review" and "declined" in out.note and out.review_id is not None
    (failed,) = rows(db, PaymentRow, PaymentRow.status == "failed")
    assert failed["idempotency_key"] == f"refund:dispute:{out.dispute_id}"
    decided = review.decide(db, out.review_id, reviewer_id=REVIEWER, action="approve", store=shop, provider=ledger)
    assert decided.dispute.status == "refunded"
    (paid,) = rows(db, PaymentRow, PaymentRow.status == "succeeded", PaymentRow.kind == "refund")
    assert paid["idempotency_key"] == f"refund:dispute:{out.dispute_id}:2"


def test_settle_pending_finishes_a_refund_interrupted_by_a_crash_without_paying_twice(db, shop, ledger):
    with pytest.raises(RuntimeError):
        open_(db, shop, FlakyProvider(ledger, "crash"), 1, 1)
    (pending,) = rows(db, DisputeRow)
    assert (pending["status"], pending["review_id"]) == ("in_review", None)
    (settled,) = disputes.settle_pending(db, ledger, store=shop)
    assert settled.status == "refunded"
    assert len(rows(db, LedgerEntryRow, LedgerEntryRow.kind == "refund")) == 1  # the provider replayed the key
    assert len(rows(db, PaymentRow, PaymentRow.kind == "refund")) == 1
    assert disputes.settle_pending(db, ledger, store=shop) == []


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"account_id": "b-2"}, "session_id 's-1' is not a session of account 'b-2'"),
        ({"session_id": "nope"}, "session_id 'nope' is not a session of account 'a-1'"),
        ({"session_id": "s-open"}, "session_id 's-open' has no receipt yet \\(it is open\\)"),
        ({"line_no": 9}, "line_no 9 is not a line of the receipt of session 's-1' \\(it has 3 lines"),
        ({"line_no": -1}, "line_no must be an integer >= 0"),
        ({"quantity": 0}, "quantity must be an integer >= 1"),
        ({"quantity": True}, "quantity must be an integer >= 1"),
        ({"quantity": 4}, "quantity 4 exceeds the 3 units of line 0"),
        ({"reason": "  "}, "reason must not be empty"),
    ],
)
def test_open_dispute_refuses_naming_the_field_and_writes_nothing(db, shop, ledger, kw, message):
    shopping(db, "s-open", "a-1", {})
    args = {"account_id": "a-1", "session_id": "s-1", "line_no": 0, "quantity": 1, "reason": "not mine", **kw}
    with pytest.raises(OperationError, match=f"open_dispute: {message}"):
        disputes.open_dispute(db, ledger, store=shop, **args)
    assert rows(db, DisputeRow) == [] and rows(db, PaymentRow, PaymentRow.kind == "refund") == []


def test_resolve_dispute_review_refuses_an_event_task(db, shop, ledger):
    from ops_world import queue

    rid = queue(db, 7)
    with pytest.raises(OperationError, match="is not a dispute review task"):
        disputes.resolve_dispute_review(db, ledger, rid, store=shop, reviewer_id=REVIEWER, action="approve")
    with pytest.raises(OperationError, match="action 'maybe'"):
        disputes.resolve_dispute_review(db, ledger, rid, store=shop, reviewer_id=REVIEWER, action="maybe")
