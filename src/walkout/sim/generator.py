"""Random scenarios: shoppers picking products from the planogram, seeded.

Shoppers enter staggered over the first half of the recording and each plans a random number of
events within its time budget so that everybody can leave before the end. Events are generated
in the order of their planned times, across shoppers, so the global order is consistent with
the stock: a pick takes one unit (sometimes 2-3 at once, sometimes two products with both
hands, sometimes a unit another shopper misplaced), a put-back returns a held unit to its place
or, sometimes, to a wrong plate of the same shelf or another shelf.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np

from walkout.core.store import Facing, PlateId, Store
from walkout.io.accounts import demo_accounts
from walkout.sim.params import ShopperParams
from walkout.sim.scenario import Scenario, ScenarioEvent, ScenarioShopper

#: planning estimates (seconds) of the walk in from the gate and out to the exit
ENTRY_ESTIMATE_S = 5.0
EXIT_ESTIMATE_S = 12.0


@dataclass
class _Plan:
    """Mutable generator state (private)."""

    facings: tuple[Facing, ...]
    left: dict[str, int]
    held: dict[int, list[tuple[str, tuple[PlateId, ...], bool]]] = field(default_factory=dict)
    misplaced: list[tuple[str, tuple[PlateId, ...]]] = field(default_factory=list)
    events: list[ScenarioEvent] = field(default_factory=list)


def _shelf_plates(store: Store) -> dict[tuple[int, int], list[PlateId]]:
    out: dict[tuple[int, int], list[PlateId]] = {}
    for p in store.plates:
        out.setdefault((p.id.gondola, p.id.shelf), []).append(p.id)
    return out


def _wrong_place(store: Store, facing: Facing, params: ShopperParams, rng: np.random.Generator) -> tuple[PlateId, ...]:
    shelves = _shelf_plates(store)
    home = (facing.plates[0].gondola, facing.plates[0].shelf)
    if rng.random() < params.wrong_shelf_prob:
        others = [k for k in shelves if k != home]
        key = others[int(rng.integers(len(others)))]
        options = shelves[key]
    else:
        key = home
        options = [p for p in shelves[home] if p not in facing.plates] or shelves[home]
    first = options[int(rng.integers(len(options)))]
    nxt = PlateId(first.gondola, first.shelf, first.plate + 1)
    if rng.random() < 0.5 and nxt in options:
        return (first, nxt)
    return (first,)


def _putback(store: Store, plan: _Plan, s: int, params: ShopperParams, rng: np.random.Generator) -> None:
    held = plan.held[s]
    upc = held[int(rng.integers(len(held)))][0]
    k = max(i for i, h in enumerate(held) if h[0] == upc)  # the world returns the latest unit of upc
    _, label, was_misplaced = held.pop(k)
    facing = next(f for f in plan.facings if f.upc == upc)
    if rng.random() < params.wrong_place_prob:
        label = _wrong_place(store, facing, params, rng)
        plan.misplaced.append((upc, label))
    elif was_misplaced:
        plan.misplaced.append((upc, label))
    plan.left[upc] += 1
    plan.events.append(ScenarioEvent(s, "putback", (upc,), label))


def _pick(plan: _Plan, s: int, params: ShopperParams, rng: np.random.Generator) -> None:
    if plan.misplaced and rng.random() < params.misplaced_pick_prob:
        upc, label = plan.misplaced.pop(int(rng.integers(len(plan.misplaced))))
        plan.left[upc] -= 1
        plan.held.setdefault(s, []).append((upc, label, True))
        plan.events.append(ScenarioEvent(s, "pick", (upc,), label))
        return
    stocked = [f for f in plan.facings if plan.left[f.upc] > 0]
    if not stocked:
        return
    f = stocked[int(rng.integers(len(stocked)))]
    qty = 1
    if rng.random() < params.multi_unit_prob:
        qty = min(int(rng.integers(2, 4)), plan.left[f.upc])
    picks = [(f, qty)]
    if qty == 1 and rng.random() < params.two_product_prob:
        near = [
            g
            for g in stocked
            if g.upc != f.upc and g.plates[0][:2] == f.plates[0][:2] and abs(g.plates[0].plate - f.plates[0].plate) <= 4
        ]
        if near:
            picks.append((near[int(rng.integers(len(near)))], 1))
    upcs: list[str] = []
    plates: set[PlateId] = set()
    for g, q in picks:
        plan.left[g.upc] -= q
        upcs += [g.upc] * q
        plates |= set(g.plates)
        plan.held.setdefault(s, []).extend([(g.upc, g.plates, False)] * q)
    label = tuple(sorted(plates)) if len(picks) > 1 else f.plates
    plan.events.append(ScenarioEvent(s, "pick", tuple(upcs), label))


def _plan(store: Store, enter: np.ndarray, end_s: float, params: ShopperParams, rng: np.random.Generator) -> _Plan:
    """Generate every shopper's events in the order of their planned times."""
    left: dict[str, int] = {}
    for f in store.planogram:
        left[f.upc] = left.get(f.upc, 0) + f.count
    plan = _Plan(facings=store.planogram, left=left)
    lo, hi = params.events_per_shopper
    wanted = rng.integers(lo, hi + 1, size=len(enter))
    heap = [(float(t) + ENTRY_ESTIMATE_S, s) for s, t in enumerate(enter)]
    heapq.heapify(heap)
    done = np.zeros(len(enter), dtype=int)
    while heap:
        clock, s = heapq.heappop(heap)
        if done[s] >= wanted[s] or clock + params.event_estimate_s > end_s:
            continue
        if plan.held.get(s) and rng.random() < params.putback_prob:
            _putback(store, plan, s, params, rng)
        else:
            _pick(plan, s, params, rng)
        done[s] += 1
        heapq.heappush(heap, (clock + params.event_estimate_s * float(rng.uniform(0.8, 1.2)), s))
    return plan


