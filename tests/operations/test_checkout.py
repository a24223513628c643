"""Checkout: finalize exited sessions once (receipt, charge, e-mail), whatever the retries and crashes."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from walkout.core.errors import OperationError
from walkout.engine.db.models import ReviewItemRow, SessionRow
from walkout.engine.db.models_ops import PaymentRow
from walkout.io.mail import SmtpSender
from walkout.operations import accounts, money, outbox
from walkout.operations.checkout import Checkout, CheckoutParams
from walkout.operations.ledger import LedgerProvider

CART = {"111": 2, "222": 1}  # 2 x 1.99 taxed + 3.49 untaxed = 7.47, tax 0.33 (8.25 %): total 7.80
TOTAL_CENTS = 780
ENTRY_T_S, EXIT_T_S = 100.0, 325.0  # 03:45 in the store


class SimulatedCrash(Exception):
    """The process dying between the provider's charge and the payment's commit."""


def crash() -> None:
    raise SimulatedCrash


@pytest.fixture
def ledger(db):
    return LedgerProvider(db)


@pytest.fixture
def shopper(db, seed, ledger):
    """Account a-1 (a-1@example.invalid) with a Visa on file; returns its provider token."""
    seed("a-1")
    return accounts.add_payment_method(db, ledger, "a-1", "Visa ending 4242").provider_token


@pytest.fixture
def checkout(db, shop, ledger, mailer):
    return Checkout(db, shop, ledger, mailer, CheckoutParams(review_wait_s=120.0))


def exited(db, session_id="s-1", account_id="a-1", cart=None, entry_t_s=ENTRY_T_S, exit_t_s=EXIT_T_S):
    """Open a session, book its cart, exit it."""
    db.open_session(session_id, account_id, "rec", entry_t_s)
    for i, (upc, qty) in enumerate(sorted((CART if cart is None else cart).items())):
        db.add_cart_line(session_id, i + 1, upc, qty, entry_t_s + 1.0, 0.99)
    return db.exit_session(session_id, exit_t_s)


def count(db, model, *where) -> int:
    with db.transaction("test") as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_finalize_stores_charges_and_mails_the_receipt(db, checkout, shopper, ledger, mailer):
    exited(db)
    out = checkout.finalize("s-1", now_s=EXIT_T_S + 1.0)
    assert (out.status, out.mail_status, out.detail) == ("finalized", "sent", "")
    assert out.receipt == db.receipt("s-1") and out.receipt.total_cents == TOTAL_CENTS
    assert db.session("s-1").status == "closed"
    assert (out.payment.status, out.payment.amount_cents, out.payment.idempotency_key) == (
        "succeeded",
        780,
        "charge:s-1",
    )
    assert ledger.balance_cents(shopper) == TOTAL_CENTS
    [message] = mailer.sent
    assert message["To"] == "a-1@example.invalid" and "$7.80" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "Time in store: 03:45" in text and "Paid with: Visa ending 4242" in text
    assert list(message.iter_attachments()) == []


def test_retrying_100_times_around_a_crash_charges_exactly_once(db, checkout, shopper, ledger):
    exited(db)
    outcomes, crashes = [], 0
    for attempt in range(100):
        hook = crash if attempt < 3 else None  # three attempts die between the charge and its record
        try:
            outcomes.append(checkout.finalize("s-1", now_s=EXIT_T_S + attempt, crash_after_charge=hook))
        except SimulatedCrash:
            crashes += 1
            assert count(db, PaymentRow) == 0  # charged at the provider, not recorded by walkout
    charges = ledger.entries(shopper, kind="charge")
    receipt = db.receipt("s-1")
    print(
        f"\n{len(outcomes) + crashes} finalizations ({crashes} crashed after the charge): "
        f"{len(charges)} ledger charge(s), {count(db, PaymentRow)} payment row(s)"
    )
    assert crashes == 3 and len(outcomes) == 97
    assert len(charges) == 1 and charges[0].amount_cents == receipt.total_cents == TOTAL_CENTS
    assert count(db, PaymentRow) == 1
    assert {o.status for o in outcomes} == {"finalized"}
    assert {o.payment for o in outcomes} == {money.payment_by_key(db, "charge:s-1")}
    assert len(outbox.messages(db)) == 1


def test_finalize_due_resumes_a_session_interrupted_after_the_charge(db, checkout, shopper, ledger, mailer):
    exited(db)
    with pytest.raises(SimulatedCrash):
        checkout.finalize("s-1", now_s=EXIT_T_S, crash_after_charge=crash)
    assert db.session("s-1").status == "closed"  # no longer exited: finalize_due must still find it
    [out] = checkout.finalize_due(now_s=EXIT_T_S + 5.0)
    assert (out.session_id, out.status, out.mail_status) == ("s-1", "finalized", "sent")
    assert len(ledger.entries(kind="charge")) == 1 and len(mailer.sent) == 1
    assert checkout.finalize_due(now_s=EXIT_T_S + 10.0) == []


class Inbox:
    """An aiosmtpd handler keeping each message with the monotonic time it arrived."""

    def __init__(self) -> None:
        self.messages: list[tuple[float, list[str], bytes]] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: ARG002 - aiosmtpd's signature
        self.messages.append((time.monotonic(), list(envelope.rcpt_tos), bytes(envelope.content)))
        self.arrived.set()
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    """A local SMTP server (aiosmtpd) on a free loopback port: yields (inbox, port)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_receipts_reach_a_local_smtp_server_within_2_s_of_exit(db, shop, ledger, shopper, smtp_server):
    inbox, port = smtp_server
    checkout = Checkout(db, shop, ledger, SmtpSender("127.0.0.1", port, timeout_s=5.0), CheckoutParams())
    db.open_session("s-1", "a-1", "rec", ENTRY_T_S)
    for i, (upc, qty) in enumerate(sorted(CART.items())):
        db.add_cart_line("s-1", i + 1, upc, qty, ENTRY_T_S + 1.0, 0.99)
    t0 = time.monotonic()
    db.exit_session("s-1", EXIT_T_S)
    out = checkout.finalize("s-1", now_s=EXIT_T_S)
    assert inbox.arrived.wait(5.0)
    [(arrived_s, rcpt_tos, raw)] = inbox.messages
    elapsed_s = arrived_s - t0
    print(f"\nexit -> receipt at the SMTP server: {elapsed_s * 1000:.0f} ms ({db.engine.dialect.name})")
    assert elapsed_s < 2.0
    assert (out.status, out.mail_status) == ("finalized", "sent")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert rcpt_tos == ["a-1@example.invalid"] and message["To"] == "a-1@example.invalid"
    assert message["From"] == "receipts@walkout.invalid"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert message.get_content_type() == "multipart/alternative"
    assert "Total" in text and "$7.80 USD" in text
    assert "$7.80" in html and "<html" in html and "Visa ending 4242" in html


