"""Product identification: a posterior over (product, quantity) hypotheses for a shelf event.

Evidence (Bayes, in log space):
- weight: plates are grouped by the hypothesis' sources (a facing or misplaced units); each
  group's settled change ~ Normal(sum q_k m_k, sum q_k s_k^2 + n_plates s_meas^2), with m_k the
  product's unit weight and s_k its item-to-item spread (AiFi products.json weights; spread
  1.5%); a changed plate no source sits on is a stray (mostly Normal(0, stray_sigma), else
  anything) — so two products taken at once from two plates are told from two units of one;
- place: a pick can only take units that the live planogram has on (or next to) the changed
  plates, including misplaced items; a put-back is most likely a unit the shopper carries, put on
  its own facing (or elsewhere: a misplaced item);
- a prior on the number of units (one unit is the usual case; 2-3 at once happen) and on
  two-product grabs.
An explicit *unknown* hypothesis (a flat density ``unknown_density`` for each changed plate)
catches changes nothing explains; every hypothesis is a density over the same per-plate changes,
so hypotheses with different numbers of plate groups compare fairly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations

from walkout.core.store import PlateId, Store
from walkout.events.types import ShelfEvent
from walkout.inventory.planogram import LivePlanogram, Source


@dataclass(frozen=True)
class ProductParams:
    """Identification parameters (grams, log-priors)."""

    meas_sigma_g: float = 3.0
    max_units: int = 3
    unit_prior: tuple[float, ...] = (0.80, 0.15, 0.05)
    pair_prior: float = 0.05
    adjacent_factor: float = 0.05
    stray_sigma_g: float = 4.0
    stray_prob: float = 0.1
    empty_source_factor: float = 0.02
    over_cart_factor: float = 1e-4
    misplaced_put_factor: float = 0.4
    foreign_put_factor: float = 0.002
    unknown_density: float = 1e-4


@dataclass(frozen=True)
class Hypothesis:
    """One explanation of an event: ``items`` ((upc, quantity), ...) taken from / put on ``sources``."""

    items: tuple[tuple[str, int], ...]
    sources: tuple[Source, ...]
    log_score: float
    probability: float = 0.0

    def describe(self) -> str:
        return " + ".join(f"{q}x {u}" for u, q in self.items) if self.items else "unknown"


def _log_normal(x: float, mu: float, var: float) -> float:
    return -0.5 * (x - mu) ** 2 / var - 0.5 * math.log(2 * math.pi * var)


def _place_factor(src_plates: tuple[PlateId, ...], event_plates: tuple[PlateId, ...], adjacent: float) -> float:
    ev = {p.plate for p in event_plates}
    sp = {p.plate for p in src_plates}
    if ev & sp:
        return 1.0
    if any(abs(a - b) <= 1 for a in ev for b in sp):
        return adjacent
    return 0.0


def _effective_plates(src: Source, ev_plates: tuple[PlateId, ...]) -> frozenset[int]:
    """Event plates (plate numbers) a source's units could have loaded: its own, else neighbours."""
    ev = {p.plate for p in ev_plates}
    own = {p.plate for p in src.plates} & ev
    if own:
        return frozenset(own)
    return frozenset(e for e in ev if any(abs(e - p.plate) <= 1 for p in src.plates))


def _weight_loglik(ev: ShelfEvent, store: Store, combo: list[tuple[Source, float, int]], p: ProductParams) -> float:
    """log p(plate changes | hypothesis): sources whose plates overlap form groups; each group's
    observed change must match its units' weight; plates no source sits on should not move."""
    obs = {pl.plate: abs(d) for pl, d in zip(ev.plates, ev.plate_delta_g, strict=True)}
    groups: list[tuple[set[int], float, float]] = []  # (plates, expected g, item variance)
    for src, _place, q in combo:
        prod = store.product_by_upc[src.upc]
        plates = set(_effective_plates(src, ev.plates))
        mu, var = q * prod.mass_g, q * prod.mass_sigma_g**2
        for g in [g for g in groups if g[0] & plates]:
            groups.remove(g)
            plates |= g[0]
            mu, var = mu + g[1], var + g[2]
        groups.append((plates, mu, var))
    log_l = 0.0
    for plates, mu, var in groups:
        o = sum(obs[x] for x in plates)
        log_l += _log_normal(o, mu, var + len(plates) * p.meas_sigma_g**2)
        # how the group's weight splits over its plates is not modelled: uniform over the splits
        log_l += (len(plates) - 1) * -math.log(max(o, 10.0))
    covered = set().union(*(g[0] for g in groups)) if groups else set()
    total = abs(ev.delta_g) or 1.0
    for x, o in obs.items():
        if x not in covered:
            stray = (1 - p.stray_prob) * math.exp(_log_normal(o, 0.0, p.stray_sigma_g**2)) + p.stray_prob / total
            log_l += math.log(stray)
    return log_l


