"""Plate changes + hands at the shelf -> shelf events (pick / put-back) with settled changes.

A shopper's interaction with a shelf often produces several plate activity intervals: a hand
leaning on the shelf (a plateau, then a release), an item rested on the plate for a few seconds
before it is lifted, two units taken one after the other, an item spanning two plates. Changes on
one shelf are merged into one interaction when they overlap, or when a change continues the
previous one in the same direction (small wobbles of either sign, like an item shifting while it
rests on the plate, do not break it) and follows within ``merge_gap_s`` or while the same
person's hand stayed at that shelf (the vision cue real stores use). A put-back followed by a pick (or the
reverse) stays two events. What is
still split (a lean seen without its hand) is reconciled by the engine, which knows whether a
change is explained by any product. The merged interaction's
change per plate is the settled level after it minus the settled level before it; it is then
split into clusters of neighbouring plates (two shoppers at two ends of a shelf are two events).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from walkout.core.store import PlateId, Store
from walkout.events.types import ShelfEvent
from walkout.perception.people.linker import People
from walkout.perception.weight.changes import PlateChanges
from walkout.perception.weight.grid import PlateGrid


@dataclass(frozen=True)
class ShelfEventParams:
    """Parameters of shelf-event assembly (seconds, metres, grams)."""

    merge_gap_s: float = 0.6
    hand_reach_m: float = 0.2
    hand_max_gap_s: float = 0.8
    neighbour_min_g: float = 4.0
    neighbour_steady_g: float = 4.0
    min_event_g: float = 12.0
    cluster_gap_plates: int = 2
    overlap_slack_s: float = 0.5
    level_window_s: float = 0.4


@dataclass
class _Group:
    shelf: tuple[int, int]
    t_start: float
    t_end: float
    rows: list[int]


HandTimes = dict[tuple[int, int], list[NDArray[np.float64]]]


def shelf_hand_times(store: Store, people: People, reach_m: float) -> HandTimes:
    """For each shelf, one sorted array per person of the times (s) at which that person's hand
    was within ``reach_m`` of the shelf's front strip.

    The front strip of a shelf is its aisle-side edge (shelf-local y = 0), from the shelf
    surface up to its clearance height; distances are measured in the shelf's frame.
    """
    obs = people.obs
    hands = np.vstack([obs.left_hand_xyz_m, obs.right_hand_xyz_m]).astype(np.float64)
    t = np.r_[obs.t_s, obs.t_s]
    who = np.r_[people.person, people.person]
    ok = np.all(np.isfinite(hands), axis=1)
    hands, t, who = hands[ok], t[ok], who[ok]
    out: HandTimes = {}
    for s in store.shelves:
        w2s = np.linalg.inv(store.world_from_shelf(s.gondola, s.index))
        local = hands @ w2s[:3, :3].T + w2s[:3, 3]
        dx = np.maximum(np.maximum(-local[:, 0], local[:, 0] - s.size_m[0]), 0)
        dy = np.maximum(np.maximum(local[:, 1] - 0.15, -local[:, 1]), 0)
        dz = np.maximum(np.maximum(-local[:, 2] - 0.05, local[:, 2] - s.size_m[2]), 0)
        near = np.sqrt(dx * dx + dy * dy + dz * dz) <= reach_m
        out[(s.gondola, s.index)] = [np.sort(t[near & (who == k)]) for k in np.unique(who[near])]
    return out


def _hand_bridges(per_person: list[NDArray[np.float64]], t0: float, t1: float, max_gap: float) -> bool:
    """True if one person's hand stayed at the shelf from ``t0`` to ``t1`` (sightings at most
    ``max_gap`` apart): two shoppers taking turns at a shelf are two interactions."""
    if t1 <= t0:
        return True
    for times in per_person:
        lo, hi = np.searchsorted(times, [t0, t1])
        inside = times[lo:hi]
        if inside.size and float(np.max(np.diff(np.r_[t0, inside, t1]))) <= max_gap:
            return True
    return False


def _direction(group: _Group, changes: PlateChanges, small_g: float) -> float:
    """Sign of the group's last change that was not a small wobble (0 if all were small)."""
    for r in reversed(group.rows):
        if abs(changes.delta_g[r]) >= small_g:
            return float(np.sign(changes.delta_g[r]))
    return 0.0


