"""The built-in payment provider: idempotent charges and refunds over ledger_entries."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from walkout.core.errors import PaymentError
from walkout.engine.db.models_ops import LedgerEntryRow
from walkout.operations import accounts
from walkout.operations.ledger import LedgerProvider


@pytest.fixture
def token(db, seed):
    """A vaulted payment method's token (account a-1)."""
    seed("a-1")
    return accounts.add_payment_method(db, LedgerProvider(db), "a-1", "Visa ending 4242").provider_token


def _count(db) -> int:
    with db.transaction("test") as s:
        return int(s.scalar(select(func.count()).select_from(LedgerEntryRow)) or 0)


def test_tokens_are_unguessable_and_distinct(db):
    ledger = LedgerProvider(db)
    tokens = {ledger.new_payment_method("a-1", "x") for _ in range(50)}
    assert len(tokens) == 50
    assert all(re.fullmatch(r"tok_[A-Za-z0-9_-]{32}", t) for t in tokens)


def test_charge_executes_a_key_once_and_replays_it(db, token):
    ledger = LedgerProvider(db)
    first = ledger.charge(token, 1234, "USD", "charge:s-1", "receipt s-1")
    assert (first.kind, first.amount_cents, first.replayed) == ("charge", 1234, False)
    assert first.provider_ref.startswith("ledger:")
    again = ledger.charge(token, 999, "EUR", "charge:s-1", "other arguments are ignored")
    assert again == type(first)(first.provider_ref, "charge", 1234, replayed=True)
    assert _count(db) == 1
    assert ledger.balance_cents(token) == 1234
    [entry] = ledger.entries(token)
    assert (entry.kind, entry.amount_cents, entry.currency, entry.idempotency_key) == (
        "charge",
        1234,
        "USD",
        "charge:s-1",
    )


def test_refunds_never_exceed_what_was_charged_on_the_token(db, token):
    ledger = LedgerProvider(db)
    ledger.charge(token, 1000, "USD", "c1", "")
    assert ledger.refund(token, 600, "USD", "r1", "").replayed is False
    with pytest.raises(PaymentError, match="refund of 401 cents exceeds the 400 cents"):
        ledger.refund(token, 401, "USD", "r2", "")
    assert ledger.refund(token, 400, "USD", "r2", "").amount_cents == 400
    assert ledger.refund(token, 600, "USD", "r1", "").replayed is True  # a replay is no new refund
    assert ledger.balance_cents(token) == 0
    assert [e.kind for e in ledger.entries(token)] == ["charge", "refund", "refund"]


@pytest.mark.parametrize(
    ("kind", "amount", "currency", "key", "which_token", "message"),
    [
        ("charge", 0, "USD", "k", "good", "amount_cents must be an integer > 0"),
        ("charge", -5, "USD", "k", "good", "amount_cents must be an integer > 0"),
        ("charge", True, "USD", "k", "good", "amount_cents must be an integer > 0"),
        ("charge", 1.5, "USD", "k", "good", "amount_cents must be an integer > 0"),
        ("charge", 100, "usd", "k", "good", "currency 'usd' is not an ISO 4217 code"),
        ("charge", 100, "USD", "", "good", "idempotency_key must be 1-128 characters"),
        ("charge", 100, "USD", "k" * 129, "good", "idempotency_key must be 1-128 characters"),
        ("charge", 100, "USD", "k", "unknown", "no payment method with this token"),
        ("charge", 100, "USD", "k", "declined", "declined"),
        ("refund", 100, "USD", "k", "declined", "declined"),
        ("refund", 1, "USD", "k", "good", "refund of 1 cents exceeds the 0 cents"),
    ],
)
def test_refusals(db, token, kind, amount, currency, key, which_token, message):
    ledger = LedgerProvider(db, declined_tokens={"tok_declined"})
    tok = {"good": token, "unknown": "tok_never_vaulted", "declined": "tok_declined"}[which_token]
    with pytest.raises(PaymentError, match=re.escape(message)):
        getattr(ledger, kind)(tok, amount, currency, key, "")
    assert _count(db) == 0


def test_a_removed_method_cannot_be_charged_but_can_be_refunded(db, token):
    ledger = LedgerProvider(db)
    ledger.charge(token, 500, "USD", "c1", "")
    [method] = accounts.payment_methods(db, "a-1")
    accounts.remove_payment_method(db, "a-1", method.method_id)
    with pytest.raises(PaymentError, match="removed"):
        ledger.charge(token, 500, "USD", "c2", "")
    assert ledger.refund(token, 500, "USD", "r1", "").amount_cents == 500


class _StaleLedger(LedgerProvider):
    """Misses a key on its first look-up, as when another request commits between look-up and insert."""

    missed = False

    def _find_entry(self, s, key):
        if not self.missed:
            self.missed = True
            return None
        return super()._find_entry(s, key)


def test_a_lost_race_answers_the_winners_entry(db, token):
    winner = LedgerProvider(db).charge(token, 700, "USD", "charge:race", "the winner")
    loser = _StaleLedger(db)
    result = loser.charge(token, 700, "USD", "charge:race", "the loser")
    assert loser.missed
    assert result == type(winner)(winner.provider_ref, "charge", 700, replayed=True)
    assert _count(db) == 1


def test_concurrent_requests_with_one_key_charge_once(db, token):
    ledger = LedgerProvider(db)
    results, errors = [], []
    barrier = threading.Barrier(6)

    def charge() -> None:
        barrier.wait()
        try:
            results.append(ledger.charge(token, 250, "USD", "charge:threads", ""))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=charge) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.replayed for r in results) == [False] + [True] * 5
    assert len({r.provider_ref for r in results}) == 1
    assert _count(db) == 1
