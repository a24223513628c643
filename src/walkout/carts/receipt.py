"""Receipts: lines, subtotal, tax and total in integer cents."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from walkout.core.store import Store


@dataclass(frozen=True)
class ReceiptLine:
    """One receipt line: ``quantity`` units of ``upc`` at ``unit_price_cents``."""

    upc: str
    name: str
    quantity: int
    unit_price_cents: int
    taxable: bool

    @property
    def line_total_cents(self) -> int:
        return self.quantity * self.unit_price_cents


@dataclass(frozen=True)
class Receipt:
    """A finalized receipt for one shopping session.

    Amounts are integer cents in the store's currency; times are seconds on the recording clock.
    """

    session_id: str
    account_id: str
    entry_t_s: float
    exit_t_s: float
    lines: tuple[ReceiptLine, ...]
    subtotal_cents: int
    tax_cents: int
    total_cents: int
    currency: str

    def quantities(self) -> dict[str, int]:
        """UPC -> quantity on this receipt."""
        out: dict[str, int] = {}
        for line in self.lines:
            out[line.upc] = out.get(line.upc, 0) + line.quantity
        return out


def tax_cents(taxable_subtotal_cents: int, tax_rate: float) -> int:
    """Sales tax on a taxable subtotal, rounded half up to the cent (US receipt practice)."""
    amount = Decimal(taxable_subtotal_cents) * Decimal(str(tax_rate))
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def make_receipt(
    store: Store, session_id: str, account_id: str, cart: Mapping[str, int], entry_t_s: float, exit_t_s: float
) -> Receipt:
    """Price a cart with the store's catalogue and tax rate.

    Raises:
        KeyError: if the cart holds a UPC the store does not sell.
    """
    lines = []
    for upc in sorted(cart):
        q = int(cart[upc])
        if q <= 0:
            continue
        p = store.product_by_upc[upc]
        lines.append(ReceiptLine(upc, p.name, q, p.price_cents, p.taxable))
    subtotal = sum(line.line_total_cents for line in lines)
    tax = tax_cents(sum(line.line_total_cents for line in lines if line.taxable), store.tax_rate)
    return Receipt(session_id, account_id, entry_t_s, exit_t_s, tuple(lines), subtotal, tax, subtotal + tax, store.currency)
