"""The money path: one payment per idempotency key, crash recovery, declines, refunds."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from walkout.core.errors import OperationError, PaymentError
from walkout.engine.db.models_ops import PaymentRow
from walkout.operations import accounts, money
from walkout.operations.ledger import LedgerProvider

CART = {"111": 2, "222": 1}  # 2 x 1.99 taxed + 3.49 untaxed: 7.47 + tax 0.33 = 7.80
TOTAL_CENTS = 780


class SpyProvider:
    """Wraps a provider: counts calls; ``crash`` raises after the inner call (a process dying there)."""

    def __init__(self, inner: LedgerProvider, crash: BaseException | None = None) -> None:
        self.inner, self.crash, self.calls, self.name = inner, crash, 0, inner.name

    def new_payment_method(self, account_id, label):
        return self.inner.new_payment_method(account_id, label)

    def _call(self, method, *args):
        self.calls += 1
        result = getattr(self.inner, method)(*args)
        if self.crash is not None:
            raise self.crash
        return result

    def charge(self, *args):
        return self._call("charge", *args)

    def refund(self, *args):
        return self._call("refund", *args)


@pytest.fixture
def paid_setup(db, seed, closed_session):
    """Account a-1 with a Visa on file and session s-1 closed with a 7.80 receipt; returns the ledger."""
    seed("a-1")
    ledger = LedgerProvider(db)
    accounts.add_payment_method(db, ledger, "a-1", "Visa ending 4242")
    receipt = closed_session("s-1", "a-1", CART)
    assert receipt.total_cents == TOTAL_CENTS
    return ledger


def charge(db, provider, key="charge:s-1", amount=TOTAL_CENTS, session="s-1"):
    return money.pay(
        db, provider, receipt_session_id=session, kind="charge", amount_cents=amount, idempotency_key=key, reason="test"
    )


def refund(db, provider, amount, key):
    return money.pay(
        db,
        provider,
        receipt_session_id="s-1",
        kind="refund",
        amount_cents=amount,
        idempotency_key=key,
        reason="dispute",
    )


def _payment_rows(db) -> int:
    with db.transaction("test") as s:
        return int(s.scalar(select(func.count()).select_from(PaymentRow)) or 0)


def test_charge_records_one_payment_and_a_repeat_does_not_call_the_provider(db, paid_setup):
    spy = SpyProvider(paid_setup)
    rec = charge(db, spy)
    assert (rec.session_id, rec.kind, rec.amount_cents, rec.currency, rec.status) == (
        "s-1",
        "charge",
        TOTAL_CENTS,
        "USD",
        "succeeded",
    )
    assert rec.method_label == "Visa ending 4242" and rec.provider_ref.startswith("ledger:")
    assert charge(db, spy) == rec
    assert spy.calls == 1
    assert money.payments(db, "s-1") == [rec]
    assert money.payment_by_key(db, "charge:s-1") == rec
    assert paid_setup.balance_cents(rec_token(db)) == TOTAL_CENTS


def rec_token(db) -> str:
    return accounts.payment_methods(db, "a-1", include_removed=True)[0].provider_token


def test_a_crash_between_provider_and_record_is_recovered_by_a_retry(db, paid_setup):
    crashing = SpyProvider(paid_setup, crash=SystemExit("killed after the charge"))
    with pytest.raises(SystemExit):
        charge(db, crashing)
    assert _payment_rows(db) == 0  # the provider charged, walkout recorded nothing
    rec = charge(db, SpyProvider(paid_setup))  # the retry: the provider replays the key
    assert rec.status == "succeeded"
    assert len(paid_setup.entries(kind="charge")) == 1
    assert _payment_rows(db) == 1


@pytest.mark.parametrize("failure", [OSError("timeout"), ConnectionError("reset")])
def test_an_unknown_outcome_records_nothing_and_the_retry_is_safe(db, paid_setup, failure):
    with pytest.raises(type(failure)):
        charge(db, SpyProvider(paid_setup, crash=failure))
    assert _payment_rows(db) == 0
    assert charge(db, paid_setup).status == "succeeded"
    assert len(paid_setup.entries(kind="charge")) == 1


def test_a_decline_is_recorded_failed_and_repeats_raise_without_calling_the_provider(db, paid_setup):
    declining = SpyProvider(LedgerProvider(db, declined_tokens={rec_token(db)}))
    with pytest.raises(PaymentError, match="declined"):
        charge(db, declining)
    [failed] = money.payments(db, "s-1")
    assert (failed.status, failed.provider_ref, failed.method_label) == ("failed", None, "Visa ending 4242")
    assert "declined" in failed.reason
    with pytest.raises(PaymentError, match="failed before"):
        charge(db, declining)
    assert declining.calls == 1
    assert paid_setup.entries() == []


def test_no_payment_method_is_a_recorded_failure(db, seed, closed_session):
    seed("b-2")
    closed_session("s-2", "b-2", {"111": 1})
    with pytest.raises(PaymentError, match="no payment method on file"):
        charge(db, LedgerProvider(db), key="charge:s-2", amount=215, session="s-2")
    [failed] = money.payments(db, "s-2")
    assert (failed.status, failed.method_id, failed.method_label) == ("failed", None, None)


def test_refunds_go_back_to_the_charged_method_and_never_exceed_the_charges(db, paid_setup):
    charged = charge(db, paid_setup)
    accounts.add_payment_method(db, paid_setup, "a-1", "Mastercard ending 4444")
    accounts.remove_payment_method(db, "a-1", charged.method_id)  # the new card is the default now
    r1 = refund(db, paid_setup, 300, "refund:dispute:1")
    assert (r1.kind, r1.status, r1.method_id) == ("refund", "succeeded", charged.method_id)
    with pytest.raises(OperationError, match="amount_cents 481 exceeds the 480 cents"):
        refund(db, paid_setup, 481, "refund:dispute:2")
    assert refund(db, paid_setup, 480, "refund:dispute:2").amount_cents == 480
    assert refund(db, paid_setup, 300, "refund:dispute:1") == r1
    assert paid_setup.balance_cents(charged_token := rec_token(db)) == 0
    assert [e.kind for e in paid_setup.entries(charged_token)] == ["charge", "refund", "refund"]


def test_a_refund_without_a_successful_charge_is_refused(db, paid_setup):
    with pytest.raises(OperationError, match="exceeds the 0 cents charged"):
        refund(db, paid_setup, 100, "refund:x")
    assert _payment_rows(db) == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"receipt_session_id": ""}, "receipt_session_id must not be empty"),
        ({"kind": "payout"}, "kind 'payout' must be 'charge' or 'refund'"),
        ({"amount_cents": 0}, "amount_cents must be an integer number of cents > 0"),
        ({"amount_cents": 7.8}, "amount_cents must be an integer number of cents > 0"),
        ({"amount_cents": True}, "amount_cents must be an integer number of cents > 0"),
        ({"idempotency_key": ""}, "idempotency_key '' must be 1-128 printable"),
        ({"idempotency_key": "a key"}, "idempotency_key 'a key' must be 1-128 printable"),
        ({"reason": "x" * 201}, "reason is 201 characters long"),
        ({"receipt_session_id": "s-404", "idempotency_key": "k2"}, "session 's-404' is unknown"),
        ({"receipt_session_id": "s-open", "idempotency_key": "k3"}, "session 's-open' has no receipt (it is open)"),
        ({"amount_cents": 1}, "idempotency_key 'charge:s-1' was used for a charge of 780 cents"),
    ],
)
def test_bad_requests_are_refused_before_anything_moves(db, paid_setup, overrides, message):
    charge(db, paid_setup)  # so that reusing its key with another amount is detectable
    db.open_session("s-open", "a-1", "rec", 1.0)
    args = {
        "receipt_session_id": "s-1",
        "kind": "charge",
        "amount_cents": TOTAL_CENTS,
        "idempotency_key": "charge:s-1",
        "reason": "test",
    } | overrides
    with pytest.raises(OperationError, match=re.escape(message)):
        money.pay(db, paid_setup, **args)
    assert _payment_rows(db) == 1
    assert len(paid_setup.entries()) == 1
