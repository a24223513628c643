"""Scenarios: who does what, in which order, in a simulated recording (no timing, no noise).

A :class:`Scenario` is the semantic script of a recording. :func:`walkout.sim.simulate` turns it
into sensor streams and ground truth; timing, unit masses, sensor faults and every other random
detail are drawn there from the seed. Scenarios come from AiFi labels
(:func:`walkout.sim.aifi.aifi_scenarios`), from :func:`walkout.sim.generator.random_scenario`
or are written by hand (tests).

Ordering: ``Scenario.events`` is the global order. Each shopper does its own events in that
order, and events on the same product or the same shelf happen in that order across shoppers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from walkout.core.store import Facing, PlateId, Store
from walkout.eval.truth import SkippedLabel


@dataclass(frozen=True)
class ScenarioShopper:
    """A shopper of a scenario.

    Attributes:
        key: the shopper key written to the ground truth (AiFi ``target_id``).
        account_id: the demo account whose app shows the entry QR code (an associate: whose
            staff badge is scanned).
        role: ``"customer"`` or ``"associate"`` (scans a staff badge; restocks and faces).
        enter_after_s: the shopper appears outside the entry gate no earlier than this
            (seconds since the recording's start); 0 lets the simulator stagger shoppers.
        payer: index of the group's payer when this shopper is a companion: the payer's app is
            scanned for them (one payer, one receipt), and they walk in right behind the payer.
        scan_fault: the first QR shown at the gate is ``"expired"`` (an old screenshot),
            ``"replayed"`` (the token the payer's app showed for the previous person) or
            ``"forged"`` (tampered); the gate refuses it and the shopper shows a fresh one.
        rescan: ``"empty"``: right after entering, the shopper walks back to the scanner, scans
            again from inside (the session is deleted) and leaves without shopping (no events);
            ``"with_items"``: after the shopper's events, a second scan from inside (refused).
        token: the entry token the shopper's phone shows for the scan that admits them (e.g. one
            a live service issued to a real customer); None: the simulated app issues one.
    """

    key: str
    account_id: str
    role: Literal["customer", "associate"] = "customer"
    enter_after_s: float = 0.0
    payer: int | None = None
    scan_fault: Literal["expired", "replayed", "forged"] | None = None
    rescan: Literal["empty", "with_items"] | None = None
    token: str | None = None


@dataclass(frozen=True)
class ScenarioEvent:
    """One shelf event of a scenario.

    Attributes:
        shopper: index into :attr:`Scenario.shoppers`.
        kind: ``"pick"`` or ``"putback"``.
        upcs: one UPC per unit (``("A", "A")`` = two units of A at once; ``("A", "B")`` = two
            products, one per hand).
        plates: the position named by the label (one shelf). A pick takes a unit of each UPC
            lying on these plates if there is one, else from the product's facing; a put-back
            returns the unit where it came from when ``plates`` equals the position its pick
            named, else lays it across these plates.
        label_event_id: the AiFi ``eventID`` this event replays, if any.
    """

    shopper: int
    kind: Literal["pick", "putback"]
    upcs: tuple[str, ...]
    plates: tuple[PlateId, ...]
    label_event_id: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("pick", "putback"):
            raise ValueError(f"ScenarioEvent.kind: expected 'pick' or 'putback', got {self.kind!r}")
        if not self.upcs:
            raise ValueError("ScenarioEvent.upcs: expected at least one UPC")
        if not self.plates:
            raise ValueError("ScenarioEvent.plates: expected at least one plate")
        if len({(p.gondola, p.shelf) for p in self.plates}) != 1:
            raise ValueError(f"ScenarioEvent.plates: expected plates of one shelf, got {self.plates}")


@dataclass(frozen=True)
class Scenario:
    """The script of one recording.

    Attributes:
        name: the recording's name.
        planogram: the operating planogram at t = 0 (becomes ``RecordingMeta.planogram``); every
            facing starts with ``count`` units.
        shoppers: the shoppers, in entry order.
        events: the shelf events in global order.
        skipped_labels: labels that could not be replayed (copied into the ground truth).
        min_duration_s: the recording lasts at least this long.
        source: free text describing where the scenario came from.
    """

    name: str
    planogram: tuple[Facing, ...]
    shoppers: tuple[ScenarioShopper, ...]
    events: tuple[ScenarioEvent, ...]
    skipped_labels: tuple[SkippedLabel, ...] = ()
    min_duration_s: float = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        n = len(self.shoppers)
        for k, e in enumerate(self.events):
            if not 0 <= e.shopper < n:
                raise ValueError(f"Scenario {self.name!r}: events[{k}].shopper {e.shopper} not in [0, {n})")
        keys = [s.key for s in self.shoppers]
        if len(set(keys)) != len(keys):
            raise ValueError(f"Scenario {self.name!r}: shopper keys are not unique: {keys}")
        shopping = {e.shopper for e in self.events}
        for i, sh in enumerate(self.shoppers):
            where = f"Scenario {self.name!r}: shoppers[{i}]"
            if sh.payer is not None:
                if not 0 <= sh.payer < i or self.shoppers[sh.payer].payer is not None:
                    raise ValueError(f"{where}.payer {sh.payer}: expected an earlier shopper who is no companion")
                if sh.role != "customer" or self.shoppers[sh.payer].role != "customer":
                    raise ValueError(f"{where}.payer: groups are customers only")
            if sh.scan_fault == "replayed" and sh.payer is None:
                raise ValueError(f"{where}.scan_fault 'replayed': only a companion can be shown an already used QR")
            if sh.rescan == "empty" and i in shopping:
                raise ValueError(f"{where}.rescan 'empty': the shopper leaves without shopping, but has events")
            if sh.role == "associate" and (sh.scan_fault or sh.rescan):
                raise ValueError(f"{where}: an associate scans a badge (no scan_fault, no rescan)")

    def check_against(self, store: Store) -> None:
        """Check that every plate and product the scenario names exists in ``store``.

        Raises:
            ValueError: naming the first unknown plate or product.
        """
        plates = store.plate_index
        for f in self.planogram:
            if f.upc not in store.product_by_upc or any(p not in plates for p in f.plates):
                raise ValueError(f"Scenario {self.name!r}: facing of {f.upc} names an unknown product or plate")
        for k, e in enumerate(self.events):
            bad = [str(p) for p in e.plates if p not in plates] + [u for u in e.upcs if u not in store.product_by_upc]
            if bad:
                raise ValueError(f"Scenario {self.name!r}: events[{k}] names unknown plates/products {bad}")
