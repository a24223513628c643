"""Who did it: the probability of each linked person for a shelf event, from hand positions.

For every person, the closest approach of either hand to the event's plates (their aisle-side
front edge) around the moment the weight moved (``t_change_s``: the lift or the release) is turned into a likelihood with a Gaussian of width
``hand_sigma_m``; a person whose hands were not seen falls back to their head position minus an
arm's reach, with a penalty. Normalising over persons gives the probability. This is the
"closest hand" rule of weight-plus-vision checkout systems (e.g. the AutoCheckout baselines),
made probabilistic so that near ties go to review.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from walkout.core.store import Store
from walkout.events.types import ShelfEvent
from walkout.perception.people.linker import People


@dataclass(frozen=True)
class ShopperParams:
    """Attribution parameters (metres, seconds)."""

    before_s: float = 0.8
    after_s: float = 0.3
    hand_sigma_m: float = 0.15
    arm_reach_m: float = 0.75
    head_penalty: float = 0.2
    tangled_factor: float = 0.9
    nobody_distance_m: float = 0.6


def _targets(ev: ShelfEvent, store: Store) -> np.ndarray:
    pts = [store.plate_front_m(p) for p in ev.plates]
    pts += [store.plate_center_m(p) for p in ev.plates]
    return np.array(pts)


def attribute_shopper(ev: ShelfEvent, store: Store, people: People,
                      params: ShopperParams = ShopperParams()) -> dict[int, float]:
    """Probability of each person having done ``ev``.

    Args:
        ev: the shelf event.
        store: for the plates' world positions (metres).
        people: linked persons with hand observations.
        params: attribution parameters.

    Returns:
        person id -> probability (sums to 1 together with the key ``-1``, "nobody observed
        did it", whose weight is that of a hand ``nobody_distance_m`` away). Only ``{-1: 1.0}``
        if nobody was observed in the window.
    """
    rows = people.rows_between(ev.t_key_s - params.before_s, ev.t_key_s + params.after_s)
    nobody = -0.5 * (params.nobody_distance_m / params.hand_sigma_m) ** 2
    if rows.stop <= rows.start:
        return {-1: 1.0}
    tgt = _targets(ev, store)
    obs = people.obs
    pid = people.person[rows]
    scores: dict[int, float] = {-1: nobody}
    for k in np.unique(pid):
        sel = np.flatnonzero(pid == k) + rows.start
        hands = np.vstack([obs.left_hand_xyz_m[sel], obs.right_hand_xyz_m[sel]]).astype(np.float64)
        hands = hands[np.all(np.isfinite(hands), axis=1)]
        if hands.size:
            d = float(np.min(np.linalg.norm(hands[:, None, :] - tgt[None, :, :], axis=2)))
            log_l = -0.5 * (d / params.hand_sigma_m) ** 2
        else:
            head = obs.head_xyz_m[sel].astype(np.float64)
            d = float(np.min(np.linalg.norm(head[:, None, :2] - tgt[None, :, :2], axis=2)))
            d = max(d - params.arm_reach_m, 0.0)
            log_l = -0.5 * (d / params.hand_sigma_m) ** 2 + math.log(params.head_penalty)
        if bool(np.any(people.tangled[sel])):
            log_l += math.log(params.tangled_factor)
        scores[int(k)] = log_l
    top = max(scores.values())
    z = sum(math.exp(v - top) for v in scores.values())
    return {k: math.exp(v - top) / z for k, v in scores.items()}
