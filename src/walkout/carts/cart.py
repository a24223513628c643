"""A session's virtual cart: UPC -> quantity, never negative."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

Cart = Mapping[str, int]


def apply_line(cart: Cart, upc: str, quantity_delta: int) -> tuple[Cart, int]:
    """Add (pick, +) or remove (put-back, -) units of a product.

    A put-back of more units than the cart holds removes what is there; the remainder is
    returned so the caller can log it (an item put back that this cart never held).

    Args:
        cart: current cart (not modified).
        upc: product UPC.
        quantity_delta: signed number of units.

    Returns:
        (new_cart, unapplied) where ``unapplied`` <= 0 is the part of a removal that found no unit.
    """
    current = int(cart.get(upc, 0))
    new_q = current + int(quantity_delta)
    unapplied = min(new_q, 0)
    new = dict(cart)
    if new_q > 0:
        new[upc] = new_q
    else:
        new.pop(upc, None)
    return MappingProxyType(new), unapplied
