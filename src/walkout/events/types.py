"""Event value types emitted by perception and consumed by fusion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from walkout.core.store import PlateId


@dataclass(frozen=True)
class ShelfEvent:
    """A settled weight change on one shelf.

    Attributes:
        event_id: unique within a run, increasing in ``t_end_s`` order.
        gondola, shelf: the shelf (AiFi ids).
        t_start_s: first sample that left the previous settled level (recording clock, s).
        t_end_s: when the new level had settled (s).
        plates: plates whose level changed, in plate order.
        plate_delta_g: settled change per plate (grams; negative = weight left the shelf).
        t_change_s: the moment the weight actually moved (last crossing of the midpoint between
            the levels before and after; the lift of a pick, the release of a put-back), s.
            Defaults to ``t_end_s``.
        t_first_change_s: the first time a quarter of the change had happened (the first unit of
            several taken one after the other), s; None if unknown.
        delta_g: sum of ``plate_delta_g``.
        kind: ``"pick"`` if weight left the shelf, else ``"putback"``.
    """

    event_id: int
    gondola: int
    shelf: int
    t_start_s: float
    t_end_s: float
    plates: tuple[PlateId, ...]
    plate_delta_g: tuple[float, ...]
    t_change_s: float | None = None
    t_first_change_s: float | None = None

    @property
    def t_key_s(self) -> float:
        """``t_change_s`` when known, else ``t_end_s``."""
        return self.t_end_s if self.t_change_s is None else self.t_change_s

    @property
    def delta_g(self) -> float:
        return float(sum(self.plate_delta_g))

    @property
    def kind(self) -> Literal["pick", "putback"]:
        return "pick" if self.delta_g < 0 else "putback"


@dataclass(frozen=True)
class GateEvent:
    """A gate event: a token scan, or a person crossing an entry/exit line."""

    kind: Literal["scan", "entry", "exit"]
    gate_id: str
    t_s: float
    token: str | None = None
    person: int | None = None
