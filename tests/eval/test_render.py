"""Rich renderables: F1 table, receipt panel, errors table."""

from __future__ import annotations

import pytest
from rich.console import Console

from walkout.eval import errors_table, f1_table, receipt_panel, score_run
from walkout.eval.render import money

from .fakes import BBQ, SALT, STORE, WATER, charge, pick, receipt, run, truth


def _text(renderable) -> str:
    console = Console(record=True, width=120, color_system=None)
    console.print(renderable)
    return console.export_text()


def _score():
    pairs = [
        (truth("alpha", ["A"], [pick("A", SALT, 10)]), run("alpha", ["A"], [charge(10, "A", SALT)])),
        (truth("beta", ["B"], [pick("B", SALT, 10)]), run("beta", ["B"], [charge(10, "B", BBQ)])),
    ]
    return score_run(pairs, STORE)


@pytest.mark.parametrize(
    ("cents", "currency", "text"),
    [
        (0, "USD", "$0.00"),
        (5, "USD", "$0.05"),
        (123456, "USD", "$1,234.56"),
        (-250, "USD", "-$2.50"),
        (100, "CHF", "1.00 CHF"),
    ],
)
def test_money(cents, currency, text):
    assert money(cents, currency) == text


def test_f1_table():
    text = _text(f1_table(_score()))
    assert "alpha" in text and "beta" in text
    assert "100.0%" in text and "0.0%" in text
    assert "overall (2 recordings)" in text
    assert "50.0%" in text  # overall micro F1: tp 1, fp 1, fn 1


def test_receipt_panel():
    r = receipt("A", {SALT: 2, WATER: 1})
    text = _text(receipt_panel(r, STORE, "A"))
    assert "Tiny Test Mart" in text
    assert "2 x $1.99" in text and "$3.98" in text
    assert "1 x $1.00" in text
    assert "Subtotal" in text and "$4.98" in text
    assert "$0.28" in text  # 7% of the taxable $3.98, rounded half up
    assert "TOTAL" in text and "$5.26" in text
    assert "shopper A" in text and "1:40" in text


def test_receipt_panel_empty_and_unlinked():
    text = _text(receipt_panel(receipt("Z", {}), STORE, None))
    assert "(no items)" in text and "no matching shopper" in text and "$0.00" in text


def test_errors_table():
    errors = _score().errors
    text = _text(errors_table(errors))
    assert "wrong product (Kettle BBQ instead of Kettle Sea Salt)" in text
    assert "extra" in text and "missing" in text
    assert "no receipt errors" in _text(errors_table(()))
