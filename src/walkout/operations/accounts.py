"""Accounts and their payment methods.

An account is a shopper (``customer``) or a store associate (``associate``); its app token (the
static id a demo QR carries) is minted here with :func:`secrets.token_urlsafe`. A payment method
is vaulted by the payment provider (:class:`walkout.carts.payments.PaymentProvider`), which
answers an opaque token: walkout stores that token and a display label (``"Visa ending 4242"``),
never card data. The first method of an account becomes its default; removing the default
promotes the newest remaining one.

Every function runs its own transaction(s); bad input raises
:class:`~walkout.core.errors.OperationError` naming the field, before anything is written.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from walkout.carts.payments import PaymentProvider
from walkout.core.errors import OperationError, StorageError
from walkout.engine.db import AccountRecord, Database
from walkout.engine.db.models import AccountRow, utc_now
from walkout.engine.db.models_ops import PaymentMethodRow
from walkout.operations import _checks

Role = Literal["customer", "associate"]
MAX_LABEL_DIGITS = 6  # a label with more digits than this looks like a card number and is refused


@dataclass(frozen=True)
class PaymentMethodRecord:
    """A payment method on file.

    Attributes:
        method_id: walkout's id of the method.
        account_id: the account it belongs to.
        provider: the name of the provider that vaulted it (``PaymentProvider.name``).
        provider_token: the provider's opaque token (what a charge names).
        label: display label, e.g. ``"Visa ending 4242"``.
        is_default: whether checkout charges this method.
        created_at: when it was added (timezone-aware UTC).
        removed_at: when it was removed, or None while it is usable.
    """

    method_id: int
    account_id: str
    provider: str
    provider_token: str
    label: str
    is_default: bool
    created_at: datetime
    removed_at: datetime | None = None


def register_account(db: Database, account_id: str, name: str, email: str, role: Role = "customer") -> AccountRecord:
    """Create an account with a fresh app token.

    Args:
        db: the walkout database.
        account_id: 1-64 letters, digits, ``. _ : -``, starting alphanumeric.
        name: display name (1-200 characters).
        email: where receipts go (shape-checked, at most 320 characters).
        role: ``"customer"`` or ``"associate"``.

    Raises:
        OperationError: a malformed field (named in the message) or an ``account_id`` already taken.
        StorageError: the database failed.
    """
    op = "register_account"
    _checks.ident(op, "account_id", account_id)
    _checks.text(op, "name", name, 200)
    _checks.email(op, "email", email)
    if role not in ("customer", "associate"):
        raise OperationError(f"{op}: role {role!r} must be 'customer' or 'associate'")
    try:
        with db.transaction(op) as s:
            if s.get(AccountRow, account_id) is not None:
                raise OperationError(f"{op}: account_id {account_id!r} is already registered")
            row = AccountRow(account_id=account_id, name=name, email=email, token=secrets.token_urlsafe(24), role=role)
            s.add(row)
            s.flush()
            return _account_record(row)
    except StorageError as exc:
        if _checks.is_integrity_error(exc):  # registered concurrently
            raise OperationError(f"{op}: account_id {account_id!r} is already registered") from exc
        raise


def account(db: Database, account_id: str) -> AccountRecord | None:
    """The stored account, or None."""
    with db.transaction("account") as s:
        row = s.get(AccountRow, account_id)
        return None if row is None else _account_record(row)


def add_payment_method(db: Database, provider: PaymentProvider, account_id: str, label: str) -> PaymentMethodRecord:
    """Vault a payment method with ``provider`` and keep its token and label on the account.

    The provider is asked first (outside any transaction); the method becomes the default if the
    account has no usable one.

    Args:
        db: the walkout database.
        provider: the payment provider that vaults the method.
        account_id: an active account.
        label: display label (1-64 characters, at most 6 digits: never a card number).

    Raises:
        OperationError: unknown or erased account, or a bad label.
        PaymentError: the provider refused to vault the method.
        StorageError: the database failed (the provider may then hold an unused token).
    """
    op = "add_payment_method"
    _checks.text(op, "label", label, 64)
    if sum(c.isdigit() for c in label) > MAX_LABEL_DIGITS:
        raise OperationError(f"{op}: label looks like a card number; store a display label such as 'Visa ending 4242'")
    with db.transaction(op) as s:
        _active_account(s, op, account_id)
    token = provider.new_payment_method(account_id, label)
    _checks.text(op, "provider token", token, 128)
    with db.transaction(op) as s:
        _active_account(s, op, account_id)
        has_default = _default_row(s, account_id) is not None
        row = PaymentMethodRow(
            account_id=account_id, provider=provider.name, provider_token=token, label=label, is_default=not has_default
        )
        s.add(row)
        s.flush()
        return _method_record(row)


def payment_methods(db: Database, account_id: str, *, include_removed: bool = False) -> list[PaymentMethodRecord]:
    """The account's payment methods in the order they were added (usable ones only by default)."""
    with db.transaction("payment_methods") as s:
        query = select(PaymentMethodRow).where(PaymentMethodRow.account_id == account_id)
        if not include_removed:
            query = query.where(PaymentMethodRow.removed_at.is_(None))
        return [_method_record(r) for r in s.scalars(query.order_by(PaymentMethodRow.method_id))]


