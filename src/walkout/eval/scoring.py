"""Receipt scoring with the CPS-IoT Week 2020 AutoCheckout rule, plus shelf-event precision/recall.

The rule (AiFi / Carnegie Mellon AutoCheckout competition; see the AiFi Nanostore NOTES.md and
``docs/evaluation.md``): per true shopper, the *expected* multiset of products is their picks
minus their put-backs of the same product (a put-back cancels a matching earlier pick, never
going below zero), the *predicted* multiset is the quantities on their receipt. Per product,
TP = min(expected, predicted), FP = predicted - TP, FN = expected - TP. Precision, recall and F1
are micro-averaged: TP, FP and FN are summed over shoppers and recordings first.

A receipt belongs to the true shopper whose app token equals the token of the receipt's session
(``RunResult.sessions``). A true shopper with no receipt is scored against an empty receipt; every
unit on a receipt linked to no true shopper is a false positive.

Every ratio here uses 0/0 = 1.0: an empty receipt for a shopper who took nothing is right.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from walkout.carts.receipt import Receipt
from walkout.core.store import Store
from walkout.engine.result import RunResult, SessionInfo
from walkout.eval.diagnosis import Gap, ReceiptError, diagnose_gaps, unlinked_receipt_errors
from walkout.eval.matching import EVENT_TOLERANCE_S, EventMatching, match_events, ratio
from walkout.eval.truth import GroundTruth, TruthShopper


class _Ratios:
    """Precision, recall and F1 of a score with ``tp``, ``fp`` and ``fn`` units (0/0 = 1.0)."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        return ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)


@dataclass(frozen=True)
class ShopperScore:
    """One true shopper's receipt scored against what they really took.

    Attributes:
        key: the true shopper's key.
        session_ids: the engine sessions linked to this shopper (empty: no receipt).
        expected: UPC -> units the shopper left with (read-only).
        predicted: UPC -> units on their receipt(s) (read-only).
        tp, fp, fn: units, per the AutoCheckout rule.
    """

    key: str
    session_ids: tuple[str, ...]
    expected: Mapping[str, int]
    predicted: Mapping[str, int]
    tp: int
    fp: int
    fn: int


@dataclass(frozen=True)
class RecordingScore(_Ratios):
    """The score of one engine run over one recording.

    Attributes:
        recording: the recording's name.
        shoppers: one score per true shopper, in the truth's order.
        receipt_shoppers: for each of ``RunResult.receipts`` (same order), the true shopper's
            key it is linked to, or None.
        unlinked_fp: units on receipts linked to no true shopper (all false positives).
        events: engine shelf events matched to true events.
        errors: every wrong receipt line with its diagnosed cause.
    """

    recording: str
    shoppers: tuple[ShopperScore, ...]
    receipt_shoppers: tuple[str | None, ...]
    unlinked_fp: int
    events: EventMatching
    errors: tuple[ReceiptError, ...]

    @property
    def tp(self) -> int:
        return sum(s.tp for s in self.shoppers)

    @property
    def fp(self) -> int:
        return sum(s.fp for s in self.shoppers) + self.unlinked_fp

    @property
    def fn(self) -> int:
        return sum(s.fn for s in self.shoppers)

    @property
    def event_precision(self) -> float:
        return self.events.precision

    @property
    def event_recall(self) -> float:
        return self.events.recall

    def expected_for(self, key: str | None) -> dict[str, int]:
        """UPC -> expected units of the true shopper ``key`` ({} for None or an unknown key)."""
        for s in self.shoppers:
            if s.key == key:
                return dict(s.expected)
        return {}


@dataclass(frozen=True)
class RunScore(_Ratios):
    """Scores of a run over several recordings, micro-averaged as the competition did."""

    recordings: tuple[RecordingScore, ...]

    @property
    def tp(self) -> int:
        return sum(r.tp for r in self.recordings)

    @property
    def fp(self) -> int:
        return sum(r.fp for r in self.recordings)

    @property
    def fn(self) -> int:
        return sum(r.fn for r in self.recordings)

    @property
    def events_matched(self) -> int:
        return sum(r.events.matched for r in self.recordings)

    @property
    def engine_events(self) -> int:
        return sum(r.events.n_engine for r in self.recordings)

    @property
    def truth_events(self) -> int:
        return sum(r.events.n_truth for r in self.recordings)

    @property
    def event_precision(self) -> float:
        return ratio(self.events_matched, self.engine_events)

    @property
    def event_recall(self) -> float:
        return ratio(self.events_matched, self.truth_events)

    @property
    def shoppers(self) -> int:
        return sum(len(r.shoppers) for r in self.recordings)

    @property
    def errors(self) -> tuple[ReceiptError, ...]:
        return tuple(e for r in self.recordings for e in r.errors)


def expected_items(truth: GroundTruth, shopper: str) -> dict[str, int]:
    """UPC -> units ``shopper``'s group left with: picks minus put-backs of the same product.

    The group is the shopper and every companion whose payer they are (one cart; hand-offs
    inside the group change nothing). Events are taken in ``t_s`` order; a put-back cancels
    units of an earlier pick of the same product by the group and never takes a count below
    zero (a put-back of something the group never picked, e.g. an associate restocking, cancels
    nothing). An associate's group expects nothing: staff are never charged.
    """
    group = {s.key for s in truth.shoppers if s.key == shopper or s.payer == shopper}
    if any(s.key == shopper and s.role == "associate" for s in truth.shoppers):
        return {}
    held: dict[str, int] = {}
    for e in sorted((e for e in truth.events if e.shopper in group), key=lambda e: e.t_s):
        if e.kind == "pick":
            held[e.upc] = held.get(e.upc, 0) + e.quantity
        else:
            held[e.upc] = max(0, held.get(e.upc, 0) - e.quantity)
    return {u: q for u, q in sorted(held.items()) if q > 0}


