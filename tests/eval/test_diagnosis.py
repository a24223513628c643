"""Diagnosis of wrong receipt lines: each wrong unit traced to its cause."""

from __future__ import annotations

import pytest

from walkout.carts.receipt import Receipt, ReceiptLine
from walkout.eval import score_recording

from .fakes import BBQ, LEMON, SALT, STORE, Decision, charge, credit, pick, putback, receipt, run, truth

# (case, truth events, engine decisions, expected errors as (shopper, upc, kind, quantity, cause))
CAUSE_CASES = [
    ("missed event", [pick("A", SALT, 10)], [], [("A", SALT, "missing", 1, "missed event")]),
    ("spurious event", [], [charge(20, "A", LEMON)], [("A", LEMON, "extra", 1, "spurious event")]),
    (
        "wrong product",
        [pick("A", SALT, 10)],
        [charge(10.5, "A", BBQ)],
        [
            ("A", BBQ, "extra", 1, "wrong product (Kettle BBQ instead of Kettle Sea Salt)"),
            ("A", SALT, "missing", 1, "wrong product (Kettle BBQ instead of Kettle Sea Salt)"),
        ],
    ),
    (
        "too few units",
        [pick("A", SALT, 10, 2)],
        [charge(10, "A", SALT, 1)],
        [("A", SALT, "missing", 1, "wrong quantity")],
    ),
    ("too many units", [pick("A", SALT, 10)], [charge(10, "A", SALT, 3)], [("A", SALT, "extra", 2, "wrong quantity")]),
    (
        "wrong shopper",
        [pick("A", SALT, 10)],
        [charge(10, "B", SALT)],
        [
            ("A", SALT, "missing", 1, "wrong shopper (charged to B)"),
            ("B", SALT, "extra", 1, "wrong shopper (taken by A)"),
        ],
    ),
    (
        "charged to nobody",
        [pick("A", SALT, 10)],
        [charge(10, None, SALT)],
        [("A", SALT, "missing", 1, "wrong shopper (charged to nobody)")],
    ),
    (
        "put-back not credited",
        [pick("A", SALT, 10), putback("A", SALT, 30)],
        [charge(10, "A", SALT)],
        [("A", SALT, "extra", 1, "put-back not credited")],
    ),
    (
        "put-back credited to the wrong shopper",
        [pick("A", SALT, 10), putback("A", SALT, 30), pick("B", SALT, 40)],
        [charge(10, "A", SALT), credit(30, "B", SALT), charge(40, "B", SALT)],
        [("A", SALT, "extra", 1, "wrong shopper (credited to B)")],
    ),
    (
        "spurious put-back",
        [pick("A", SALT, 10)],
        [charge(10, "A", SALT), credit(30, "A", SALT)],
        [("A", SALT, "missing", 1, "spurious event")],
    ),
    (
        "undecided event",
        [pick("A", SALT, 10)],
        [Decision(10, "pick", None, None)],
        [("A", SALT, "missing", 1, "undecided event")],
    ),
    (
        "first of two picks missed",
        [pick("A", SALT, 10), pick("A", SALT, 30)],
        [charge(30.4, "A", SALT)],
        [("A", SALT, "missing", 1, "missed event")],
    ),
    ("event too late to match", [pick("A", SALT, 10)], [charge(13, "A", SALT)], []),
    (
        "all right",
        [pick("A", SALT, 10), pick("B", LEMON, 20, 2)],
        [charge(10, "A", SALT), charge(20, "B", LEMON, 2)],
        [],
    ),
]


def _errors(score):
    return sorted((e.shopper, e.upc, e.kind, e.quantity, e.cause) for e in score.errors)


@pytest.mark.parametrize(
    ("events", "decisions", "errors"), [c[1:] for c in CAUSE_CASES], ids=[c[0] for c in CAUSE_CASES]
)
def test_cause(events, decisions, errors):
    score = score_recording(truth("r", ["A", "B"], events), run("r", ["A", "B"], decisions), STORE)
    assert _errors(score) == sorted(errors)
    assert all(e.recording == "r" for e in score.errors)
    assert sum(e.quantity for e in score.errors if e.kind == "extra") == score.fp
    assert sum(e.quantity for e in score.errors if e.kind == "missing") == score.fn


def test_late_event_counts_for_receipt_but_not_for_events():
    # The receipt is right though the engine event is 4 s late: event recall suffers, F1 does not.
    score = score_recording(truth("r", ["A"], [pick("A", SALT, 10)]), run("r", ["A"], [charge(14, "A", SALT)]), STORE)
    assert (score.f1, score.event_precision, score.event_recall) == (1.0, 0.0, 0.0)


def test_receipt_that_disagrees_with_right_decisions_is_unknown():
    score = score_recording(
        truth("r", ["A"], [pick("A", SALT, 10)]), run("r", ["A"], [charge(10, "A", SALT)], carts={"A": {}}), STORE
    )
    assert _errors(score) == [("A", SALT, "missing", 1, "unknown")]


def test_shopper_without_receipt():
    score = score_recording(
        truth("r", ["A"], [pick("A", SALT, 10)]), run("r", ["A"], [charge(10, "A", SALT)], receipt_keys=[]), STORE
    )
    assert _errors(score) == [("A", SALT, "missing", 1, "no receipt")]


def test_receipt_linked_to_no_shopper():
    result = run("r", ["A"], [charge(10, "A", SALT)])
    stranger = receipt("Z", {LEMON: 2})
    result = type(result)(**{**result.__dict__, "receipts": (*result.receipts, stranger)})
    score = score_recording(truth("r", ["A"], [pick("A", SALT, 10)]), result, STORE)
    assert _errors(score) == [(None, LEMON, "extra", 2, "receipt linked to no shopper (session s-Z, account acct-Z)")]


def test_unknown_product_is_named_by_upc():
    result = run("r", ["A"], [charge(10, "A", "999")], carts={"A": {}})
    odd = Receipt("s-A", "acct-A", 0.0, 100.0, (ReceiptLine("999", "999", 1, 100, True),), 100, 7, 107, "USD")
    result = type(result)(**{**result.__dict__, "receipts": (odd,)})
    score = score_recording(truth("r", ["A"], [pick("A", SALT, 10)]), result, STORE)
    extra = [e for e in score.errors if e.kind == "extra"]
    assert extra[0].name == "999"
    assert extra[0].cause == "wrong product (999 instead of Kettle Sea Salt)"