def default_payment_method(db: Database, account_id: str) -> PaymentMethodRecord | None:
    """The method checkout charges for the account, or None if it has no usable method."""
    with db.transaction("default_payment_method") as s:
        row = _default_row(s, account_id)
        return None if row is None else _method_record(row)


def set_default_payment_method(db: Database, account_id: str, method_id: int) -> PaymentMethodRecord:
    """Make a usable method of the account its default.

    Raises:
        OperationError: the method is unknown, another account's, or removed.
    """
    op = "set_default_payment_method"
    with db.transaction(op) as s:
        row = _method_row(s, op, account_id, method_id)
        if row.removed_at is not None:
            raise OperationError(f"{op}: payment method {method_id} was removed")
        for other in s.scalars(select(PaymentMethodRow).where(PaymentMethodRow.account_id == account_id)):
            other.is_default = other.method_id == method_id
        s.flush()
        return _method_record(row)


def remove_payment_method(db: Database, account_id: str, method_id: int) -> PaymentMethodRecord:
    """Remove a method (the row stays for the payments that name it); removing twice is a no-op.

    If it was the default, the newest remaining usable method becomes the default.

    Returns:
        The removed method.

    Raises:
        OperationError: the method is unknown or another account's.
    """
    op = "remove_payment_method"
    with db.transaction(op) as s:
        row = _method_row(s, op, account_id, method_id)
        if row.removed_at is None:
            was_default = row.is_default
            row.removed_at, row.is_default = utc_now(), False
            s.flush()
            if was_default:
                newest = s.scalars(
                    select(PaymentMethodRow)
                    .where(PaymentMethodRow.account_id == account_id, PaymentMethodRow.removed_at.is_(None))
                    .order_by(PaymentMethodRow.method_id.desc())
                    .limit(1)
                ).one_or_none()
                if newest is not None:
                    newest.is_default = True
            s.flush()
        return _method_record(row)


def _active_account(s: Session, op: str, account_id: str) -> AccountRow:
    row = s.get(AccountRow, account_id)
    if row is None:
        raise OperationError(f"{op}: account_id {account_id!r} is unknown")
    if row.status != "active":
        raise OperationError(f"{op}: account {account_id!r} is {row.status}")
    return row


def _default_row(s: Session, account_id: str) -> PaymentMethodRow | None:
    query = select(PaymentMethodRow).where(
        PaymentMethodRow.account_id == account_id,
        PaymentMethodRow.removed_at.is_(None),
        PaymentMethodRow.is_default.is_(True),
    )
    return s.scalars(query.order_by(PaymentMethodRow.method_id.desc()).limit(1)).one_or_none()


def _method_row(s: Session, op: str, account_id: str, method_id: int) -> PaymentMethodRow:
    if isinstance(method_id, bool) or not isinstance(method_id, int):
        raise OperationError(f"{op}: method_id must be an integer, got {method_id!r}")
    row = s.get(PaymentMethodRow, method_id)
    if row is None or row.account_id != account_id:
        raise OperationError(f"{op}: method_id {method_id!r} is not a payment method of account {account_id!r}")
    return row


def _account_record(row: AccountRow) -> AccountRecord:
    return AccountRecord(
        row.account_id,
        row.name,
        row.email,
        row.token,
        cast(Role, row.role),
        _checks.utc(row.created_at),
        cast(Literal["active", "erased"], row.status or "active"),
    )


def _method_record(row: PaymentMethodRow) -> PaymentMethodRecord:
    removed = None if row.removed_at is None else _checks.utc(row.removed_at)
    return PaymentMethodRecord(
        row.method_id,
        row.account_id,
        row.provider,
        row.provider_token,
        row.label,
        bool(row.is_default),
        _checks.utc(row.created_at),
        removed,
    )