def _group_changes(changes: PlateChanges, shelf_of: NDArray[np.int64], keys: list[tuple[int, int]],
                   hands: HandTimes, p: ShelfEventParams) -> list[_Group]:
    groups: list[_Group] = []
    order = np.lexsort((changes.t_start_s, shelf_of))
    current: _Group | None = None
    for i in order:
        key = keys[shelf_of[i]]
        ts, te = float(changes.t_start_s[i]), float(changes.t_end_s[i])
        if current is not None and current.shelf == key:
            overlap = ts <= current.t_end
            same_way = abs(changes.delta_g[i]) < p.min_event_g or np.sign(changes.delta_g[i]) == _direction(
                current, changes, p.min_event_g)
            close = ts <= current.t_end + p.merge_gap_s or _hand_bridges(
                hands.get(key, []), current.t_end, ts, p.hand_max_gap_s)
            if overlap or (same_way and close):
                current.t_end = max(current.t_end, te)
                current.rows.append(int(i))
                continue
        current = _Group(key, ts, te, [int(i)])
        groups.append(current)
    return groups


def _plate_deltas(group: _Group, changes: PlateChanges, grid: PlateGrid, shelf_plates: list[int],
                  p: ShelfEventParams) -> dict[int, float]:
    """Settled change per plate over the whole interaction.

    A plate that changed: its settled level after its last change minus its settled level before
    its first one (both steady by construction, even with a hand leaning on the shelf around
    them). A neighbour without a detected change (an item's small share of weight): the median
    reading just after minus just before the interaction, if both stretches are steady.
    """
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for r in sorted(group.rows, key=lambda r: changes.t_start_s[r]):
        first.setdefault(int(changes.plate[r]), r)
    for r in sorted(group.rows, key=lambda r: changes.t_end_s[r]):
        last[int(changes.plate[r])] = r
    deltas = {pl: float(changes.level_after_g[last[pl]] - changes.level_before_g[first[pl]]) for pl in first}
    t = grid.t_s
    b0, b1 = np.searchsorted(t, [group.t_start - p.level_window_s, group.t_start - 0.02])
    a0, a1 = np.searchsorted(t, [group.t_end - 0.1, group.t_end + p.level_window_s])
    if b1 - b0 < 5 or a1 - a0 < 5:
        return deltas
    others = [pl for pl in shelf_plates if pl not in deltas]
    if not others:
        return deltas
    cols = np.array(others)
    before, after = grid.mass_g[b0:b1, cols], grid.mass_g[a0:a1, cols]
    steady = (np.nanstd(before, axis=0) < p.neighbour_steady_g) & (np.nanstd(after, axis=0) < p.neighbour_steady_g)
    d = np.nanmedian(after, axis=0) - np.nanmedian(before, axis=0)
    for pl, dv, ok in zip(others, d, steady, strict=True):
        if ok and abs(dv) >= p.neighbour_min_g:
            deltas[pl] = float(dv)
    return deltas


def _times(group: _Group, changes: PlateChanges, plates: list[int]) -> tuple[float, float]:
    rows = [r for r in group.rows if int(changes.plate[r]) in plates]
    if not rows:
        return group.t_start, group.t_end
    return float(min(changes.t_start_s[r] for r in rows)), float(max(changes.t_end_s[r] for r in rows))


