"""The simulated world's stock: every unit on the shelves, and what each scenario event moves.

The engine knows only the planogram (facings with counts). The simulated world additionally
knows each physical unit: its own mass (``nominal * (1 + N(0, 1.5%))``, clipped) and how it
rests on the plates (one plate, or across two adjacent plates of its facing with a random
split, each plate carrying at least ``split_min_frac`` of it).

:func:`resolve_events` replays a scenario's events in global order against that stock and
decides which units each pick takes and where each put-back lands. It is pure: the initial
:class:`Units` is never modified.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from walkout.core.store import Facing, Store
from walkout.sim.params import StockParams
from walkout.sim.scenario import Scenario

#: a unit rests on at most this many plates
MAX_SPAN = 3


@dataclass(frozen=True)
class Units:
    """All units on the shelves at t = 0, one row per unit.

    Attributes:
        upc: (n,) object array of UPC strings.
        mass_g: (n,) float64 actual mass of each unit, grams.
        plates: (n, 3) int32 store plate indices the unit rests on, -1 padded.
        frac: (n, 3) float64 share of the unit's weight on each of those plates (rows sum to 1).
        facing: (n,) int32 index of the unit's facing in the planogram.
    """

    upc: NDArray[np.object_]
    mass_g: NDArray[np.float64]
    plates: NDArray[np.int32]
    frac: NDArray[np.float64]
    facing: NDArray[np.int32]

    def __post_init__(self) -> None:
        n = self.mass_g.shape[0]
        for name, shape in (("upc", (n,)), ("plates", (n, MAX_SPAN)), ("frac", (n, MAX_SPAN)), ("facing", (n,))):
            if getattr(self, name).shape != shape:
                raise ValueError(f"Units.{name}: expected shape {shape}, got {getattr(self, name).shape}")


@dataclass(frozen=True)
class HandAction:
    """What one hand does in an event: units of one product leave or reach some plates.

    Attributes:
        upc: the product.
        units: unit indices (rows of :class:`Units`).
        plate_idx: store plate indices touched, ascending.
        delta_g: signed weight change of each of those plates (negative for a pick).
        misplaced: a put-back that leaves the unit off its facing's plates.
    """

    upc: str
    units: tuple[int, ...]
    plate_idx: tuple[int, ...]
    delta_g: tuple[float, ...]
    misplaced: bool = False


@dataclass(frozen=True)
class ResolvedEvent:
    """A scenario event resolved against the stock: one hand action per product."""

    index: int
    shopper: int
    kind: str
    label_event_id: int | None
    actions: tuple[HandAction, ...]


def split_fracs(k: int, min_frac: float, rng: np.random.Generator) -> NDArray[np.float64]:
    """Random split of one unit's weight over ``k`` plates, each share >= ``min_frac``.

    Returns:
        (k,) float64 shares summing to 1 (``min_frac + (1 - k min_frac) * Dirichlet(1, ..., 1)``).
    """
    if k == 1:
        return np.ones(1)
    return min_frac + (1.0 - k * min_frac) * rng.dirichlet(np.ones(k))


def stock_units(store: Store, planogram: tuple[Facing, ...], params: StockParams, rng: np.random.Generator) -> Units:
    """Lay out ``count`` units of every facing on its plates.

    Unit j of a facing with k plates and c units sits on plate ``floor(j k / c)``; with
    probability ``span_prob`` it lies across that plate and a physically adjacent plate of the
    same facing.

    Returns:
        The :class:`Units` at t = 0.
    """
    upc, mass, plates, frac, facing = [], [], [], [], []
    for fi, f in enumerate(planogram):
        idx = [store.plate_index[p] for p in f.plates]
        nums = [p.plate for p in f.plates]
        nominal = store.product_by_upc[f.upc].mass_g
        for j in range(f.count):
            a = (j * len(idx)) // max(f.count, 1)
            on = [a]
            if len(idx) > 1 and rng.random() < params.span_prob:
                b = a + 1 if a + 1 < len(idx) else a - 1
                if abs(nums[b] - nums[a]) == 1:
                    on = sorted([a, b])
            row = np.full(MAX_SPAN, -1, dtype=np.int32)
            row[: len(on)] = [idx[k] for k in on]
            fr = np.zeros(MAX_SPAN)
            fr[: len(on)] = split_fracs(len(on), params.split_min_frac, rng)
            dev = np.clip(
                rng.normal(0.0, params.mass_rel_sigma),
                -params.mass_clip_sigma * params.mass_rel_sigma,
                params.mass_clip_sigma * params.mass_rel_sigma,
            )
            upc.append(f.upc)
            mass.append(nominal * (1.0 + dev))
            plates.append(row)
            frac.append(fr)
            facing.append(fi)
    n = len(upc)
    return Units(
        upc=np.array(upc, dtype=object).reshape(n),
        mass_g=np.array(mass, dtype=np.float64).reshape(n),
        plates=np.array(plates, dtype=np.int32).reshape(n, MAX_SPAN),
        frac=np.array(frac, dtype=np.float64).reshape(n, MAX_SPAN),
        facing=np.array(facing, dtype=np.int32).reshape(n),
    )


def plate_loads_g(units: Units, n_plates: int) -> NDArray[np.float64]:
    """Total weight on each plate, grams, shape (n_plates,)."""
    ok = units.plates >= 0
    weights = (units.frac * units.mass_g[:, None])[ok]
    return np.bincount(units.plates[ok], weights=weights, minlength=n_plates).astype(np.float64)


class _Replay:
    """Mutable replay state, private to :func:`resolve_events` (works on copies)."""

    def __init__(
        self, store: Store, scenario: Scenario, units: Units, params: StockParams, rng: np.random.Generator
    ) -> None:
        self.units, self.params, self.rng = units, params, rng
        self.store, self.scenario = store, scenario
        self.upc, self.mass_g, self.facing = units.upc.copy(), units.mass_g.copy(), units.facing.copy()
        self.plates = units.plates.copy()
        self.frac = units.frac.copy()
        self.holder = np.full(len(units.mass_g), -1)
        self.seq = np.zeros(len(units.mass_g), dtype=np.int64)
        self.clock = 0
        self.pick_label: dict[int, frozenset[int]] = {}
        self.origin: dict[int, NDArray[np.int32]] = {}
        self.held: dict[int, list[int]] = {}
        self.facing_plates = [frozenset(store.plate_index[p] for p in f.plates) for f in scenario.planogram]
        self.plate_num = np.array([p.id.plate for p in store.plates])

    def on(self, u: int) -> frozenset[int]:
        return frozenset(int(p) for p in self.plates[u] if p >= 0)

    def _choose(self, upc: str, label: frozenset[int]) -> int:
        cand = np.flatnonzero((self.upc == upc) & (self.holder < 0))
        if cand.size == 0:
            raise ValueError(f"no unit of {upc} left on the shelves")
        keys = []
        for u in cand:
            on = self.on(int(u))
            overlap = len(on & label)
            in_facing = on <= self.facing_plates[int(self.facing[u])]
            tier = 0 if overlap and not in_facing else 1 if overlap else 2 if in_facing else 3
            keys.append((tier, -overlap, -int(self.seq[u])))
        best = min(keys)
        ties = [int(u) for u, k in zip(cand, keys, strict=True) if k == best]
        return ties[int(self.rng.integers(len(ties)))] if len(ties) > 1 else ties[0]

    def pick(self, shopper: int, upc: str, n: int, label: frozenset[int]) -> HandAction:
        taken = []
        for _ in range(n):
            u = self._choose(upc, label)
            self.origin[u] = self.plates[u].copy()
            self.pick_label[u] = label
            self.holder[u] = shopper
            self.held.setdefault(shopper, []).append(u)
            taken.append(u)
        return self._action(upc, taken, sign=-1.0, misplaced=False)

    def _place(self, u: int, label: frozenset[int]) -> None:
        if self.pick_label.get(u) == label:
            target = [int(p) for p in self.origin[u] if p >= 0]
        else:
            target = sorted(label, key=lambda p: self.plate_num[p])
            if len(target) > MAX_SPAN:
                s = int(self.rng.integers(len(target) - MAX_SPAN + 1))
                target = target[s : s + MAX_SPAN]
        row = np.full(MAX_SPAN, -1, dtype=np.int32)
        row[: len(target)] = target
        fr = np.zeros(MAX_SPAN)
        fr[: len(target)] = split_fracs(len(target), self.params.split_min_frac, self.rng)
        self.plates[u], self.frac[u] = row, fr

    def restock_units(self, shopper: int, upc: str, n: int) -> None:
        """An associate brings ``n`` new units of ``upc`` from the back room (drawn like the shelf stock)."""
        facings = [i for i, f in enumerate(self.scenario.planogram) if f.upc == upc]
        if not facings:
            raise ValueError(f"associate {shopper} restocks {upc}, which has no facing in the planogram")
        p = self.params
        nominal = self.store.product_by_upc[upc].mass_g
        for _ in range(n):
            dev = np.clip(self.rng.normal(0.0, p.mass_rel_sigma), -p.mass_clip_sigma * p.mass_rel_sigma,
                          p.mass_clip_sigma * p.mass_rel_sigma)
            self.upc = np.append(self.upc, np.array([upc], dtype=object))
            self.mass_g = np.append(self.mass_g, nominal * (1.0 + dev))
            self.facing = np.append(self.facing, np.int32(facings[0]))
            self.plates = np.vstack([self.plates, np.full((1, MAX_SPAN), -1, dtype=np.int32)])
            self.frac = np.vstack([self.frac, np.zeros((1, MAX_SPAN))])
            self.holder = np.append(self.holder, shopper)
            self.seq = np.append(self.seq, 0)
            self.held.setdefault(shopper, []).append(len(self.upc) - 1)

    def _group(self, shopper: int) -> list[int]:
        """The shopper first, then the rest of their group (payer and companions share a cart)."""
        sh = self.scenario.shoppers
        payer = sh[shopper].payer if sh[shopper].payer is not None else shopper
        return [shopper] + [i for i in range(len(sh)) if i != shopper and (i == payer or sh[i].payer == payer)]

    def _handoff(self, shopper: int, upc: str, n: int) -> None:
        """Units of ``upc`` a group member holds pass to ``shopper`` (a hand-off inside the group)."""
        mine = self.held.setdefault(shopper, [])
        for other in self._group(shopper)[1:]:
            for u in [u for u in self.held.get(other, []) if self.upc[u] == upc]:
                if sum(self.upc[v] == upc for v in mine) >= n:
                    return
                self.held[other].remove(u)
                self.holder[u] = shopper
                mine.append(u)

    def putback(self, shopper: int, upc: str, n: int, label: frozenset[int]) -> HandAction:
        if sum(self.upc[u] == upc for u in self.held.get(shopper, [])) < n:
            self._handoff(shopper, upc, n)
        stack = self.held.get(shopper, [])
        mine = [u for u in stack if self.upc[u] == upc]
        if len(mine) < n and self.scenario.shoppers[shopper].role == "associate":
            self.restock_units(shopper, upc, n - len(mine))
            stack = self.held[shopper]
            mine = [u for u in stack if self.upc[u] == upc]
        if len(mine) < n:
            raise ValueError(f"shopper {shopper} puts back {n} x {upc} but holds {len(mine)}")
        placed = []
        for u in mine[::-1][:n]:
            stack.remove(u)
            self.holder[u] = -1
            self.clock += 1
            self.seq[u] = self.clock
            self._place(u, label)
            placed.append(u)
        misplaced = any(not self.on(u) <= self.facing_plates[int(self.facing[u])] for u in placed)
        return self._action(upc, placed, sign=1.0, misplaced=misplaced)

    def _action(self, upc: str, units: list[int], sign: float, misplaced: bool) -> HandAction:
        delta: dict[int, float] = {}
        for u in units:
            for p, f in zip(self.plates[u], self.frac[u], strict=True):
                if p >= 0:
                    delta[int(p)] = delta.get(int(p), 0.0) + sign * f * float(self.mass_g[u])
        keys = sorted(delta)
        return HandAction(upc, tuple(units), tuple(keys), tuple(delta[k] for k in keys), misplaced)


def resolve_events(
    store: Store, scenario: Scenario, units: Units, params: StockParams, rng: np.random.Generator
) -> tuple[ResolvedEvent, ...]:
    """Replay the scenario's events in global order against the stock.

    A pick of product u at label plates L takes, in this order of preference: a unit of u lying
    off its facing but on L (a misplaced unit), a unit overlapping L (most overlap, most
    recently put back), a unit on its facing, any unit of u on a shelf. A put-back returns the
    shopper's most recently picked unit of u to where it came from if L equals the position its
    pick named, else lays it across L (at most three plates) with a random split. A shopper
    putting back a unit a member of their group holds got it handed over first. An associate
    putting back more than they hold is restocking: the missing units come from the back room.

    Args:
        store: the store (plate indices are rows of ``store.plates``).
        scenario: the script; ``scenario.planogram`` produced ``units``.
        units: the stock at t = 0 (not modified).
        params: stock parameters (split of put-back units).
        rng: random generator (ties between equally good units, put-back splits).

    Returns:
        One :class:`ResolvedEvent` per scenario event, in order.

    Raises:
        ValueError: a pick of a product with no unit left, or a put-back of a product the
            shopper does not hold.
    """
    state = _Replay(store, scenario, units, params, rng)
    out = []
    for k, e in enumerate(scenario.events):
        label = frozenset(store.plate_index[p] for p in e.plates)
        actions = []
        for upc in dict.fromkeys(e.upcs):  # distinct products in first-mention order
            n = e.upcs.count(upc)
            try:
                act = (
                    state.pick(e.shopper, upc, n, label)
                    if e.kind == "pick"
                    else state.putback(e.shopper, upc, n, label)
                )
            except ValueError as exc:
                raise ValueError(f"scenario {scenario.name!r} events[{k}]: {exc}") from exc
            actions.append(act)
        out.append(ResolvedEvent(k, e.shopper, e.kind, e.label_event_id, tuple(actions)))
    return tuple(out)
