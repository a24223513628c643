"""Why a receipt line is wrong: each extra or missing unit traced to the event that caused it.

The evaluator knows every wrong unit per shopper and product (from the scoring rule) and, for
each true event, the engine event matched to it (:mod:`walkout.eval.matching`) and the engine's
decision for that event (:class:`~walkout.engine.result.Attribution`). It collects *leads*: true
events the engine got wrong and engine decisions that match no true event, each with a cause and
a unit count, and hands the wrong units of a receipt line to the leads of that line in time
order. Units no lead explains get the cause ``"unknown"`` (or ``"no receipt"`` when the shopper
got no receipt at all). Causes, and which side of a line they explain:

=====================================  ==========================================================
cause                                  meaning
=====================================  ==========================================================
missed event                           a true pick matched no engine event (missing units)
undecided event                        a true pick matched an engine event with no decision
spurious event                         an engine decision matched no true event
wrong product (X instead of Y)         the matched event was decided as X, the truth is Y
wrong quantity                         right product and event, wrong unit count
wrong shopper (charged to K)           right product, charged to session of K (or ``nobody``)
wrong shopper (credited to K)          a put-back credited to K's session instead
wrong shopper (taken by K)             the unit is on this receipt but K picked it
wrong shopper (put back by K)          this receipt was credited with K's put-back
put-back not credited                  a true put-back the engine missed or left undecided
receipt linked to no shopper (...)     the receipt's session token belongs to no true shopper
no receipt / unknown                   no event-level explanation found
=====================================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from walkout.carts.receipt import Receipt
from walkout.core.store import Store
from walkout.engine.result import Attribution, RunResult
from walkout.eval.matching import EventMatching
from walkout.eval.truth import GroundTruth, TruthEvent

ErrorKind = Literal["extra", "missing"]
#: (shopper key, upc, kind) -> candidate causes as (t_s, cause, units)
_Leads = dict[tuple[str, str, str], list[tuple[float, str, int]]]
#: session_id -> (true shopper key or None, how to name whoever holds the session)
_Who = Callable[[str | None], tuple[str | None, str]]


@dataclass(frozen=True)
class ReceiptError:
    """``quantity`` wrong units of one product on one shopper's receipt, and why.

    Attributes:
        recording: the recording's name.
        shopper: the true shopper's key (None for a receipt linked to no true shopper).
        upc, name: the product.
        kind: ``"extra"`` (charged but not taken: false positives) or ``"missing"`` (taken but
            not charged: false negatives).
        quantity: number of units (>= 1).
        cause: the diagnosed cause (see the module docstring).
    """

    recording: str
    shopper: str | None
    upc: str
    name: str
    kind: ErrorKind
    quantity: int
    cause: str

    def to_dict(self) -> dict[str, object]:
        """The error as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Gap:
    """What the scoring rule found wrong: ``quantity`` ``kind`` units of ``upc`` for ``shopper``."""

    shopper: str
    upc: str
    kind: ErrorKind
    quantity: int


def product_name(store: Store, upc: str) -> str:
    """The product's name, or the UPC itself for a product the store does not sell."""
    p = store.product_by_upc.get(upc)
    return p.name if p is not None else upc


def _items_name(store: Store, items: Iterable[tuple[str, int]]) -> str:
    parts = [product_name(store, u) if q == 1 else f"{q} x {product_name(store, u)}" for u, q in items]
    return " + ".join(parts) or "nothing"


def _truth_causes(
    t: TruthEvent, eid: int | None, a: Attribution | None, who: _Who, store: Store
) -> list[tuple[str, int]]:
    """Causes for a true event the engine did not get right (empty if it did)."""
    putback = t.kind == "putback"
    if eid is None or a is None:
        if putback:
            return [("put-back not credited", t.quantity)]
        return [("missed event" if eid is None else "undecided event", t.quantity)]
    got = sum(q for u, q in a.items if u == t.upc)
    if got == 0:
        return [(f"wrong product ({_items_name(store, a.items)} instead of {product_name(store, t.upc)})", t.quantity)]
    out = []
    charged, charged_name = who(a.session_id)
    if charged != t.shopper:
        out.append((f"wrong shopper ({'credited' if putback else 'charged'} to {charged_name})", min(got, t.quantity)))
    if got < t.quantity:
        out.append(("wrong quantity", t.quantity - got))
    return out