def test_the_pdf_option_attaches_the_receipt(db, shop, ledger, shopper, mailer):
    checkout = Checkout(db, shop, ledger, mailer, CheckoutParams(pdf=True))
    exited(db)
    assert checkout.finalize("s-1", now_s=EXIT_T_S).status == "finalized"
    [message] = mailer.sent
    [pdf] = list(message.iter_attachments())
    assert (pdf.get_content_type(), pdf.get_filename()) == ("application/pdf", "receipt-s-1.pdf")
    assert pdf.get_content().startswith(b"%PDF")
    assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None


def add_review(db, session_id: str, status: str = "open") -> int:
    with db.transaction("test") as s:
        row = ReviewItemRow(
            recording="rec",
            event_id=7,
            t_s=200.0,
            reason="low confidence",
            confidence=0.4,
            evidence={},
            status=status,
            kind="event",
            session_id=session_id,
        )
        s.add(row)
        s.flush()
        return row.review_id


@pytest.mark.parametrize(
    ("review", "after_exit_s", "expected"),
    [
        (None, 0.0, "finalized"),
        ("open", 0.0, "waiting"),
        ("open", 119.9, "waiting"),
        ("open", 120.0, "finalized"),  # waited long enough: finalize with what the cart holds
        ("resolved", 0.0, "finalized"),
    ],
)
def test_open_review_tasks_hold_the_receipt_up_to_review_wait_s(
    db, checkout, shopper, mailer, review, after_exit_s, expected
):
    exited(db)
    if review is not None:
        add_review(db, "s-1", review)
    out = checkout.finalize("s-1", now_s=EXIT_T_S + after_exit_s)
    assert out.status == expected
    if expected == "waiting":
        assert (out.open_reviews, out.retry_at_s) == (1, EXIT_T_S + 120.0)
        assert db.session("s-1").status == "exited" and db.receipt("s-1") is None
        assert count(db, PaymentRow) == 0 and outbox.messages(db) == [] and mailer.sent == []
    else:
        assert db.session("s-1").status == "closed" and len(mailer.sent) == 1


def test_a_review_correction_before_finalization_reaches_the_receipt(db, checkout, shopper):
    exited(db)
    review_id = add_review(db, "s-1")
    assert checkout.finalize("s-1", now_s=EXIT_T_S + 10).status == "waiting"
    db.add_cart_line("s-1", -review_id, "222", -1, EXIT_T_S + 20, 1.0, correction=True)  # no bread after all
    db.resolve_review_item(review_id)
    out = checkout.finalize("s-1", now_s=EXIT_T_S + 30)
    assert out.status == "finalized" and out.receipt.quantities() == {"111": 2}
    assert out.payment.amount_cents == out.receipt.total_cents == 398 + 33


