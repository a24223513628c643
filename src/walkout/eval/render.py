"""Rich renderables for the CLI: the F1 table, a receipt that looks like one, the error list."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from walkout.carts.receipt import Receipt
from walkout.core.store import Store
from walkout.eval.diagnosis import ReceiptError
from walkout.eval.scoring import RunScore

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def money(cents: int, currency: str = "USD") -> str:
    """Integer cents as a price, e.g. ``money(-1234) == "-$12.34"``; unknown currencies by code."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{whole:,}.{frac:02d}" if symbol else f"{sign}{whole:,}.{frac:02d} {currency}"


def _pct(x: float) -> str:
    return f"{x:.1%}"


def f1_table(run_score: RunScore) -> Table:
    """One row per recording (shoppers, TP, FP, FN, precision, recall, F1) and a bold overall row."""
    t = Table(title="Receipt accuracy (AutoCheckout rule, micro-averaged)", box=box.SIMPLE_HEAVY)
    t.add_column("recording")
    for name in ("shoppers", "TP", "FP", "FN", "precision", "recall", "F1"):
        t.add_column(name, justify="right")
    for r in run_score.recordings:
        t.add_row(
            r.recording,
            str(len(r.shoppers)),
            str(r.tp),
            str(r.fp),
            str(r.fn),
            _pct(r.precision),
            _pct(r.recall),
            _pct(r.f1),
        )
    t.add_section()
    t.add_row(
        f"overall ({len(run_score.recordings)} recordings)",
        str(run_score.shoppers),
        str(run_score.tp),
        str(run_score.fp),
        str(run_score.fn),
        _pct(run_score.precision),
        _pct(run_score.recall),
        _pct(run_score.f1),
        style="bold",
    )
    return t


def _duration(seconds: float) -> str:
    total = max(0, round(seconds))
    return f"{total // 60}:{total % 60:02d}"


def receipt_panel(receipt: Receipt, store: Store, shopper_key: str | None) -> Panel:
    """A receipt as a shop prints it: store, lines (qty x unit price, line total), subtotal, tax,
    total and the time in store (recording clock, seconds)."""
    cur = receipt.currency
    body = Table.grid(padding=(0, 2), expand=True)
    body.add_column(ratio=1)
    body.add_column(justify="right", no_wrap=True)
    body.add_column(justify="right", no_wrap=True)
    for ln in receipt.lines:
        body.add_row(ln.name, f"{ln.quantity} x {money(ln.unit_price_cents, cur)}", money(ln.line_total_cents, cur))
    if not receipt.lines:
        body.add_row(Text("(no items)", style="dim"), "", "")
    totals = Table.grid(padding=(0, 2), expand=True)
    totals.add_column(ratio=1)
    totals.add_column(justify="right", no_wrap=True)
    totals.add_row("Subtotal", money(receipt.subtotal_cents, cur))
    totals.add_row(f"Tax ({store.tax_rate:.2%})", money(receipt.tax_cents, cur))
    totals.add_row(Text("TOTAL", style="bold"), Text(money(receipt.total_cents, cur), style="bold"))
    who = shopper_key if shopper_key is not None else "no matching shopper"
    stay = receipt.exit_t_s - receipt.entry_t_s
    footer = Text(
        f"in store {receipt.entry_t_s:.1f} s to {receipt.exit_t_s:.1f} s ({_duration(stay)})\n"
        f"account {receipt.account_id} · session {receipt.session_id}",
        style="dim",
        justify="center",
    )
    header = Text(f"shopper {who}", justify="center")
    return Panel(
        Group(header, Rule(style="dim"), body, Rule(style="dim"), totals, Rule(style="dim"), footer),
        title=Text(store.name, style="bold"),
        box=box.ROUNDED,
        expand=False,
        width=64,
    )


def errors_table(errors: Sequence[ReceiptError]) -> Table:
    """Every wrong receipt line: recording, shopper, extra/missing, quantity, product, cause."""
    t = Table(title=f"Receipt errors ({sum(e.quantity for e in errors)} units)", box=box.SIMPLE_HEAVY)
    t.add_column("recording", overflow="fold")
    t.add_column("shopper", overflow="fold")
    t.add_column("kind", no_wrap=True)
    t.add_column("qty", justify="right", no_wrap=True)
    t.add_column("product", ratio=1)
    t.add_column("cause", ratio=2)
    for e in errors:
        kind = Text(e.kind, style="red" if e.kind == "extra" else "yellow")
        t.add_row(e.recording, e.shopper or "-", kind, str(e.quantity), f"{e.name} ({e.upc})", e.cause)
    if not errors:
        t.caption = "no receipt errors"
    return t
