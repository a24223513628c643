from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from walkout.carts import apply_line, make_receipt
from walkout.carts.receipt import tax_cents


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(1, 3)), max_size=20))
def test_picks_and_their_put_backs_cancel(lines):
    cart: dict = {}
    for upc, q in lines:
        cart, _ = apply_line(cart, upc, q)
    for upc, q in reversed(lines):
        cart, unapplied = apply_line(cart, upc, -q)
        assert unapplied == 0
    assert dict(cart) == {}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(-3, 3)), max_size=20))
def test_cart_never_negative(lines):
    cart: dict = {}
    for upc, q in lines:
        cart, unapplied = apply_line(cart, upc, q)
        assert unapplied <= 0
        assert all(v > 0 for v in cart.values())


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.integers(0, 82), st.integers(1, 4), max_size=10))
def test_receipt_total_is_sum_of_lines_plus_tax(store, picks):
    cart = {store.products[i].upc: q for i, q in picks.items()}
    r = make_receipt(store, "s", "a", cart, 0.0, 60.0)
    assert r.subtotal_cents == sum(line.quantity * line.unit_price_cents for line in r.lines)
    assert r.total_cents == r.subtotal_cents + r.tax_cents
    assert r.tax_cents == tax_cents(sum(ln.line_total_cents for ln in r.lines if ln.taxable), store.tax_rate)
    assert r.quantities() == cart


@pytest.mark.parametrize(("sub", "rate", "tax"), [(100, 0.07, 7), (150, 0.07, 11), (107, 0.07, 7), (0, 0.07, 0), (999, 0.0, 0)])
def test_tax_rounds_half_up(sub, rate, tax):
    assert tax_cents(sub, rate) == tax