def _associates(store: Store, first_index: int, n: int, events: list[ScenarioEvent], t0_s: float, t1_s: float,
                 rng: np.random.Generator) -> tuple[tuple[ScenarioShopper, ...], tuple[ScenarioEvent, ...]]:
    """``n`` associates restocking: shoppers appended after the customers, their events inserted
    at random places of the customers' event order."""
    staff = [a for a in demo_accounts() if a.role == "associate"]
    if not 0 <= n <= len(staff):
        raise ValueError(f"associates: expected 0..{len(staff)}, got {n}")
    out = list(events)
    shoppers = []
    for k in range(n):
        shoppers.append(ScenarioShopper(key=f"associate-{k + 1}", account_id=staff[k].account_id, role="associate",
                                        enter_after_s=float(rng.uniform(t0_s, max(t0_s, t1_s)))))
        for f in rng.choice(len(store.planogram), size=3, replace=False):
            facing = store.planogram[int(f)]
            ev = ScenarioEvent(first_index + k, "putback", (facing.upc,) * int(rng.integers(2, 5)), facing.plates[:1])
            out.insert(int(rng.integers(len(out) + 1)), ev)
    return tuple(shoppers), tuple(out)


def random_scenario(
    store: Store,
    n_shoppers: int,
    duration_s: float,
    seed: int,
    params: ShopperParams = ShopperParams(),
    name: str | None = None,
    associates: int = 0,
) -> Scenario:
    """A random scenario in ``store`` with the store's own planogram.

    With ``associates`` > 0, that many store associates (demo associate accounts, badge scans)
    enter too and restock while the customers shop: each puts 2–4 new units on 3 random facings
    (a back-room tote), at random places in the event order. The customers' plan does not change
    with ``associates`` (the associates draw from their own generator).

    Args:
        store: the store (planogram, plates).
        n_shoppers: number of shoppers (at most the number of demo customers).
        duration_s: target recording duration in seconds; everybody leaves before it ends
            unless the shelves get so crowded that waiting pushes an exit later (the recording
            then runs longer).
        seed: seed of the scenario's own generator.
        params: behaviour probabilities and the per-event planning estimate.
        name: scenario name (default ``random-<seed>``).
        associates: number of associates restocking (at most the demo associates).

    Returns:
        The scenario; ``min_duration_s = duration_s``.

    Raises:
        ValueError: ``n_shoppers`` is negative or exceeds the demo customers, the duration is
            too short for anybody to shop, or the store has no planogram.
    """
    customers = [a for a in demo_accounts() if a.role == "customer"]
    if not 0 <= n_shoppers <= len(customers):
        raise ValueError(f"n_shoppers: expected 0..{len(customers)}, got {n_shoppers}")
    if duration_s < ENTRY_ESTIMATE_S + EXIT_ESTIMATE_S + params.event_estimate_s:
        raise ValueError(f"duration_s: {duration_s} s is too short for one event (enter, shop, leave)")
    if not store.planogram:
        raise ValueError(f"store {store.name!r} has no planogram to pick from")
    rng = np.random.default_rng(seed)
    first = float(rng.uniform(*params.first_appear_s))
    late = max(first, 0.5 * (duration_s - ENTRY_ESTIMATE_S - EXIT_ESTIMATE_S - params.event_estimate_s))
    enter = np.sort(np.r_[first, rng.uniform(first, late, size=max(n_shoppers - 1, 0))])[:n_shoppers]
    plan = _plan(store, enter, duration_s - EXIT_ESTIMATE_S, params, rng)
    shoppers = tuple(
        ScenarioShopper(key=f"shopper-{s + 1}", account_id=customers[s].account_id, enter_after_s=float(enter[s]))
        for s in range(n_shoppers)
    )
    staff, events = _associates(store, n_shoppers, associates, plan.events, first, late, np.random.default_rng([seed, 1]))
    return Scenario(
        name=name or f"random-{seed}",
        planogram=store.planogram,
        shoppers=shoppers + staff,
        events=events,
        min_duration_s=float(duration_s),
        source=f"random_scenario(n_shoppers={n_shoppers}, duration_s={duration_s:g}, seed={seed})",
    )