def link_sessions(truth: GroundTruth, sessions: Sequence[SessionInfo]) -> dict[str, str | None]:
    """session_id -> key of the true shopper whose token equals the session's token (or None).

    If several true shoppers share the token (one account entering twice), the one whose entry
    time is closest to the session's entry wins.
    """
    by_token: dict[str, list[TruthShopper]] = {}
    for s in truth.shoppers:
        by_token.setdefault(s.token, []).append(s)
    out: dict[str, str | None] = {}
    for sess in sessions:
        cands = by_token.get(sess.token, [])
        best = min(cands, key=lambda s: abs(s.entry_t_s - sess.entry_t_s), default=None)
        out[sess.session_id] = best.key if best is not None else None
    return out


def _receipt_shopper(receipt: Receipt, result: RunResult, links: Mapping[str, str | None]) -> str | None:
    """The true shopper of a receipt: via its session, else via its account's only session."""
    if receipt.session_id in links:
        return links[receipt.session_id]
    same_account = [s for s in result.sessions if s.account_id == receipt.account_id]
    return links[same_account[0].session_id] if len(same_account) == 1 else None


def _score_shopper(key: str, expected: dict[str, int], receipts: Sequence[Receipt]) -> ShopperScore:
    predicted: dict[str, int] = {}
    for r in receipts:
        for upc, q in r.quantities().items():
            predicted[upc] = predicted.get(upc, 0) + q
    tp = sum(min(q, predicted.get(u, 0)) for u, q in expected.items())
    sessions = tuple(r.session_id for r in receipts)
    return ShopperScore(
        key, sessions, expected, predicted, tp, sum(predicted.values()) - tp, sum(expected.values()) - tp
    )


def _gaps(s: ShopperScore) -> list[Gap]:
    gaps = []
    for upc in sorted(set(s.expected) | set(s.predicted)):
        e, p = s.expected.get(upc, 0), s.predicted.get(upc, 0)
        if p > e:
            gaps.append(Gap(s.key, upc, "extra", p - e))
        elif e > p:
            gaps.append(Gap(s.key, upc, "missing", e - p))
    return gaps


def score_recording(
    truth: GroundTruth, result: RunResult, store: Store, *, event_tolerance_s: float = EVENT_TOLERANCE_S
) -> RecordingScore:
    """Score one engine run against the ground truth of the same recording.

    Args:
        truth: what really happened (``<name>.truth.json``).
        result: what the engine produced for the recording.
        store: the store (product names for the error list).
        event_tolerance_s: time tolerance of shelf-event matching, seconds.

    Returns:
        The recording's receipt score (AutoCheckout rule), event matching and receipt errors.

    Raises:
        ValueError: if ``truth`` and ``result`` name different recordings.
    """
    if truth.recording != result.recording:
        raise ValueError(f"truth is for recording {truth.recording!r} but the result for {result.recording!r}")
    links = link_sessions(truth, result.sessions)
    receipt_shoppers = tuple(_receipt_shopper(r, result, links) for r in result.receipts)
    shoppers = tuple(
        _score_shopper(
            s.key,
            expected_items(truth, s.key),
            [r for r, k in zip(result.receipts, receipt_shoppers, strict=True) if k == s.key],
        )
        for s in truth.shoppers
        if s.payer is None and s.role == "customer"
    )
    unlinked = [r for r, k in zip(result.receipts, receipt_shoppers, strict=True) if k is None]
    matching = match_events(result.shelf_events, truth.events, event_tolerance_s)
    gaps = [g for s in shoppers for g in _gaps(s)]
    no_receipt = frozenset(s.key for s in shoppers if not s.session_ids)
    errors = diagnose_gaps(truth, result, store, matching, links, gaps, no_receipt)
    errors += unlinked_receipt_errors(truth.recording, unlinked)
    unlinked_fp = sum(q for r in unlinked for q in r.quantities().values())
    return RecordingScore(truth.recording, shoppers, receipt_shoppers, unlinked_fp, matching, errors)


def score_run(
    pairs: Iterable[tuple[GroundTruth, RunResult]], store: Store, *, event_tolerance_s: float = EVENT_TOLERANCE_S
) -> RunScore:
    """Score several recordings and micro-average them (TP, FP, FN summed, then the ratios).

    Args:
        pairs: ``(truth, result)`` for each recording.
        store: the store the recordings were made in.
        event_tolerance_s: time tolerance of shelf-event matching, seconds.

    Raises:
        ValueError: if a pair names different recordings, or a recording appears twice.
    """
    scores = tuple(score_recording(t, r, store, event_tolerance_s=event_tolerance_s) for t, r in pairs)
    return combine_scores(scores)


def combine_scores(scores: Iterable[RecordingScore]) -> RunScore:
    """A RunScore from already computed recording scores; raises ValueError on duplicate names."""
    scores = tuple(scores)
    names = [s.recording for s in scores]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"recordings scored more than once: {', '.join(dupes)}")
    return RunScore(scores)