def _change_time(grid: PlateGrid, plates: list[int], t_start: float, t_end: float,
                 net: float) -> tuple[float, float | None]:
    """(last time the summed reading of ``plates`` crossed halfway between its levels, first time
    it crossed a quarter of the way), seconds."""
    t = grid.t_s
    i0, i1 = np.searchsorted(t, [t_start - 0.2, t_end + 0.05])
    if i1 - i0 < 3:
        return t_end, None
    s = np.nansum(grid.mass_g[i0:i1, plates].astype(np.float64), axis=1)
    before = float(np.median(s[: max(3, min(12, len(s) // 4))]))

    def crossings(frac: float) -> np.ndarray:
        side = (s - (before + net * frac)) * np.sign(net) > 0  # True once past that level
        return np.flatnonzero(~side[:-1] & side[1:])

    half, quarter = crossings(0.5), crossings(0.25)
    t_half = float(t[i0 + half[-1] + 1]) if half.size else t_end
    t_quarter = float(t[i0 + quarter[0] + 1]) if quarter.size else None
    return t_half, t_quarter


def _split_by_sign(cluster: list[int], deltas: dict[int, float], p: ShelfEventParams) -> list[list[int]]:
    """A pick and a put-back on neighbouring plates in one interaction are two events."""
    neg = [pl for pl in cluster if deltas[pl] < 0]
    pos = [pl for pl in cluster if deltas[pl] > 0]
    if sum(deltas[pl] for pl in neg) <= -p.min_event_g and sum(deltas[pl] for pl in pos) >= p.min_event_g:
        return [neg, pos]
    return [cluster]


def _clusters(deltas: dict[int, float], store: Store, p: ShelfEventParams,
              spans: dict[int, tuple[float, float]]) -> list[list[int]]:
    """Plates that moved together: at most one plate apart, with changes that overlapped in time
    (an item spanning two plates, two products taken at once), not two shoppers in turn."""
    plates = sorted(deltas, key=lambda i: store.plates[i].id.plate)
    out: list[list[int]] = []
    for pl in plates:
        num = store.plates[pl].id.plate
        gap = num - store.plates[out[-1][-1]].id.plate if out else 99
        together = gap <= p.cluster_gap_plates and _overlap(spans, out[-1], pl, p.overlap_slack_s)
        if out and together:
            out[-1].append(pl)
        else:
            out.append([pl])
    return out


def _overlap(spans: dict[int, tuple[float, float]], cluster: list[int], pl: int, slack: float) -> bool:
    known = [spans[c] for c in cluster if c in spans]
    if pl not in spans or not known:
        return True
    a0, a1 = min(k[0] for k in known), max(k[1] for k in known)
    b0, b1 = spans[pl]
    return b0 <= a1 + slack and a0 <= b1 + slack


def build_shelf_events(changes: PlateChanges, grid: PlateGrid, store: Store, people: People,
                       params: ShelfEventParams = ShelfEventParams()) -> list[ShelfEvent]:
    """Assemble shelf events from plate changes and hand positions.

    Args:
        changes: per-plate activity intervals (:func:`detect_plate_changes`).
        grid: the plate readings they came from, shape (T, P).
        store: the store (plate -> shelf, shelf geometry).
        people: linked persons with hands (may be empty: merging then uses time only).
        params: assembly parameters.

    Returns:
        Shelf events sorted by ``t_end_s`` with ids 0, 1, 2, ...
    """
    keys = sorted({(pl.id.gondola, pl.id.shelf) for pl in store.plates})
    key_index = {k: i for i, k in enumerate(keys)}
    plate_shelf = np.array([key_index[(pl.id.gondola, pl.id.shelf)] for pl in store.plates])
    shelf_plates: dict[tuple[int, int], list[int]] = {k: [] for k in keys}
    for i, pl in enumerate(store.plates):
        shelf_plates[(pl.id.gondola, pl.id.shelf)].append(i)
    hands = shelf_hand_times(store, people, params.hand_reach_m)
    groups = _group_changes(changes, plate_shelf[changes.plate], keys, hands, params)
    raw: list[tuple[float, float, tuple[int, int], list[int], dict[int, float], float, float | None]] = []
    for g in groups:
        deltas = _plate_deltas(g, changes, grid, shelf_plates[g.shelf], params)
        spans: dict[int, tuple[float, float]] = {}
        for r in g.rows:
            k, a, b = int(changes.plate[r]), float(changes.t_start_s[r]), float(changes.t_end_s[r])
            spans[k] = (min(a, spans.get(k, (a, b))[0]), max(b, spans.get(k, (a, b))[1]))
        for cluster in _clusters(deltas, store, params, spans):
            for part in _split_by_sign(cluster, deltas, params):
                net = sum(deltas[pl] for pl in part)
                if abs(net) < params.min_event_g:
                    continue
                sign = np.sign(net)
                kept = [pl for pl in part if np.sign(deltas[pl]) == sign or abs(deltas[pl]) >= params.min_event_g]
                t_start, t_end = _times(g, changes, kept)
                t_change, t_first = _change_time(grid, kept, t_start, t_end, float(sum(deltas[pl] for pl in kept)))
                raw.append((t_end, t_start, g.shelf, kept, deltas, t_change, t_first))
    raw.sort(key=lambda r: (r[0], r[2]))
    events = []
    for i, (t_end, t_start, shelf, cluster, deltas, t_change, t_first) in enumerate(raw):
        ids: list[PlateId] = [store.plates[pl].id for pl in cluster]
        events.append(ShelfEvent(i, shelf[0], shelf[1], t_start, t_end, tuple(ids),
                                 tuple(deltas[pl] for pl in cluster), t_change, t_first))
    return events
