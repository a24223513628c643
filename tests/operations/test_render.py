"""Receipt and refund rendering: text, HTML (escaped), PDF; money from integer cents."""

from __future__ import annotations

import base64
import contextlib
import re
import sys
import zlib

import pytest

from walkout.carts import render
from walkout.carts.receipt import make_receipt
from walkout.core.errors import OperationError

SCRIPT = '<script>alert("x")</script> Crisps'


@pytest.fixture
def receipt(shop):
    """2 Cola (taxed) + 1 Bread (untaxed) + 1 script-named product (taxed), 205.4 s in the store."""
    return make_receipt(shop, "s-42", "a-1", {"111": 2, "222": 1, "333": 1}, 10.0, 215.4)


def kwargs(**over):
    return {"customer_name": "Ann", "time_in_store_s": 205.4, "payment_label": "Visa ending 4242"} | over


@pytest.mark.parametrize(
    ("cents", "currency", "text"),
    [
        (0, "USD", "$0.00"),
        (5, "USD", "$0.05"),
        (199, "USD", "$1.99"),
        (123456789, "USD", "$1,234,567.89"),
        (-50, "EUR", "-€0.50"),
        (1234, "CHF", "12.34 CHF"),
        (500, "JPY", "¥500"),
        (1234, "KWD", "1.234 KWD"),
        (2**70 + 1, "USD", "$11,805,916,207,174,113,034.25"),  # no float rounding
    ],
)
def test_format_cents(cents, currency, text):
    assert render.format_cents(cents, currency) == text


@pytest.mark.parametrize(
    ("t_s", "text", "error"),
    [
        (0, "00:00", None),
        (59.4, "00:59", None),
        (205.4, "03:25", None),
        (4503, "75:03", None),
        (-1.0, None, "time_in_store_s must be a finite number of seconds >= 0"),
        (float("nan"), None, "time_in_store_s"),
        (float("inf"), None, "time_in_store_s"),
    ],
)
def test_format_duration(t_s, text, error):
    if error is None:
        assert render.format_duration(t_s) == text
    else:
        with pytest.raises(OperationError, match=error):
            render.format_duration(t_s)


def test_receipt_text_shows_every_line_and_the_totals(receipt, shop):
    # 2 x 1.99 + 1.00 taxed = 4.98 -> tax 0.41 at 8.25 %; + 3.49 untaxed: subtotal 8.47, total 8.88
    assert (receipt.subtotal_cents, receipt.tax_cents, receipt.total_cents) == (847, 41, 888)
    text = render.receipt_text(receipt, shop, **kwargs())
    for needle in [
        "Corner Shop",
        "Receipt s-42",
        "Hi Ann",
        "2 x Cola",
        "UPC 111  @ $1.99 = $3.98",
        "1 x Bread",
        "UPC 222  @ $3.49 = $3.49",
        f"1 x {SCRIPT}",
        "Tax (8.25%)",
        "Paid with: Visa ending 4242",
        "Time in store: 03:25",
    ]:
        assert needle in text
    assert re.search(r"Subtotal +\$8\.47\n", text)
    assert re.search(r"Tax \(8\.25%\) +\$0\.41\n", text)
    assert re.search(r"Total +\$8\.88 USD\n", text)


def test_receipt_html_escapes_and_fits_a_phone(receipt, shop):
    html = render.receipt_html(receipt, shop, **kwargs(customer_name="Ann <b>&</b>"))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Crisps" in html
    assert "Ann &lt;b&gt;&amp;&lt;/b&gt;" in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "max-width:480px" in html and "<style" not in html  # inline styles only
    for needle in [
        "Corner Shop",
        "$1.99",
        "$3.98",
        "UPC 222",
        "$8.47",
        "$0.41",
        "$8.88",
        "USD",
        "03:25",
        "Visa ending 4242",
        "s-42",
    ]:
        assert needle in html
    assert html.count("UPC ") == 3


def test_an_empty_receipt_says_nothing_was_charged(shop):
    empty = make_receipt(shop, "s-0", "a-1", {}, 0.0, 30.0)
    text = render.receipt_text(empty, shop, **kwargs(payment_label=None))
    assert "No items" in text and "Paid with: not charged" in text
    assert re.search(r"Total +\$0\.00 USD", text)
    assert "No items" in render.receipt_html(empty, shop, **kwargs(payment_label=None))


def pdf_text(pdf: bytes) -> str:
    """The content streams of a PDF, decoded (reportlab writes them ASCII85 + Flate encoded)."""
    out = []
    for stream in re.findall(rb"\bstream\r?\n(.*?)\r?\n?endstream", pdf, re.S):
        data = stream.strip()
        if data.endswith(b"~>"):
            data = base64.a85decode(data[:-2].replace(b"\n", b""))
        with contextlib.suppress(zlib.error):
            data = zlib.decompress(data)
        out.append(data.decode("latin-1"))
    return "\n".join(out)


def test_receipt_pdf(receipt, shop):
    pdf = render.receipt_pdf(receipt, shop, **kwargs())
    assert pdf.startswith(b"%PDF")
    content = pdf_text(pdf)
    for needle in ["Corner Shop", "$8.88", "$8.47", "Total \\(USD\\)", "Visa ending 4242", "03:25", "s-42"]:
        assert needle in content
    assert "Crisps" in content
    assert render.receipt_pdf(receipt, shop, **kwargs()) == pdf  # deterministic (invariant mode)


def test_receipt_pdf_without_reportlab_says_what_to_install(receipt, shop, monkeypatch):
    for name in [m for m in sys.modules if m == "reportlab" or m.startswith("reportlab.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "reportlab", None)
    with pytest.raises(OperationError, match=re.escape("pip install 'walkout[pdf]'")):
        render.receipt_pdf(receipt, shop, **kwargs())


def test_refund_notice(receipt, shop):
    args = {
        "customer_name": "Ann",
        "amount_cents": 215,
        "reason": "Disputed: 1 x <Cola>",
        "payment_label": "Visa ending 4242",
    }
    text = render.refund_text(receipt, shop, **args)
    assert re.search(r"Refund +\$2\.15 USD", text)
    assert "Reason: Disputed: 1 x <Cola>" in text and "Refunded to: Visa ending 4242" in text
    assert "Original total: $8.88" in text and "s-42" in text
    html = render.refund_html(receipt, shop, **args)
    assert "$2.15" in html and "Disputed: 1 x &lt;Cola&gt;" in html and "<Cola>" not in html
    with pytest.raises(OperationError, match="amount_cents must be an integer > 0"):
        render.refund_text(receipt, shop, **(args | {"amount_cents": 0}))
