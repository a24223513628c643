"""The payment-provider interface: charge and refund a stored payment method by its token.

walkout never sees card data: a customer's app hands the card to the provider, which answers
with an opaque token (``provider_token``) that walkout stores and charges later. Every request
carries an idempotency key; a provider executes a key once and answers any repeat with the first
result (the semantics of Stripe's ``Idempotency-Key`` header), so a retried finalization can
never charge twice. The built-in provider is a ledger in walkout's own database
(:class:`walkout.operations.ledger.LedgerProvider`); a real one (Stripe, Adyen, ...) is an
adapter implementing :class:`PaymentProvider`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True)
class ProviderResult:
    """What the provider answered.

    Attributes:
        provider_ref: the provider's id of the executed charge or refund (e.g. ``"ledger:17"``).
        kind: ``"charge"`` or ``"refund"``.
        amount_cents: the amount moved, in the currency's minor unit.
        replayed: True when the idempotency key had been executed before (nothing moved now).
    """

    provider_ref: str
    kind: Literal["charge", "refund"]
    amount_cents: int
    replayed: bool = False


class PaymentProvider(Protocol):
    """A payment provider (PSP).

    Both methods raise :class:`walkout.core.errors.PaymentError` when the provider declines or
    refuses the request for good (walkout records that payment as failed); they must be idempotent
    per ``idempotency_key`` (a repeat returns the first result with ``replayed=True``, whatever the
    other arguments say). A failure whose outcome is unknown (a timeout, a lost connection, the
    provider's own storage failing) must raise something else (``OSError``, ``StorageError``, ...):
    walkout then records nothing and a retry repeats the request with the same key, as Stripe
    advises for network errors.
    """

    name: str

    def new_payment_method(self, account_id: str, label: str) -> str:
        """Vault a payment method for ``account_id`` and return its provider token."""
        ...

    def charge(
        self, provider_token: str, amount_cents: int, currency: str, idempotency_key: str, description: str
    ) -> ProviderResult:
        """Charge ``amount_cents`` (> 0) to the payment method behind ``provider_token``."""
        ...

    def refund(
        self, provider_token: str, amount_cents: int, currency: str, idempotency_key: str, description: str
    ) -> ProviderResult:
        """Refund ``amount_cents`` (> 0) to the payment method behind ``provider_token``."""
        ...
