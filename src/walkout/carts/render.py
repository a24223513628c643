"""Receipts and refund notices for people: plain text, HTML e-mail and PDF (pure; no database).

Every renderer shows the store name, each line (name, UPC, quantity, unit price, line total),
subtotal, tax, total and currency, the time in store (mm:ss), the payment method's label and the
receipt's reference (its session id). Amounts are formatted from integer cents with integer
arithmetic only (ISO 4217 minor units; no floats anywhere).

The HTML comes from the Jinja2 templates in ``walkout/data/templates`` (``receipt.html.j2``,
``refund.html.j2`` on ``base.html.j2``) with autoescaping on, so a product named
``<script>`` is shown, never run; styles are inline (mail clients drop ``<style>`` blocks) and the
layout is one 480 px column that fits a phone. The PDF is drawn with reportlab (the optional
``pdf`` extra: ``pip install 'walkout[pdf]'``).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any
from xml.sax.saxutils import escape

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from walkout.carts.receipt import Receipt
from walkout.core.errors import OperationError
from walkout.core.store import Store

# ISO 4217 minor units where they are not 2; symbols for a few common currencies (others: "12.34 CHF").
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3}
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
PDF_HINT = "pip install 'walkout[pdf]'"


def format_cents(amount_cents: int, currency: str) -> str:
    """``amount_cents`` (minor units, may be negative) as money: ``"$1,234.05"``, ``"-€0.50"``, ``"12.30 CHF"``.

    Raises:
        OperationError: ``amount_cents`` is not an integer.
    """
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
        raise OperationError(f"format_cents: amount_cents must be an integer, got {amount_cents!r}")
    digits = _MINOR_UNITS.get(currency, 2)
    major, minor = divmod(abs(amount_cents), 10**digits)
    number = f"{major:,}" + (f".{minor:0{digits}d}" if digits else "")
    sign = "-" if amount_cents < 0 else ""
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency}"


def format_duration(t_s: float) -> str:
    """A duration in seconds as ``mm:ss`` (rounded to the second; minutes go past 59: ``"75:03"``).

    Raises:
        OperationError: a negative, infinite or NaN duration.
    """
    if isinstance(t_s, bool) or not isinstance(t_s, int | float) or not math.isfinite(t_s) or t_s < 0:
        raise OperationError(f"time_in_store_s must be a finite number of seconds >= 0, got {t_s!r}")
    minutes, seconds = divmod(round(t_s), 60)
    return f"{minutes:02d}:{seconds:02d}"


def format_rate(rate: float) -> str:
    """A tax rate as a percentage from its decimal text: ``0.0825`` -> ``"8.25%"``."""
    percent = (Decimal(str(rate)) * 100).normalize()
    return f"{percent:f}%"


@dataclass(frozen=True)
class _Line:
    name: str
    upc: str
    quantity: int
    unit_price: str
    total: str


def _context(
    receipt: Receipt, store: Store, customer_name: str, time_in_store_s: float, payment_label: str | None
) -> dict[str, Any]:
    if not isinstance(customer_name, str):
        raise OperationError(f"render: customer_name must be a string, got {type(customer_name).__name__}")
    money = lambda cents: format_cents(cents, receipt.currency)  # noqa: E731
    lines = [
        _Line(ln.name, ln.upc, ln.quantity, money(ln.unit_price_cents), money(ln.line_total_cents))
        for ln in receipt.lines
    ]
    return {
        "store_name": store.name,
        "customer_name": customer_name or "there",
        "session_id": receipt.session_id,
        "lines": lines,
        "subtotal": money(receipt.subtotal_cents),
        "tax": money(receipt.tax_cents),
        "tax_rate": format_rate(store.tax_rate),
        "total": money(receipt.total_cents),
        "currency": receipt.currency,
        "time_in_store": format_duration(time_in_store_s),
        "payment_label": payment_label or "not charged",
        "footer": f"{store.name} · receipt {receipt.session_id}",
    }


def receipt_text(
    receipt: Receipt, store: Store, *, customer_name: str, time_in_store_s: float, payment_label: str | None
) -> str:
    """The receipt as plain text (the e-mail's text part; lines fit a 40-column screen).

    Args:
        receipt: the finalized receipt (amounts in integer cents).
        store: the store (its name and tax rate).
        customer_name: the payer's display name.
        time_in_store_s: seconds from entry to exit.
        payment_label: the payment method's label, e.g. ``"Visa ending 4242"`` (None: not charged).

    Raises:
        OperationError: a negative or non-finite ``time_in_store_s``, or a non-string name.
    """
    c = _context(receipt, store, customer_name, time_in_store_s, payment_label)
    out = [
        c["store_name"],
        f"Receipt {c['session_id']}",
        "",
        f"Hi {c['customer_name']}, thanks for shopping with us.",
        "",
    ]
    for line in c["lines"]:
        out += [f"{line.quantity} x {line.name}", f"    UPC {line.upc}  @ {line.unit_price} = {line.total}"]
    if not c["lines"]:
        out.append("No items: nothing was charged.")
    out += [
        "",
        _row("Subtotal", c["subtotal"]),
        _row(f"Tax ({c['tax_rate']})", c["tax"]),
        _row("Total", f"{c['total']} {c['currency']}"),
        "",
        f"Paid with: {c['payment_label']}",
        f"Time in store: {c['time_in_store']}",
    ]
    return "\n".join(out) + "\n"


def receipt_html(
    receipt: Receipt, store: Store, *, customer_name: str, time_in_store_s: float, payment_label: str | None
) -> str:
    """The receipt as an HTML e-mail body (``receipt.html.j2``, autoescaped). Arguments as :func:`receipt_text`."""
    c = _context(receipt, store, customer_name, time_in_store_s, payment_label)
    return _env().get_template("receipt.html.j2").render(title=f"Your receipt from {store.name}", **c)


def receipt_pdf(
    receipt: Receipt, store: Store, *, customer_name: str, time_in_store_s: float, payment_label: str | None
) -> bytes:
    """The receipt as a one-column PDF (reportlab; arguments as :func:`receipt_text`).

    Raises:
        OperationError: reportlab is not installed (``pip install 'walkout[pdf]'``), or bad input.
    """
    c = _context(receipt, store, customer_name, time_in_store_s, payment_label)
    return _pdf(c, f"Receipt {receipt.session_id}")


def refund_text(
    receipt: Receipt, store: Store, *, customer_name: str, amount_cents: int, reason: str, payment_label: str | None
) -> str:
    """A refund notice as plain text.

    Args:
        receipt: the receipt the refund belongs to.
        store: the store.
        customer_name: the payer's display name.
        amount_cents: the refunded amount (integer cents > 0).
        reason: why, e.g. ``"Disputed: 1 x Cola"``.
        payment_label: the payment method refunded to (None: unknown).

    Raises:
        OperationError: a non-positive or non-integer amount.
    """
    c = _refund_context(receipt, store, customer_name, amount_cents, reason, payment_label)
    return (
        "\n".join(
            [
                c["store_name"],
                f"Refund for receipt {c['session_id']}",
                "",
                f"Hi {c['customer_name']}, we have refunded part of your visit.",
                "",
                _row("Refund", f"{c['amount']} {c['currency']}"),
                f"Reason: {c['reason']}",
                f"Refunded to: {c['payment_label']}",
                f"Original total: {c['total']}",
                "",
                "Refunds usually reach your account within 5-10 business days.",
            ]
        )
        + "\n"
    )


def refund_html(
    receipt: Receipt, store: Store, *, customer_name: str, amount_cents: int, reason: str, payment_label: str | None
) -> str:
    """A refund notice as an HTML e-mail body (``refund.html.j2``). Arguments as :func:`refund_text`."""
    c = _refund_context(receipt, store, customer_name, amount_cents, reason, payment_label)
    return _env().get_template("refund.html.j2").render(title=f"Your refund from {store.name}", **c)


def _refund_context(
    receipt: Receipt, store: Store, customer_name: str, amount_cents: int, reason: str, payment_label: str | None
) -> dict[str, Any]:
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise OperationError(f"refund: amount_cents must be an integer > 0, got {amount_cents!r}")
    c = _context(receipt, store, customer_name, 0.0, payment_label)
    c.update(amount=format_cents(amount_cents, receipt.currency), reason=str(reason))
    c["payment_label"] = payment_label or "your payment method"
    return c


def _row(label: str, value: str, width: int = 40) -> str:
    return f"{label}{value:>{max(width - len(label), len(value) + 1)}}"


@lru_cache(maxsize=1)
def _env() -> Environment:
    folder = resources.files("walkout") / "data" / "templates"
    return Environment(
        loader=FileSystemLoader(str(folder)),
        autoescape=True,  # every template is HTML (select_autoescape would miss the .j2 suffix)
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _pdf(c: dict[str, Any], title: str) -> bytes:
    try:
        from reportlab.lib.pagesizes import LETTER
        from reportlab.lib.styles import getSampleStyleSheet
        from reportlab.lib.units import mm
        from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer
    except ImportError as exc:
        raise OperationError(f"receipt_pdf: PDF receipts need reportlab: {PDF_HINT}") from exc
    styles = getSampleStyleSheet()

    def para(text: str, style: str = "BodyText") -> Any:
        return Paragraph(escape(str(text)), styles[style])  # Paragraph parses markup: escape it

    story = [
        para(c["store_name"], "Title"),
        para(f"Receipt {c['session_id']} for {c['customer_name']}"),
        Spacer(1, 4 * mm),
        _pdf_table(c, para),
        Spacer(1, 4 * mm),
        para(f"Paid with: {c['payment_label']}"),
        para(f"Time in store: {c['time_in_store']}"),
    ]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=LETTER, title=title, author=c["store_name"], invariant=True)
    doc.build(story)
    return buf.getvalue()


def _pdf_table(c: dict[str, Any], para: Any) -> Any:
    """The lines and totals as a reportlab Table (product names wrap inside their column)."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Table, TableStyle

    rows: list[list[Any]] = [["Item", "UPC", "Qty", "Price", "Total"]]
    rows += [[para(ln.name), ln.upc, str(ln.quantity), ln.unit_price, ln.total] for ln in c["lines"]]
    rows += [
        ["Subtotal", "", "", "", c["subtotal"]],
        [f"Tax ({c['tax_rate']})", "", "", "", c["tax"]],
        [f"Total ({c['currency']})", "", "", "", c["total"]],
    ]
    last = len(rows) - 1
    table = Table(rows, colWidths=[70 * mm, 34 * mm, 14 * mm, 24 * mm, 26 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("LINEABOVE", (0, last - 2), (-1, last - 2), 1, colors.black),
                ("FONTNAME", (0, last), (-1, last), "Helvetica-Bold"),
            ]
        )
    )
    return table
