"""The built-in payment provider: a ledger of charges and refunds in walkout's own database.

:class:`LedgerProvider` implements :class:`walkout.carts.payments.PaymentProvider` the way a real
payment service provider behaves, so checkout, refunds and their tests exercise the same paths a
Stripe or Adyen adapter would:

- ``new_payment_method`` vaults a method and answers an unguessable token
  (:func:`secrets.token_urlsafe`, 192 bits); no card data ever reaches walkout.
- ``charge`` / ``refund`` execute each idempotency key once (one ``ledger_entries`` row, the key
  unique) and answer any repeat with the stored entry and ``replayed=True`` (Stripe's
  idempotent-request semantics), also when two requests with one key race: the loser's insert
  violates the unique key and it answers with the winner's entry.
- A refund never exceeds what was charged and not yet refunded on the same token; a token listed
  in ``declined_tokens`` is declined (a test card, like Stripe's ``4000 0000 0000 0002``); a
  token that was never vaulted here, or whose payment method was removed, cannot be charged.

Definitive refusals raise :class:`~walkout.core.errors.PaymentError`; a database failure raises
:class:`~walkout.core.errors.StorageError` (the outcome is then unknown to the caller, who retries
with the same key).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from walkout.carts.payments import ProviderResult
from walkout.core.errors import PaymentError, StorageError
from walkout.engine.db import Database
from walkout.engine.db.models_ops import LedgerEntryRow, PaymentMethodRow
from walkout.operations import _checks

Kind = Literal["charge", "refund"]
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class LedgerEntryRecord:
    """One executed charge or refund in the ledger.

    Attributes:
        entry_id: the ledger's id (the provider reference is ``"<provider name>:<entry_id>"``).
        provider_token: the payment method charged or refunded.
        kind: ``"charge"`` or ``"refund"``.
        amount_cents: amount moved (> 0), minor unit of ``currency``.
        currency: ISO 4217 code.
        idempotency_key: the request's key (unique).
        description: what the caller said the money was for.
        created_at: when it was executed (timezone-aware UTC).
    """

    entry_id: int
    provider_token: str
    kind: Kind
    amount_cents: int
    currency: str
    idempotency_key: str
    description: str
    created_at: datetime


class LedgerProvider:
    """A :class:`~walkout.carts.payments.PaymentProvider` whose books are the ``ledger_entries`` table.

    Args:
        db: the walkout database (migrated).
        name: the provider's name, stored with each payment method and in provider references.
        declined_tokens: tokens whose charges and refunds are declined (for tests).
    """

    def __init__(self, db: Database, name: str = "ledger", *, declined_tokens: Collection[str] = ()) -> None:
        self._db = db
        self.name = name
        self._declined = frozenset(declined_tokens)

    def new_payment_method(self, account_id: str, label: str) -> str:
        """Vault a payment method and return its token (``"tok_"`` + 32 URL-safe random characters).

        The token is recorded with the account by :func:`walkout.operations.accounts.add_payment_method`;
        this provider keeps no card data at all.
        """
        return "tok_" + secrets.token_urlsafe(24)

    def charge(
        self, provider_token: str, amount_cents: int, currency: str, idempotency_key: str, description: str
    ) -> ProviderResult:
        """Charge ``amount_cents`` (> 0, minor unit of ``currency``) to ``provider_token``, once per key.

        Raises:
            PaymentError: declined token, unknown or removed payment method, or a malformed request.
            StorageError: the ledger could not be read or written.
        """
        return self._execute("charge", provider_token, amount_cents, currency, idempotency_key, description)

    def refund(
        self, provider_token: str, amount_cents: int, currency: str, idempotency_key: str, description: str
    ) -> ProviderResult:
        """Refund ``amount_cents`` (> 0) to ``provider_token``, once per key, never more than it was charged.

        Raises:
            PaymentError: declined token, a token never charged, an amount above what was charged
                and not yet refunded on it, or a malformed request.
            StorageError: the ledger could not be read or written.
        """
        return self._execute("refund", provider_token, amount_cents, currency, idempotency_key, description)

    def balance_cents(self, provider_token: str) -> int:
        """Charged minus refunded on ``provider_token`` (cents; 0 for an unknown token)."""
        with self._db.transaction("ledger.balance_cents") as s:
            return _balance(s, provider_token)

    def entries(self, provider_token: str | None = None, kind: Kind | None = None) -> list[LedgerEntryRecord]:
        """The ledger's entries (of one token and/or kind, or all), in execution order."""
        with self._db.transaction("ledger.entries") as s:
            query = select(LedgerEntryRow).order_by(LedgerEntryRow.entry_id)
            if provider_token is not None:
                query = query.where(LedgerEntryRow.provider_token == provider_token)
            if kind is not None:
                query = query.where(LedgerEntryRow.kind == kind)
            return [_record(r) for r in s.scalars(query)]

    # ---- internals ----
    def _execute(
        self, kind: Kind, token: str, amount_cents: int, currency: str, key: str, description: str
    ) -> ProviderResult:
        _check_request(kind, amount_cents, currency, key)
        try:
            with self._db.transaction(f"ledger.{kind}") as s:
                stored = self._find_entry(s, key)
                if stored is not None:
                    return self._result(stored, replayed=True)
                self._authorize(s, kind, token, amount_cents)
                row = LedgerEntryRow(
                    provider_token=token,
                    kind=kind,
                    amount_cents=amount_cents,
                    currency=currency,
                    idempotency_key=key,
                    description=description[:200],
                )
                s.add(row)
                s.flush()
                return self._result(row, replayed=False)
        except StorageError as exc:
            if not _checks.is_integrity_error(exc):
                raise
            # Another request with this key committed between our look-up and our insert.
            with self._db.transaction(f"ledger.{kind}") as s:
                stored = self._find_entry(s, key)
            if stored is None:
                raise
            return self._result(stored, replayed=True)

    def _find_entry(self, s: Session, key: str) -> LedgerEntryRow | None:
        """The entry executed for ``key``, if any (a separate method so tests can simulate a race)."""
        return s.scalars(select(LedgerEntryRow).where(LedgerEntryRow.idempotency_key == key)).one_or_none()

    def _authorize(self, s: Session, kind: Kind, token: str, amount_cents: int) -> None:
        if token in self._declined:
            raise PaymentError(f"{self.name}: {kind} declined (card declined)")
        method = s.scalars(
            select(PaymentMethodRow).where(
                PaymentMethodRow.provider_token == token, PaymentMethodRow.provider == self.name
            )
        ).one_or_none()
        if method is None:
            raise PaymentError(f"{self.name}: {kind} refused: no payment method with this token")
        if kind == "charge":
            if method.removed_at is not None:
                raise PaymentError(f"{self.name}: charge refused: the payment method was removed")
            return
        # Lock the token's entries so two refunds on one token cannot both pass the check (PostgreSQL).
        s.execute(select(LedgerEntryRow.entry_id).where(LedgerEntryRow.provider_token == token).with_for_update())
        available = _balance(s, token)
        if amount_cents > available:
            raise PaymentError(
                f"{self.name}: refund of {amount_cents} cents exceeds the {available} cents charged and not yet "
                "refunded on this payment method"
            )

    def _result(self, row: LedgerEntryRow, *, replayed: bool) -> ProviderResult:
        return ProviderResult(f"{self.name}:{row.entry_id}", cast(Kind, row.kind), row.amount_cents, replayed)


def _check_request(kind: Kind, amount_cents: object, currency: object, key: object) -> None:
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise PaymentError(f"ledger: {kind} refused: amount_cents must be an integer > 0, got {amount_cents!r}")
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise PaymentError(f"ledger: {kind} refused: currency {currency!r} is not an ISO 4217 code")
    if not isinstance(key, str) or not 0 < len(key) <= 128:
        raise PaymentError(f"ledger: {kind} refused: idempotency_key must be 1-128 characters")


def _balance(s: Session, token: str) -> int:
    def total(kind: str) -> int:
        query = select(func.coalesce(func.sum(LedgerEntryRow.amount_cents), 0)).where(
            LedgerEntryRow.provider_token == token, LedgerEntryRow.kind == kind
        )
        return int(s.scalar(query) or 0)

    return total("charge") - total("refund")


def _record(row: LedgerEntryRow) -> LedgerEntryRecord:
    return LedgerEntryRecord(
        row.entry_id,
        row.provider_token,
        cast(Kind, row.kind),
        row.amount_cents,
        row.currency,
        row.idempotency_key,
        row.description,
        _checks.utc(row.created_at),
    )