def _engine_causes(upc: str, n: int, charged: str, t: TruthEvent | None, store: Store) -> list[tuple[str, int]]:
    """Causes for ``n`` units of ``upc`` an engine decision put on ``charged``'s receipt."""
    if t is None:
        return [("spurious event", n)]
    if t.upc != upc:
        return [(f"wrong product ({product_name(store, upc)} instead of {product_name(store, t.upc)})", n)]
    out = []
    if t.shopper != charged:
        verb = "put back by" if t.kind == "putback" else "taken by"
        out.append((f"wrong shopper ({verb} {t.shopper})", min(n, t.quantity)))
    if n > t.quantity:
        out.append(("wrong quantity", n - t.quantity))
    return out


def _collect_leads(
    truth: GroundTruth, attributions: Sequence[Attribution], matching: EventMatching, who: _Who, store: Store
) -> _Leads:
    """Candidate causes from true events the engine got wrong and from wrong engine decisions."""
    leads: _Leads = {}
    by_event = {a.event_id: a for a in attributions}
    for i, t in enumerate(truth.events):
        eid = matching.engine_for_truth.get(i)
        decision = by_event.get(eid) if eid is not None else None
        kind = "missing" if t.kind == "pick" else "extra"
        for cause, units in _truth_causes(t, eid, decision, who, store):
            leads.setdefault((t.shopper, t.upc, kind), []).append((t.t_s, cause, units))
    for a in attributions:
        charged, _ = who(a.session_id)
        if charged is None:
            continue  # its units land on an unlinked receipt (or none) and are explained there
        j = matching.truth_for_engine.get(a.event_id)
        matched = truth.events[j] if j is not None else None
        kind = "extra" if a.kind == "pick" else "missing"
        for upc, n in a.items:
            for cause, units in _engine_causes(upc, n, charged, matched, store):
                leads.setdefault((charged, upc, kind), []).append((a.t_s, cause, units))
    return leads


def _allocate(leads: Sequence[tuple[float, str, int]], quantity: int, fallback: str) -> list[tuple[str, int]]:
    """Hand ``quantity`` wrong units to the leads in time order; the rest get ``fallback``."""
    out: dict[str, int] = {}
    left = quantity
    for _, cause, units in sorted(leads, key=lambda lead: lead[0]):
        if left <= 0:
            break
        take = min(units, left)
        out[cause] = out.get(cause, 0) + take
        left -= take
    if left > 0:
        out[fallback] = out.get(fallback, 0) + left
    return list(out.items())


def _who_for(session_shopper: Mapping[str, str | None]) -> _Who:
    def who(session_id: str | None) -> tuple[str | None, str]:
        if session_id is None:
            return None, "nobody"
        key = session_shopper.get(session_id)
        return (key, key) if key is not None else (None, f"session {session_id}")

    return who


def diagnose_gaps(
    truth: GroundTruth,
    result: RunResult,
    store: Store,
    matching: EventMatching,
    session_shopper: Mapping[str, str | None],
    gaps: Sequence[Gap],
    without_receipt: frozenset[str] = frozenset(),
) -> tuple[ReceiptError, ...]:
    """Explain each gap (wrong units of a linked shopper's receipt) by its causes.

    Args:
        truth: what really happened.
        result: what the engine produced.
        store: the store (product names).
        matching: engine events matched to ``truth.events``.
        session_shopper: session_id -> true shopper key (None if linked to no true shopper).
        gaps: the wrong units found by the scoring rule.
        without_receipt: keys of true shoppers who got no receipt.

    Returns:
        One :class:`ReceiptError` per (gap, cause), in the order of ``gaps``.
    """
    leads = _collect_leads(truth, result.attributions, matching, _who_for(session_shopper), store)
    errors = []
    for g in gaps:
        fallback = "no receipt" if g.shopper in without_receipt else "unknown"
        for cause, units in _allocate(leads.get((g.shopper, g.upc, g.kind), []), g.quantity, fallback):
            errors.append(
                ReceiptError(truth.recording, g.shopper, g.upc, product_name(store, g.upc), g.kind, units, cause)
            )
    return tuple(errors)


def unlinked_receipt_errors(recording: str, receipts: Iterable[Receipt]) -> tuple[ReceiptError, ...]:
    """Every line of a receipt linked to no true shopper: all its units are false positives."""
    return tuple(
        ReceiptError(
            recording,
            None,
            line.upc,
            line.name,
            "extra",
            line.quantity,
            f"receipt linked to no shopper (session {r.session_id}, account {r.account_id})",
        )
        for r in receipts
        for line in r.lines
        if line.quantity > 0
    )
