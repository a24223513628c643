"""What one engine run over a recording produces (receipts, events, decisions, review list)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from walkout.carts.receipt import Receipt
from walkout.events.types import ShelfEvent
from walkout.perception.people.vision import VisionPeople


@dataclass(frozen=True)
class Attribution:
    """The engine's decision for one shelf event.

    Attributes:
        event_id: the ShelfEvent decided.
        kind: pick or putback.
        items: ((upc, quantity), ...) the most likely products and unit counts.
        product_confidence: posterior probability of ``items`` given weight and planogram.
        session_id: the session charged or credited (None if nobody could be linked).
        shopper_confidence: probability that ``session_id``'s shopper did it.
        confidence: product_confidence * shopper_confidence.
        alternatives: runner-up hypotheses as (description, probability).
    """

    event_id: int
    t_s: float
    kind: Literal["pick", "putback"]
    items: tuple[tuple[str, int], ...]
    product_confidence: float
    session_id: str | None
    shopper_confidence: float
    alternatives: tuple[tuple[str, float], ...] = ()

    @property
    def confidence(self) -> float:
        return self.product_confidence * self.shopper_confidence


@dataclass(frozen=True)
class ReviewItem:
    """A decision whose confidence fell below the review threshold, with its evidence.

    ``session_id`` is the session the engine charged or credited (None: nobody linked); its
    finalization waits for the decision (:mod:`walkout.operations.checkout`).
    """

    event_id: int
    t_s: float
    reason: str
    confidence: float
    evidence: dict[str, object] = field(default_factory=dict)
    session_id: str | None = None


@dataclass(frozen=True)
class SessionInfo:
    """A shopping session: which account, which scan opened it, entry and exit times.

    ``kind`` is ``customer`` or ``staff`` (an associate: no receipt); ``members`` the number of
    persons who entered on it (a group with one payer when > 1); ``deleted`` when a second scan
    from inside with an empty cart deleted it.
    """

    session_id: str
    account_id: str
    token: str
    entry_t_s: float
    exit_t_s: float | None
    kind: Literal["customer", "staff"] = "customer"
    members: int = 1
    deleted: bool = False


@dataclass(frozen=True)
class PersonPosition:
    """A linked person's last observation: head and hands (world frame, metres; a hand is None
    when unseen), the session they belong to (None: none or ended) and the tangled flag."""

    person: int
    t_s: float
    head_xyz_m: tuple[float, float, float]
    hands_xyz_m: tuple[tuple[float, ...] | None, tuple[float, ...] | None]
    session_id: str | None
    tangled: bool


@dataclass(frozen=True)
class RunResult:
    """Everything an engine run over one recording produced.

    ``vision`` holds the person tracks the ceiling units produced (None when the run used the
    recording's tracker stream); ``people_source`` says which one was used. ``carts`` are the
    sessions still open at the end (UPC -> units; empty after a final run, whose sessions are all
    closed); ``positions`` where each person seen in the last second was; ``stock`` the live
    planogram's (plate id, UPC, units) rows at the end.
    """

    recording: str
    sessions: tuple[SessionInfo, ...]
    receipts: tuple[Receipt, ...]
    shelf_events: tuple[ShelfEvent, ...]
    attributions: tuple[Attribution, ...]
    review: tuple[ReviewItem, ...]
    rejections: dict[str, int]
    stats: dict[str, float] = field(default_factory=dict)
    people_source: Literal["vision", "tracker"] = "tracker"
    vision: VisionPeople | None = None
    carts: dict[str, dict[str, int]] = field(default_factory=dict)
    positions: tuple[PersonPosition, ...] = ()
    stock: tuple[tuple[str, str, int], ...] = ()
