"""Accounts and payment methods: registration checks, vaulting, defaults, removal."""

from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, select

from walkout.core.errors import OperationError
from walkout.engine.db.models import AccountRow
from walkout.engine.db.models_ops import PaymentMethodRow
from walkout.operations import accounts
from walkout.operations.ledger import LedgerProvider


class CountingProvider(LedgerProvider):
    """The ledger, counting how often it was asked to vault a method."""

    vaulted = 0

    def new_payment_method(self, account_id: str, label: str) -> str:
        self.vaulted += 1
        return super().new_payment_method(account_id, label)


def _accounts(db) -> int:
    with db.transaction("test") as s:
        return int(s.scalar(select(func.count()).select_from(AccountRow)) or 0)


def test_register_account(db):
    rec = accounts.register_account(db, "c-1", "Chloé O'Brien", "chloe+shop@mail.example.org")
    assert (rec.account_id, rec.name, rec.email, rec.role, rec.status) == (
        "c-1",
        "Chloé O'Brien",
        "chloe+shop@mail.example.org",
        "customer",
        "active",
    )
    assert len(rec.token) >= 32 and rec.created_at.tzinfo is not None
    other = accounts.register_account(db, "c-2", "Dan", "dan@example.org", role="associate")
    assert other.role == "associate" and other.token != rec.token
    assert accounts.account(db, "c-1") == rec
    assert accounts.account(db, "nobody") is None


@pytest.mark.parametrize(
    ("account_id", "name", "email", "role", "field"),
    [
        ("", "Ann", "ann@example.org", "customer", "account_id"),
        ("a b", "Ann", "ann@example.org", "customer", "account_id"),
        ("-a", "Ann", "ann@example.org", "customer", "account_id"),
        ("a" * 65, "Ann", "ann@example.org", "customer", "account_id"),
        (7, "Ann", "ann@example.org", "customer", "account_id"),
        ("a-1", "", "ann@example.org", "customer", "name"),
        ("a-1", "   ", "ann@example.org", "customer", "name"),
        ("a-1", "x" * 201, "ann@example.org", "customer", "name"),
        ("a-1", "Ann\x00", "ann@example.org", "customer", "name"),
        ("a-1", "Ann", "ann", "customer", "email"),
        ("a-1", "Ann", "ann@", "customer", "email"),
        ("a-1", "Ann", "ann@localhost", "customer", "email"),
        ("a-1", "Ann", "an n@example.org", "customer", "email"),
        ("a-1", "Ann", "ann@example.org\nBcc: x@y.org", "customer", "email"),
        ("a-1", "Ann", "a@b@example.org", "customer", "email"),
        ("a-1", "Ann", "ann@example.org", "admin", "role"),
    ],
)
def test_register_refuses_bad_input_naming_the_field(db, account_id, name, email, role, field):
    with pytest.raises(OperationError, match=rf"^register_account: {field}\b"):
        accounts.register_account(db, account_id, name, email, role)
    assert _accounts(db) == 0


def test_register_refuses_a_duplicate_id(db):
    accounts.register_account(db, "a-1", "Ann", "ann@example.org")
    with pytest.raises(OperationError, match="account_id 'a-1' is already registered"):
        accounts.register_account(db, "a-1", "Other", "other@example.org")
    assert accounts.account(db, "a-1").name == "Ann"


def test_first_method_is_the_default_and_only_token_and_label_are_stored(db):
    accounts.register_account(db, "a-1", "Ann", "ann@example.org")
    ledger = LedgerProvider(db)
    visa = accounts.add_payment_method(db, ledger, "a-1", "Visa ending 4242")
    amex = accounts.add_payment_method(db, ledger, "a-1", "Amex ending 0005")
    assert (visa.is_default, amex.is_default) == (True, False)
    assert visa.provider == "ledger" and visa.provider_token.startswith("tok_")
    assert accounts.payment_methods(db, "a-1") == [visa, amex]
    assert accounts.default_payment_method(db, "a-1") == visa
    stored = {c["name"] for c in inspect(db.engine).get_columns("payment_methods")}
    assert stored == {
        "method_id",
        "account_id",
        "provider",
        "provider_token",
        "label",
        "is_default",
        "created_at",
        "removed_at",
    }


@pytest.mark.parametrize(
    ("account_id", "label", "message"),
    [
        ("a-1", "4242 4242 4242 4242", "label looks like a card number"),
        ("a-1", "", "label must not be empty"),
        ("a-1", "x" * 65, "label is 65 characters long"),
        ("nobody", "Visa", "account_id 'nobody' is unknown"),
    ],
)
def test_add_payment_method_refusals_vault_nothing(db, account_id, label, message):
    accounts.register_account(db, "a-1", "Ann", "ann@example.org")
    provider = CountingProvider(db)
    with pytest.raises(OperationError, match=message):
        accounts.add_payment_method(db, provider, account_id, label)
    assert provider.vaulted == 0
    with db.transaction("test") as s:
        assert s.scalar(select(func.count()).select_from(PaymentMethodRow)) == 0


def test_removing_the_default_promotes_the_newest_remaining_method(db):
    accounts.register_account(db, "a-1", "Ann", "ann@example.org")
    accounts.register_account(db, "b-2", "Bob", "bob@example.org")
    ledger = LedgerProvider(db)
    m1, m2, m3 = (accounts.add_payment_method(db, ledger, "a-1", f"Card {i}") for i in (1, 2, 3))
    removed = accounts.remove_payment_method(db, "a-1", m1.method_id)
    assert removed.removed_at is not None and not removed.is_default
    assert accounts.default_payment_method(db, "a-1").method_id == m3.method_id
    assert accounts.remove_payment_method(db, "a-1", m1.method_id) == removed  # twice: a no-op
    assert [m.method_id for m in accounts.payment_methods(db, "a-1")] == [m2.method_id, m3.method_id]
    assert len(accounts.payment_methods(db, "a-1", include_removed=True)) == 3
    assert accounts.set_default_payment_method(db, "a-1", m2.method_id).is_default
    assert accounts.default_payment_method(db, "a-1").method_id == m2.method_id
    with pytest.raises(OperationError, match="is not a payment method of account 'b-2'"):
        accounts.remove_payment_method(db, "b-2", m2.method_id)
    with pytest.raises(OperationError, match="was removed"):
        accounts.set_default_payment_method(db, "a-1", m1.method_id)
    for m in (m2, m3):
        accounts.remove_payment_method(db, "a-1", m.method_id)
    assert accounts.default_payment_method(db, "a-1") is None
