"""AiFi labelled recordings -> scenarios (one per recording, replaying its labels).

Per recording:

* One virtual shopper per distinct ``target_id`` (in order of first appearance; an empty id
  becomes the key ``"unlabelled"``); shopper i scans the app of the i-th demo customer. A
  recording with no events gets one shopper ``"unlabelled"`` who browses and takes nothing.
* Labels that cannot be replayed become :class:`~walkout.eval.truth.SkippedLabel` with a reason:
  no products, an unknown UPC (e.g. ``"UNKOWN"``), no plates or plates the store does not have,
  a put-back of a product the shopper does not hold (after earlier skips).
* The planogram at t = 0 starts from ``store.planogram``. Each product the recording picks
  starts where its first pick happened (the label's gondola/shelf/plates). Touched products
  claiming the same plates share them so each keeps at least one (``[4, 6]`` for two products
  -> 4 and 6; ``[4, 5]`` -> 4 and 5); untouched facings lose the plates touched products now
  occupy (and are dropped when none remain). Every facing starts full (``count = capacity``,
  4 units per plate), with capacity raised if the recording picks more units of a product.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from walkout.core.store import Facing, PlateId, Store
from walkout.eval.truth import SkippedLabel
from walkout.io.accounts import demo_accounts
from walkout.sim.labels import LabelEvent, LabelRecording
from walkout.sim.scenario import Scenario, ScenarioEvent, ScenarioShopper

UNLABELLED = "unlabelled"


@dataclass(frozen=True)
class _Claim:
    upc: str
    shelf: tuple[int, int]
    plates: tuple[int, ...]


def _units_per_plate(store: Store) -> int:
    ratios = Counter(f.capacity // len(f.plates) for f in store.planogram)
    return max(1, ratios.most_common(1)[0][0]) if ratios else 4


def _skip_reason(e: LabelEvent, store: Store, key: str, held: Counter[tuple[str, str]]) -> str | None:
    if not e.products:
        return "label has no products"
    unknown = sorted({p.upc for p in e.products if p.upc not in store.product_by_upc})
    if unknown:
        return f"unknown product UPC {', '.join(repr(u) for u in unknown)} (not in the store's catalogue)"
    if not e.plates:
        return "label names no plates"
    missing = [
        str(PlateId(e.gondola, e.shelf, p)) for p in e.plates if PlateId(e.gondola, e.shelf, p) not in store.plate_index
    ]
    if missing:
        return f"label names plates the store does not have: {', '.join(missing)}"
    if e.putback:
        need = Counter(p.upc for p in e.products)
        for upc, n in sorted(need.items()):
            if held[(key, upc)] < n:
                name = store.product_by_upc[upc].name
                return f"put-back of {n} x {upc} ({name}) that shopper {key} does not hold"
    return None


def split_claims(claims: list[tuple[int, ...]], shelf_plates: list[int]) -> list[tuple[int, ...]]:
    """Share overlapping plate claims of one shelf so each claimant keeps at least one plate.

    Plates claimed by one product only stay with it. Each plate claimed by several goes, in
    plate order, to the claimant holding the fewest plates so far (ties: the earlier claim).
    A claimant left with nothing takes the nearest plate of the shelf nobody claims, or shares
    the first plate of its claim if there is none.

    Args:
        claims: plate numbers claimed by each product, in order of their first pick.
        shelf_plates: all plate numbers of the shelf.

    Returns:
        The plates of each product, ascending, same order as ``claims``.
    """
    count = Counter(p for c in claims for p in set(c))
    own: list[list[int]] = [sorted(p for p in set(c) if count[p] == 1) for c in claims]
    for plate in sorted(p for p, n in count.items() if n > 1):
        who = [i for i, c in enumerate(claims) if plate in c]
        best = min(who, key=lambda i: (len(own[i]), i))
        own[best].append(plate)
    free = [p for p in shelf_plates if p not in count]
    for i, c in enumerate(claims):
        if not own[i]:
            centre = sum(c) / len(c)
            pick = min(free, key=lambda p: (abs(p - centre), p)) if free else min(c)
            if free:
                free.remove(pick)
            own[i].append(pick)
    return [tuple(sorted(o)) for o in own]


def recording_planogram(store: Store, claims: list[_Claim], picked_units: Counter[str]) -> tuple[Facing, ...]:
    """The planogram at t = 0 of a replayed recording (see the module docstring)."""
    per_plate = _units_per_plate(store)
    by_shelf: dict[tuple[int, int], list[_Claim]] = {}
    for c in claims:
        by_shelf.setdefault(c.shelf, []).append(c)
    touched: list[Facing] = []
    for (g, s), group in by_shelf.items():
        shelf_plates = sorted(p.id.plate for p in store.plates if (p.id.gondola, p.id.shelf) == (g, s))
        for c, plates in zip(group, split_claims([c.plates for c in group], shelf_plates), strict=True):
            cap = max(per_plate * len(plates), picked_units[c.upc])
            touched.append(Facing(upc=c.upc, plates=tuple(PlateId(g, s, p) for p in plates), count=cap, capacity=cap))
    taken = {p for f in touched for p in f.plates}
    upcs = {f.upc for f in touched}
    kept = []
    for f in store.planogram:
        if f.upc in upcs:
            continue
        left = tuple(p for p in f.plates if p not in taken)
        if left:
            cap = max(1, f.capacity // len(f.plates)) * len(left)
            kept.append(Facing(upc=f.upc, plates=left, count=cap, capacity=cap))
    return tuple(sorted(touched + kept, key=lambda f: f.plates[0]))


def _shopper_keys(label: LabelRecording) -> list[str]:
    keys = list(dict.fromkeys(e.target_id or UNLABELLED for e in label.events))
    return keys or [UNLABELLED]


def aifi_scenario(label: LabelRecording, store: Store) -> Scenario:
    """The scenario replaying one labelled AiFi recording in ``store``.

    Raises:
        ValueError: the recording has more shoppers than there are demo customer accounts.
    """
    keys = _shopper_keys(label)
    customers = [a for a in demo_accounts() if a.role == "customer"]
    if len(keys) > len(customers):
        raise ValueError(f"recording {label.name!r} has {len(keys)} shoppers, only {len(customers)} demo customers")
    index = {k: i for i, k in enumerate(keys)}
    held: Counter[tuple[str, str]] = Counter()
    events: list[ScenarioEvent] = []
    skipped: list[SkippedLabel] = []
    claims: list[_Claim] = []
    picked: Counter[str] = Counter()
    for e in label.events:
        key = e.target_id or UNLABELLED
        reason = _skip_reason(e, store, key, held)
        if reason is not None:
            skipped.append(SkippedLabel(label_event_id=e.event_id, reason=reason))
            continue
        upcs = tuple(p.upc for p in e.products)
        for upc in upcs:
            held[(key, upc)] += -1 if e.putback else 1
        if not e.putback:
            picked.update(upcs)
            known = {c.upc for c in claims}
            claims += [_Claim(u, (e.gondola, e.shelf), e.plates) for u in dict.fromkeys(upcs) if u not in known]
        events.append(
            ScenarioEvent(
                shopper=index[key],
                kind="putback" if e.putback else "pick",
                upcs=upcs,
                plates=tuple(PlateId(e.gondola, e.shelf, p) for p in e.plates),
                label_event_id=e.event_id,
            )
        )
    return Scenario(
        name=label.name,
        planogram=recording_planogram(store, claims, picked),
        shoppers=tuple(ScenarioShopper(key=k, account_id=customers[i].account_id) for i, k in enumerate(keys)),
        events=tuple(events),
        skipped_labels=tuple(skipped),
        source=f"AiFi labels {label.source} [{label.index}] {label.dataset}",
    )


def aifi_scenarios(labels: tuple[LabelRecording, ...], store: Store) -> tuple[Scenario, ...]:
    """One scenario per labelled recording, in the same order (see :func:`aifi_scenario`)."""
    return tuple(aifi_scenario(label, store) for label in labels)
