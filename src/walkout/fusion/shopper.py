"""Who did it: the probability of each linked person for a shelf event, from hand positions.

For every person, the closest approach of either hand to the event's plates (their aisle-side
front edge or centre) in a window around the moment the weight moved (``t_change_s``: the lift or
the release), lengthened by 0.12 m per second away from that moment and by 0.15 m for a hand
hanging at the body, is turned into a likelihood with a Gaussian of width ``hand_sigma_m``; when a hand of the person went unseen within ``occlusion_window_s`` of the
moment the weight moved (occlusion), their head position, less ``arm_reach_m`` and with a
penalty, also counts (the better of the two is used). ``arm_reach_m`` is 0.3 m, not a full arm's
length: whoever reaches into a shelf stands close to it, and a neighbour half a metre further
away, who could just touch the plate, is much less likely (ceiling units often lose a hand
reaching into a low shelf, so this decides between people standing side by side). A person one
of whose hands is seen out at another shelf (more than ``busy_m`` from this one) at that moment
gets this fallback only with ``busy_factor``: their other hand is unlikely to be reaching here. Normalising over persons gives the probability. This is the
"closest hand" rule of weight-plus-vision checkout systems (e.g. the AutoCheckout baselines),
made probabilistic so that near ties go to review.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from walkout.core.frames import PersonObservations
from walkout.core.store import Store
from walkout.events.types import ShelfEvent
from walkout.perception.people.linker import People


@dataclass(frozen=True)
class ShopperParams:
    """Attribution parameters (metres, seconds)."""

    before_s: float = 2.0
    after_s: float = 1.0
    time_penalty_mps: float = 0.12
    rest_radius_m: float = 0.3
    rest_penalty_m: float = 0.15
    hand_sigma_m: float = 0.15
    arm_reach_m: float = 0.3
    head_penalty: float = 0.2
    occlusion_window_s: float = 0.5
    tangled_factor: float = 0.9
    nobody_distance_m: float = 0.6
    busy_m: float = 0.6
    busy_factor: float = 0.1


def _targets(ev: ShelfEvent, store: Store) -> np.ndarray:
    """Where the hand must have been: the weight-weighted centroid of the changed plates' front
    edge and of their centre (world, metres), shape (2, 3)."""
    w = np.abs(np.asarray(ev.plate_delta_g, dtype=np.float64))
    w = w / w.sum() if w.sum() > 0 else np.full(len(ev.plates), 1.0 / len(ev.plates))
    front = np.array([store.plate_front_m(p) for p in ev.plates])
    centre = np.array([store.plate_center_m(p) for p in ev.plates])
    return np.vstack([w @ front, w @ centre])


def _hand_distances(obs: PersonObservations, sel: np.ndarray, tgt: np.ndarray, t_key: float,
                    params: ShopperParams) -> float | None:
    """Effective closest approach (m) of a person's hands to the targets, or None if no hand seen.

    Each sighting's distance is increased by ``time_penalty_mps`` per second away from the moment
    the weight moved, and by ``rest_penalty_m`` when the hand hangs by the body (within
    ``rest_radius_m`` of the head on the floor plane): a hand at rest is not reaching.
    """
    head = obs.head_xyz_m[sel].astype(np.float64)
    dt = np.abs(obs.t_s[sel] - t_key)
    best = np.inf
    for hands in (obs.left_hand_xyz_m[sel], obs.right_hand_xyz_m[sel]):
        h = hands.astype(np.float64)
        ok = np.all(np.isfinite(h), axis=1)
        if not ok.any():
            continue
        d = np.min(np.linalg.norm(h[ok, None, :] - tgt[None, :, :], axis=2), axis=1)
        resting = np.linalg.norm(h[ok, :2] - head[ok, :2], axis=1) < params.rest_radius_m
        d = d + params.time_penalty_mps * dt[ok] + params.rest_penalty_m * resting
        best = min(best, float(d.min()))
    return None if not np.isfinite(best) else best


def _busy_elsewhere(obs: PersonObservations, rows: np.ndarray, tgt: np.ndarray, params: ShopperParams) -> bool:
    """A hand of the person is seen out at another shelf (farther than ``busy_m`` from the
    targets) at the moment the weight moved: their other, unseen hand is unlikely to be reaching
    here too."""
    for hands in (obs.left_hand_xyz_m[rows], obs.right_hand_xyz_m[rows]):
        h = hands.astype(np.float64)
        ok = np.all(np.isfinite(h), axis=1) & (np.linalg.norm(h[:, :2] - obs.head_xyz_m[rows, :2], axis=1)
                                               >= params.rest_radius_m)
        if ok.any() and float(np.min(np.linalg.norm(h[ok, None, :] - tgt[None, :, :], axis=2))) > params.busy_m:
            return True
    return False


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
        d_hand = _hand_distances(obs, sel, tgt, ev.t_key_s, params)
        log_l = -np.inf if d_hand is None else -0.5 * (d_hand / params.hand_sigma_m) ** 2
        near_key = sel[np.abs(obs.t_s[sel] - ev.t_key_s) <= params.occlusion_window_s]
        occluded = near_key.size == 0 or not (
            np.isfinite(obs.left_hand_xyz_m[near_key]).all() and np.isfinite(obs.right_hand_xyz_m[near_key]).all()
        )
        if occluded:  # an unseen hand may be the one reaching: the head near the plate counts
            head = obs.head_xyz_m[sel].astype(np.float64)
            d = float(np.min(np.linalg.norm(head[:, None, :2] - tgt[None, :, :2], axis=2)))
            d = max(d - params.arm_reach_m, 0.0)
            penalty = params.head_penalty * (params.busy_factor if _busy_elsewhere(obs, near_key, tgt, params) else 1.0)
            log_l = max(log_l, -0.5 * (d / params.hand_sigma_m) ** 2 + math.log(penalty))
        if bool(np.any(people.tangled[sel])):
            log_l += math.log(params.tangled_factor)
        scores[int(k)] = log_l
    top = max(scores.values())
    z = sum(math.exp(v - top) for v in scores.values())
    return {k: math.exp(v - top) / z for k, v in scores.items()}
