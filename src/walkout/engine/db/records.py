"""Frozen values returned by :class:`~walkout.engine.db.Database` (no ORM object leaves the package)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from walkout.engine.result import ReviewItem


@dataclass(frozen=True)
class AccountRecord:
    """A stored account; ``created_at`` is timezone-aware UTC; ``status`` active or erased; ``role``
    customer, associate or manager (migration 0003)."""

    account_id: str
    name: str
    email: str
    token: str
    role: Literal["customer", "associate", "manager"]
    created_at: datetime
    status: Literal["active", "erased"] = "active"


@dataclass(frozen=True)
class SessionRecord:
    """A stored shopping session; times in seconds on the recording clock.

    ``status``: open -> exited (the last member left; finalization pending) -> closed (receipt
    stored), or deleted. ``kind``: customer, or staff (an associate; never charged).
    """

    session_id: str
    account_id: str
    recording: str
    entry_t_s: float
    exit_t_s: float | None
    status: Literal["open", "exited", "closed", "deleted"]
    kind: Literal["customer", "staff"] = "customer"


@dataclass(frozen=True)
class StockChange:
    """The outcome of :meth:`~walkout.engine.db.Database.adjust_stock`.

    Attributes:
        plate_id: normalised "G.S.P" plate id.
        upc: product UPC.
        count: units on the plate after the change (never negative).
        unapplied: the part of a removal that found no unit (<= 0; 0 when nothing was clamped).
    """

    plate_id: str
    upc: str
    count: int
    unapplied: int


@dataclass(frozen=True)
class ReviewRecord:
    """A stored review item with its queue id and status."""

    review_id: int
    recording: str
    item: ReviewItem
    status: Literal["open", "resolved"]


@dataclass(frozen=True)
class ShelfEventRecord:
    """A logged shelf event and the engine's decision for it.

    Attributes:
        plate_delta_g: "G.S.P" plate id -> settled weight change in grams (negative = weight left).
        items: ((upc, quantity), ...) decided for the event; empty if undecided.
        session_id: the session charged or credited, or None.
        confidence: the decision's confidence, or None if undecided.
    """

    recording: str
    event_id: int
    gondola: int
    shelf: int
    t_start_s: float
    t_end_s: float
    delta_g: float
    kind: Literal["pick", "putback"]
    plate_delta_g: dict[str, float]
    items: tuple[tuple[str, int], ...]
    session_id: str | None
    confidence: float | None