def _pick_candidates(ev: ShelfEvent, live: LivePlanogram, p: ProductParams) -> list[tuple[Source, float]]:
    near = {PlateId(ev.gondola, ev.shelf, pl.plate + d) for pl in ev.plates for d in (-1, 0, 1)}
    out = []
    for s in live.sources_near(near):
        # a facing's plates come from the planogram and may be off by one; misplaced units lie
        # exactly where their weight was measured
        f = _place_factor(s.plates, ev.plates, 0.0 if s.misplaced else p.adjacent_factor)
        if f > 0:
            out.append((s, f))
    return out


def _put_candidates(ev: ShelfEvent, live: LivePlanogram, cart: Mapping[str, int], store: Store,
                    p: ProductParams) -> list[tuple[Source, float]]:
    out: dict[str, tuple[Source, float]] = {}
    for upc, q in cart.items():
        if q <= 0 or upc not in store.product_by_upc:
            continue
        own = [i for i in live.facing_of(upc) if set(ev.plates) <= set(live.facings[i].plates)]
        src = Source(upc, ev.plates, q, own[0] if own else None)
        out[upc] = (src, 1.0 if own else p.misplaced_put_factor)
    for s, f in _pick_candidates(ev, live, p):
        if s.upc not in out:
            out[s.upc] = (Source(s.upc, ev.plates, 99, s.facing), f * p.foreign_put_factor)
    return list(out.values())


def _score(ev: ShelfEvent, store: Store, combo: list[tuple[Source, float, int]], p: ProductParams, pick: bool) -> float:
    log_s = 0.0
    for src, place, q in combo:
        log_s += math.log(place)
        if src.count < q:  # more units than the facing holds, or than the shopper carries
            log_s += math.log(p.empty_source_factor if pick else p.over_cart_factor)
    return log_s + _weight_loglik(ev, store, combo, p)


def identify_products(ev: ShelfEvent, store: Store, live: LivePlanogram, cart: Mapping[str, int] | None = None,
                      params: ProductParams = ProductParams()) -> list[Hypothesis]:
    """Posterior over what a shelf event moved.

    Args:
        ev: the shelf event (delta < 0 pick, > 0 put-back).
        store: catalogue (unit weights and spreads).
        live: the live planogram before the event.
        cart: for a put-back, the cart of the shopper who most likely did it (UPC -> units).
        params: identification parameters.

    Returns:
        Hypotheses sorted by probability (descending); probabilities sum to 1. The last-resort
        hypothesis with ``items == ()`` means "unknown".
    """
    pick = ev.delta_g < 0
    cands = _pick_candidates(ev, live, params) if pick else _put_candidates(ev, live, cart or {}, store, params)
    hyps: list[Hypothesis] = []
    for src, place in cands:
        for q in range(1, params.max_units + 1):
            s = _score(ev, store, [(src, place, q)], params, pick) + math.log(params.unit_prior[q - 1])
            hyps.append(Hypothesis(((src.upc, q),), (src,), s))
    for (s1, f1), (s2, f2) in combinations(cands, 2):
        if s1.upc == s2.upc and s1.facing == s2.facing:
            continue
        s = _score(ev, store, [(s1, f1, 1), (s2, f2, 1)], params, pick) + math.log(params.pair_prior)
        items = tuple(sorted(((s1.upc, 1), (s2.upc, 1))))
        if s1.upc == s2.upc:
            items = ((s1.upc, 2),)
        hyps.append(Hypothesis(items, (s1, s2), s))
    hyps.append(Hypothesis((), (), len(ev.plates) * math.log(params.unknown_density)))
    top = max(h.log_score for h in hyps)
    z = sum(math.exp(h.log_score - top) for h in hyps)
    ranked = [Hypothesis(h.items, h.sources, h.log_score, math.exp(h.log_score - top) / z) for h in hyps]
    return sorted(ranked, key=lambda h: -h.probability)
