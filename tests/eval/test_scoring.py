"""The AutoCheckout receipt rule, receipt-to-shopper linking and micro-averaging."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from walkout.engine.result import SessionInfo
from walkout.eval import combine_scores, expected_items, link_sessions, score_recording, score_run

from .fakes import BBQ, LEMON, SALT, STORE, WATER, pick, putback, receipt, run, truth

# (case, truth events, carts per shopper key (a missing key = no receipt), (tp, fp, fn), f1)
RULE_CASES = [
    ("perfect", [pick("A", SALT, 10)], {"A": {SALT: 1}}, (1, 0, 0), 1.0),
    (
        "perfect, two shoppers",
        [pick("A", SALT, 10), pick("B", LEMON, 12, 2)],
        {"A": {SALT: 1}, "B": {LEMON: 2}},
        (3, 0, 0),
        1.0,
    ),
    ("extra unit", [pick("A", SALT, 10)], {"A": {SALT: 2}}, (1, 1, 0), 2 / 3),
    ("missing unit", [pick("A", SALT, 10, 2)], {"A": {SALT: 1}}, (1, 0, 1), 2 / 3),
    ("wrong product is 1 FP + 1 FN", [pick("A", SALT, 10)], {"A": {BBQ: 1}}, (0, 1, 1), 0.0),
    ("put-back cancels pick", [pick("A", SALT, 10), putback("A", SALT, 20)], {"A": {}}, (0, 0, 0), 1.0),
    ("put-back not credited", [pick("A", SALT, 10), putback("A", SALT, 20)], {"A": {SALT: 1}}, (0, 1, 0), 0.0),
    ("put-back cancels one of two", [pick("A", SALT, 10, 2), putback("A", SALT, 20)], {"A": {SALT: 1}}, (1, 0, 0), 1.0),
    ("put-back without pick", [putback("A", SALT, 10)], {"A": {}}, (0, 0, 0), 1.0),
    (
        "put-back before the pick cancels nothing",
        [putback("A", SALT, 5), pick("A", SALT, 10)],
        {"A": {SALT: 1}},
        (1, 0, 0),
        1.0,
    ),
    (
        "put-back of another product cancels nothing",
        [pick("A", SALT, 10), putback("A", BBQ, 20)],
        {"A": {SALT: 1}},
        (1, 0, 0),
        1.0,
    ),
    (
        "put-back by another shopper cancels nothing",
        [pick("A", SALT, 10), putback("B", SALT, 20)],
        {"A": {SALT: 1}, "B": {}},
        (1, 0, 0),
        1.0,
    ),
    ("wrong shopper", [pick("A", SALT, 10)], {"A": {}, "B": {SALT: 1}}, (0, 1, 1), 0.0),
    ("empty recording", [], {"A": {}}, (0, 0, 0), 1.0),
    ("empty recording, receipt charged", [], {"A": {WATER: 1}}, (0, 1, 0), 0.0),
    ("shopper with no receipt", [pick("A", SALT, 10), pick("B", BBQ, 11)], {"B": {BBQ: 1}}, (1, 0, 1), 2 / 3),
]


@pytest.mark.parametrize(
    ("events", "carts", "counts", "f1"), [c[1:] for c in RULE_CASES], ids=[c[0] for c in RULE_CASES]
)
def test_scoring_rule(events, carts, counts, f1):
    keys = sorted({e.shopper for e in events} | set(carts) | {"A"})
    score = score_recording(truth("r", keys, events), run("r", keys, carts=carts, receipt_keys=list(carts)), STORE)
    assert (score.tp, score.fp, score.fn) == counts
    assert score.f1 == pytest.approx(f1)


def test_empty_recording_scores_one():
    score = score_recording(truth("r", ["A"]), run("r", ["A"]), STORE)
    assert (score.precision, score.recall, score.f1) == (1.0, 1.0, 1.0)
    assert (score.event_precision, score.event_recall) == (1.0, 1.0)
    assert score.errors == ()


def test_no_shoppers_no_receipts_scores_one():
    score = score_recording(truth("r", []), run("r", []), STORE)
    assert (score.tp, score.fp, score.fn, score.f1) == (0, 0, 0, 1.0)


def test_nothing_predicted_precision_is_vacuous_but_f1_zero():
    score = score_recording(truth("r", ["A"], [pick("A", SALT, 10)]), run("r", ["A"]), STORE)
    assert (score.precision, score.recall, score.f1) == (1.0, 0.0, 0.0)


def test_receipt_of_unknown_token_is_all_false_positives():
    result = run("r", ["A"], carts={"A": {SALT: 1}})
    stranger = receipt("Z", {BBQ: 2, LEMON: 1})
    result = type(result)(**{**result.__dict__, "receipts": (*result.receipts, stranger)})
    score = score_recording(truth("r", ["A"], [pick("A", SALT, 10)]), result, STORE)
    assert (score.tp, score.fp, score.fn) == (1, 3, 0)
    assert score.receipt_shoppers == ("A", None)
    assert score.unlinked_fp == 3


def test_receipt_linked_through_session_token_not_account_name():
    # The engine's account id is unrelated to the shopper key; only the token links them.
    t = truth("r", ["A"], [pick("A", SALT, 10)])
    result = run("r", ["A"], carts={"A": {SALT: 1}})
    sess = (SessionInfo("s-A", "demo-042", "tok-A", 0.0, 100.0),)
    rec = receipt("A", {SALT: 1})
    rec = type(rec)(**{**rec.__dict__, "account_id": "demo-042"})
    result = type(result)(**{**result.__dict__, "sessions": sess, "receipts": (rec,)})
    assert score_recording(t, result, STORE).tp == 1


def test_link_sessions_by_token_and_entry_time():
    t = truth("r", ["A", "B"])
    t = t.model_copy(
        update={"shoppers": (*t.shoppers, t.shoppers[0].model_copy(update={"key": "A2", "entry_t_s": 50.0}))}
    )
    sessions = [
        SessionInfo("s1", "a", "tok-A", 49.0, None),
        SessionInfo("s2", "a", "tok-A", 1.0, None),
        SessionInfo("s3", "b", "tok-B", 0.0, None),
        SessionInfo("s4", "z", "tok-Z", 0.0, None),
    ]
    assert link_sessions(t, sessions) == {"s1": "A2", "s2": "A", "s3": "B", "s4": None}


def test_two_receipts_of_one_shopper_are_added():
    t = truth("r", ["A"], [pick("A", SALT, 10), pick("A", SALT, 50)])
    result = run("r", ["A"], carts={"A": {SALT: 1}})
    second = receipt("A", {SALT: 1}, session_key="A")
    second = type(second)(**{**second.__dict__, "session_id": "s-A-2"})
    sessions = (*result.sessions, SessionInfo("s-A-2", "acct-A", "tok-A", 40.0, 100.0))
    result = type(result)(**{**result.__dict__, "sessions": sessions, "receipts": (*result.receipts, second)})
    score = score_recording(t, result, STORE)
    assert (score.tp, score.fp, score.fn) == (2, 0, 0)
    assert score.shoppers[0].session_ids == ("s-A", "s-A-2")


def test_mismatched_recordings_raise():
    with pytest.raises(ValueError, match="recording"):
        score_recording(truth("r1", ["A"]), run("r2", ["A"]), STORE)


def test_expected_items_table():
    events = [
        pick("A", SALT, 1, 3),
        putback("A", SALT, 2),
        putback("A", SALT, 3, 5),
        pick("A", SALT, 4),
        pick("A", BBQ, 5),
    ]
    # events out of time order are sorted first
    assert expected_items(truth("r", ["A"], events[::-1]), "A") == {SALT: 1, BBQ: 1}
    assert expected_items(truth("r", ["A"], events), "B") == {}


def test_micro_average_pools_counts_across_recordings():
    good = score_recording(
        truth("good", ["A"], [pick("A", SALT, 10, 9)]), run("good", ["A"], carts={"A": {SALT: 9}}), STORE
    )
    bad = score_recording(truth("bad", ["A"], [pick("A", SALT, 10)]), run("bad", ["A"], carts={"A": {BBQ: 1}}), STORE)
    total = combine_scores([good, bad])
    assert (total.tp, total.fp, total.fn) == (9, 1, 1)
    assert total.precision == pytest.approx(0.9)
    assert total.recall == pytest.approx(0.9)
    assert total.f1 == pytest.approx(0.9)  # the macro average would be (1.0 + 0.0) / 2
    assert total.shoppers == 2


def test_score_run_matches_recording_scores_and_rejects_duplicates():
    pairs = [
        (truth("r1", ["A"], [pick("A", SALT, 10)]), run("r1", ["A"], carts={"A": {SALT: 2}})),
        (truth("r2", ["B"], [pick("B", LEMON, 10)]), run("r2", ["B"], carts={"B": {}})),
    ]
    total = score_run(pairs, STORE)
    assert [r.recording for r in total.recordings] == ["r1", "r2"]
    assert (total.tp, total.fp, total.fn) == (1, 1, 1)
    with pytest.raises(ValueError, match="more than once"):
        score_run([pairs[0], pairs[0]], STORE)


def test_empty_run_scores_one():
    total = score_run([], STORE)
    assert (total.f1, total.event_precision, total.event_recall, total.shoppers) == (1.0, 1.0, 1.0, 0)


UPCS = [SALT, BBQ, LEMON, WATER]
carts_st = st.dictionaries(st.sampled_from(UPCS), st.integers(0, 4), max_size=4)


@settings(max_examples=60, deadline=None)
@given(
    held=st.lists(st.tuples(st.sampled_from(["A", "B"]), st.sampled_from(UPCS), st.integers(1, 3)), max_size=6),
    carts=st.fixed_dictionaries({"A": carts_st, "B": carts_st}),
)
def test_counts_are_consistent(held, carts):
    events = [pick(k, u, 1.0 + i, q) for i, (k, u, q) in enumerate(held)]
    score = score_recording(truth("r", ["A", "B"], events), run("r", ["A", "B"], carts=carts), STORE)
    expected_units = sum(q for _, _, q in held)
    predicted_units = sum(sum(c.values()) for c in carts.values())
    assert score.tp + score.fn == expected_units
    assert score.tp + score.fp == predicted_units
    assert 0.0 <= score.f1 <= 1.0
    # the error list accounts for every wrong unit, on the right side
    assert sum(e.quantity for e in score.errors if e.kind == "extra") == score.fp
    assert sum(e.quantity for e in score.errors if e.kind == "missing") == score.fn


@settings(max_examples=40, deadline=None)
@given(upc=st.sampled_from(UPCS), q=st.integers(1, 5), t=st.floats(1, 50))
def test_pick_and_its_putback_cancel(upc, q, t):
    events = [pick("A", upc, t, q), putback("A", upc, t + 1, q)]
    score = score_recording(truth("r", ["A"], events), run("r", ["A"], carts={"A": {}}), STORE)
    assert (score.tp, score.fp, score.fn, score.f1) == (0, 0, 0, 1.0)


@pytest.mark.parametrize(
    ("sessions", "linked"),
    [
        ((SessionInfo("s-A", "acct-A", "tok-A", 0.0, 100.0),), "A"),  # the account's only session
        (
            (SessionInfo("s-A", "acct-A", "tok-A", 0.0, 100.0), SessionInfo("s-A2", "acct-A", "tok-A", 50.0, None)),
            None,  # ambiguous: two sessions of the account
        ),
        ((SessionInfo("s-B", "acct-B", "tok-B", 0.0, 100.0),), None),  # no session of the account
    ],
)
def test_receipt_with_unknown_session_falls_back_to_its_accounts_only_session(sessions, linked):
    rec = receipt("A", {SALT: 1})
    rec = type(rec)(**{**rec.__dict__, "session_id": "s-unknown"})
    result = run("r", ["A"])
    result = type(result)(**{**result.__dict__, "sessions": sessions, "receipts": (rec,)})
    score = score_recording(truth("r", ["A", "B"], [pick("A", SALT, 10)]), result, STORE)
    assert score.receipt_shoppers == (linked,)
    assert score.tp == (1 if linked else 0)
