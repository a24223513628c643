"""Small hand-built stores, ground truths and engine results for the evaluator's tests.

A tiny fake engine: each :class:`Decision` becomes one engine ShelfEvent (and an Attribution
unless ``items`` is None); receipts apply the cart rule (picks minus put-backs, never below zero)
to the decisions of each session, unless a test passes its own carts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from walkout.carts.receipt import Receipt, make_receipt
from walkout.core.store import Gondola, Plate, PlateId, Pose, Product, Shelf, Store
from walkout.engine.result import Attribution, ReviewItem, RunResult, SessionInfo
from walkout.eval.truth import GroundTruth, TruthEvent, TruthShopper
from walkout.events.types import ShelfEvent

SALT = "1001"  # Kettle Sea Salt, 62 g
BBQ = "1002"  # Kettle BBQ, 62 g (same weight as SALT)
LEMON = "2001"  # Spindrift Lemon
WATER = "3001"  # untaxed

Kind = Literal["pick", "putback"]


def tiny_store() -> Store:
    """Two gondolas, three shelves of three plates, four products, 7% tax."""
    shelves = [(1, 1), (1, 2), (2, 1)]
    return Store(
        name="Tiny Test Mart",
        tax_rate=0.07,
        floor_ltrb_m=(0.0, 0.0, 5.0, 5.0),
        gondolas=tuple(Gondola(id=g, pose=Pose(translation_m=(g, 0, 0)), size_m=(1.0, 0.5, 2.0)) for g in (1, 2)),
        shelves=tuple(Shelf(gondola=g, index=s, pose=Pose(), size_m=(1.0, 0.5, 0.05)) for g, s in shelves),
        plates=tuple(
            Plate(id=PlateId(g, s, p), pose=Pose(translation_m=(0.3 * (p - 1), 0, 0)), size_m=(0.3, 0.5, 0.02))
            for g, s in shelves
            for p in (1, 2, 3)
        ),
        products=(
            Product(upc=SALT, name="Kettle Sea Salt", mass_g=62, mass_sigma_g=1, price_cents=199),
            Product(upc=BBQ, name="Kettle BBQ", mass_g=62, mass_sigma_g=1, price_cents=199),
            Product(upc=LEMON, name="Spindrift Lemon", mass_g=368, mass_sigma_g=3, price_cents=249),
            Product(upc=WATER, name="Still Water", mass_g=500, mass_sigma_g=2, price_cents=100, taxable=False),
        ),
    )


STORE = tiny_store()


def token(key: str) -> str:
    return f"tok-{key}"


def sid(key: str) -> str:
    return f"s-{key}"


def account(key: str) -> str:
    return f"acct-{key}"


def t_shopper(key: str, entry_t_s: float = 0.0) -> TruthShopper:
    return TruthShopper(key=key, token=token(key), entry_t_s=entry_t_s, exit_t_s=entry_t_s + 100.0, height_m=1.7)


def t_event(
    kind: Kind, shopper: str, upc: str, t_s: float, quantity: int = 1, shelf: tuple[int, int] = (1, 1)
) -> TruthEvent:
    plates = (PlateId(shelf[0], shelf[1], 1), PlateId(shelf[0], shelf[1], 2))
    return TruthEvent(
        kind=kind, upc=upc, quantity=quantity, plates=plates, shopper=shopper, t_start_s=t_s - 1.5, t_s=t_s
    )


def pick(shopper: str, upc: str, t_s: float, quantity: int = 1, shelf: tuple[int, int] = (1, 1)) -> TruthEvent:
    return t_event("pick", shopper, upc, t_s, quantity, shelf)


def putback(shopper: str, upc: str, t_s: float, quantity: int = 1, shelf: tuple[int, int] = (1, 1)) -> TruthEvent:
    return t_event("putback", shopper, upc, t_s, quantity, shelf)


def truth(recording: str, keys: Sequence[str], events: Sequence[TruthEvent] = ()) -> GroundTruth:
    return GroundTruth(recording=recording, seed=0, shoppers=tuple(t_shopper(k) for k in keys), events=tuple(events))


def shelf_event(event_id: int, t_s: float, kind: Kind, shelf: tuple[int, int] = (1, 1)) -> ShelfEvent:
    delta = -62.0 if kind == "pick" else 62.0
    return ShelfEvent(
        event_id=event_id,
        gondola=shelf[0],
        shelf=shelf[1],
        t_start_s=t_s - 1.0,
        t_end_s=t_s,
        plates=(PlateId(shelf[0], shelf[1], 1),),
        plate_delta_g=(delta,),
    )


@dataclass(frozen=True)
class Decision:
    """One engine event at ``t_s`` and (unless ``items`` is None) its decision, charged to ``charged``."""

    t_s: float
    kind: Kind
    items: tuple[tuple[str, int], ...] | None
    charged: str | None
    shelf: tuple[int, int] = (1, 1)


def charge(t_s: float, charged: str | None, upc: str, q: int = 1, shelf: tuple[int, int] = (1, 1)) -> Decision:
    return Decision(t_s, "pick", ((upc, q),), charged, shelf)


def credit(t_s: float, charged: str | None, upc: str, q: int = 1, shelf: tuple[int, int] = (1, 1)) -> Decision:
    return Decision(t_s, "putback", ((upc, q),), charged, shelf)


def _carts(decisions: Sequence[Decision]) -> dict[str, dict[str, int]]:
    carts: dict[str, dict[str, int]] = {}
    for d in sorted(decisions, key=lambda d: d.t_s):
        if d.items is None or d.charged is None:
            continue
        cart = carts.setdefault(d.charged, {})
        for upc, q in d.items:
            cart[upc] = cart.get(upc, 0) + q if d.kind == "pick" else max(0, cart.get(upc, 0) - q)
    return carts


def receipt(key: str, cart: Mapping[str, int], session_key: str | None = None) -> Receipt:
    session_key = session_key or key
    return make_receipt(STORE, sid(session_key), account(session_key), cart, 0.0, 100.0)


def run(
    recording: str,
    keys: Sequence[str],
    decisions: Sequence[Decision] = (),
    *,
    carts: Mapping[str, Mapping[str, int]] | None = None,
    receipt_keys: Sequence[str] | None = None,
    review: Sequence[ReviewItem] = (),
) -> RunResult:
    """A fake engine result: one session per key (token ``tok-<key>``), receipts for ``receipt_keys``.

    ``carts`` (key -> UPC -> quantity) overrides the carts computed from ``decisions``.
    """
    ordered = sorted(decisions, key=lambda d: d.t_s)
    events = tuple(shelf_event(i, d.t_s, d.kind, d.shelf) for i, d in enumerate(ordered))
    attributions = tuple(
        Attribution(
            event_id=i,
            t_s=d.t_s,
            kind=d.kind,
            items=d.items,
            product_confidence=0.9,
            session_id=sid(d.charged) if d.charged else None,
            shopper_confidence=0.9,
        )
        for i, d in enumerate(ordered)
        if d.items is not None
    )
    cart_of = dict(carts) if carts is not None else _carts(ordered)
    sessions = tuple(SessionInfo(sid(k), account(k), token(k), 0.0, 100.0) for k in keys)
    receipts = tuple(receipt(k, cart_of.get(k, {})) for k in (keys if receipt_keys is None else receipt_keys))
    return RunResult(recording, sessions, receipts, events, attributions, tuple(review), {})
