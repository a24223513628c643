"""All engine parameters in one frozen bundle (defaults documented in docs/engine.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from walkout.engine.sessions import GateParams
from walkout.events.shelf import ShelfEventParams
from walkout.fusion.product import ProductParams
from walkout.fusion.shopper import ShopperParams
from walkout.perception.people.linker import LinkerParams, ReidParams
from walkout.perception.people.vision import VisionParams
from walkout.perception.weight.changes import WeightParams


@dataclass(frozen=True)
class EngineParams:
    """Parameters of every layer plus the engine's own decisions.

    Attributes:
        people: where people come from: ``"vision"`` (the store's ceiling RGB-D units, when the
            recording has them attached; otherwise the tracker stream) or ``"tracker"`` (the
            recording's external person-tracker stream).
        vision_height_weight: with vision, the person linker's weight of a head-height difference
            (metres of cost per metre of height; the tracker stream's is ``linker.height_weight``).
        review_threshold: decisions with confidence below this go to the review list.
        gates: gate rules (scan link window, scanner reach; :class:`~walkout.engine.sessions.GateParams`).
        adopt_max_height_m: a person who appears inside the store (tracking was lost) takes over a
            session whose person vanished, if their head heights differ by at most this.
        continuation_s: a change no product explains waits for a continuation (same shelf, same
            direction, neighbouring plates) starting within this many seconds, and is decided
            together with it (an item rested on the plate, then lifted).
        split_min_p: several units of one product taken in one event are shared between the two
            most likely shoppers when the second is at least this likely, or when the first unit
            left at least ``split_gap_s`` before the last and another shopper's hand was there.
        live_min_confidence: live, an event on a provisionally settled plate is decided only if
            its decision (product and shopper) is at least this likely; otherwise it waits until
            the plate has settled by the full test (``WeightParams.min_steady``).
    """

    people: Literal["vision", "tracker"] = "tracker"
    vision: VisionParams = field(default_factory=VisionParams)
    weight: WeightParams = field(default_factory=WeightParams)
    linker: LinkerParams = field(default_factory=LinkerParams)
    reid: ReidParams = field(default_factory=ReidParams)
    shelf: ShelfEventParams = field(default_factory=ShelfEventParams)
    product: ProductParams = field(default_factory=ProductParams)
    shopper: ShopperParams = field(default_factory=ShopperParams)
    gates: GateParams = field(default_factory=GateParams)
    vision_height_weight: float = 4.0
    review_threshold: float = 0.6
    adopt_max_height_m: float = 0.12
    continuation_s: float = 8.0
    split_min_p: float = 0.3
    split_gap_s: float = 1.0
    live_min_confidence: float = 0.9