def test_a_declined_card_leaves_a_failed_payment_and_a_closed_session_with_its_receipt(db, shop, shopper, mailer):
    declining = LedgerProvider(db, declined_tokens={shopper})
    checkout = Checkout(db, shop, declining, mailer)
    exited(db)
    for _ in range(3):  # retries change nothing
        out = checkout.finalize("s-1", now_s=EXIT_T_S)
        assert out.status == "payment_failed" and "declined" in out.detail
    assert db.session("s-1").status == "closed" and db.receipt("s-1").total_cents == TOTAL_CENTS
    [payment] = money.payments(db, "s-1")
    assert (payment.status, payment.amount_cents) == ("failed", TOTAL_CENTS)
    assert declining.entries() == []
    [message] = mailer.sent
    assert "payment failed: Visa ending 4242" in message.get_body(("plain",)).get_content()
    assert checkout.finalize_due(now_s=EXIT_T_S + 500) == []  # complete: not retried


@pytest.mark.parametrize("lines", [[], [(1, "111", 1), (2, "111", -1)]], ids=["empty", "put_back"])
def test_a_zero_total_is_mailed_but_not_charged(db, checkout, shopper, ledger, mailer, lines):
    db.open_session("s-1", "a-1", "rec", ENTRY_T_S)
    for event_id, upc, delta in lines:
        db.add_cart_line("s-1", event_id, upc, delta, ENTRY_T_S + event_id, 0.99)
    db.exit_session("s-1", EXIT_T_S)
    out = checkout.finalize("s-1", now_s=EXIT_T_S)
    assert (out.status, out.payment, out.receipt.total_cents, out.mail_status) == ("nothing_to_charge", None, 0, "sent")
    assert count(db, PaymentRow) == 0 and ledger.entries() == []
    [message] = mailer.sent
    text = message.get_body(("plain",)).get_content()
    assert "$0.00 USD" in text and "Paid with: nothing charged" in text


def test_staff_sessions_get_no_receipt_charge_or_mail(db, checkout, seed, ledger, mailer):
    seed("staff-1")
    exited(db, "st-1", "staff-1")
    with db.transaction("test") as s:
        s.execute(update(SessionRow).where(SessionRow.session_id == "st-1").values(kind="staff"))
    for _ in range(2):
        assert checkout.finalize("st-1", now_s=EXIT_T_S).status == "staff"
    assert db.session("st-1").status == "closed" and db.receipt("st-1") is None
    assert count(db, PaymentRow) == 0 and ledger.entries() == [] and outbox.messages(db) == [] and mailer.sent == []
    assert checkout.finalize_due(now_s=EXIT_T_S) == []


def test_finalize_due_goes_in_exit_order_and_isolates_a_broken_session(db, checkout, seed, shopper, ledger):
    seed("b-2", "c-3")
    exited(db, "s-late", "a-1", exit_t_s=400.0)
    exited(db, "s-early", "b-2", exit_t_s=200.0)
    exited(db, "s-bad", "c-3", cart={"999": 1}, exit_t_s=300.0)  # a UPC the store does not sell
    db.open_session("s-inside", "a-1", "rec", 350.0)
    outcomes = checkout.finalize_due(now_s=500.0)
    assert [(o.session_id, o.status) for o in outcomes] == [
        ("s-early", "payment_failed"),  # b-2 has no payment method on file
        ("s-bad", "error"),
        ("s-late", "finalized"),
    ]
    assert "UPC '999'" in outcomes[1].detail
    assert db.session("s-inside").status == "open"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("unknown", "session 's-1' is unknown"),
        ("open", "session 's-1' is open; only exited sessions are finalized"),
    ],
)
def test_finalize_refuses_sessions_that_cannot_be_finalized(db, checkout, shopper, setup, message):
    if setup == "open":
        db.open_session("s-1", "a-1", "rec", ENTRY_T_S)
    with pytest.raises(OperationError, match=message):
        checkout.finalize("s-1", now_s=EXIT_T_S)


def test_a_mail_server_outage_keeps_the_receipt_queued(db, shop, ledger, shopper, make_mailer):
    down = make_mailer(fail=1)
    checkout = Checkout(db, shop, ledger, down)
    exited(db)
    out = checkout.finalize("s-1", now_s=EXIT_T_S)
    assert (out.status, out.mail_status) == ("finalized", "queued")
    assert outbox.deliver(db, down, sender="receipts@walkout.invalid").sent == (out.message_id,)
    assert checkout.finalize("s-1", now_s=EXIT_T_S).mail_status == "sent"
    assert len(down.sent) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"review_wait_s": -1.0}, "review_wait_s must be a finite number >= 0"),
        ({"review_wait_s": float("nan")}, "review_wait_s"),
        ({"sender": "receipts"}, "sender 'receipts' is not an e-mail address"),
    ],
)
def test_checkout_params_are_checked(kwargs, message):
    with pytest.raises(OperationError, match=message):
        CheckoutParams(**kwargs)
