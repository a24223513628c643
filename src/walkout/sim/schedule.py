"""Shopper behaviour in time: entry, walking, reaching, picking, placing, exit.

:func:`schedule` turns resolved scenario events into a :class:`Timeline`: each shopper's body
path (piecewise-linear segments, world frame, metres), every hand reach, every plate weight
change, every hand leaning on a shelf, and the ground-truth events. Sensor rendering
(:mod:`walkout.sim.loadcell`, :mod:`walkout.sim.people`) reads only the timeline.

Scheduling is greedy in time: the next event placed is always that of the shopper who is furthest
behind (each shopper's events in their order; two events that move the same unit in the
scenario's order). A shopper walks around the people standing at shelves to a free standing
point in front of the plates, pauses, and starts reaching once the previous event on the same
shelf or product (by any shopper) has finished. A last pass (:func:`keep_apart`) re-routes walks
that still come too close to somebody.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from walkout.core.geometry import segment_gap_m
from walkout.core.store import Gate, Store
from walkout.eval.truth import TruthEvent
from walkout.sim.params import SimParams
from walkout.sim.paths import PathPlanner, along_segments
from walkout.sim.scenario import Scenario
from walkout.sim.world import HandAction, ResolvedEvent

LEFT, RIGHT = 0, 1


@dataclass(frozen=True)
class PlateGeometry:
    """Per-plate geometry in the world frame (rows = ``store.plates``).

    Attributes:
        front_m: (n, 3) middle of the plate's aisle-side edge, metres.
        out_xy: (n, 2) unit vector from the shelf toward the aisle.
        lat_xy: (n, 2) unit vector along the shelf (the plate's local x axis).
    """

    front_m: NDArray[np.float64]
    out_xy: NDArray[np.float64]
    lat_xy: NDArray[np.float64]


def plate_geometry(store: Store) -> PlateGeometry:
    """Compute :class:`PlateGeometry` for every plate of the store."""
    front, out, lat = [], [], []
    for p in store.plates:
        m = store.world_from_plate(p.id)
        front.append(store.plate_front_m(p.id))
        y, x = m[:2, 1], m[:2, 0]
        out.append(-y / np.linalg.norm(y))
        lat.append(x / np.linalg.norm(x))
    return PlateGeometry(np.array(front), np.array(out), np.array(lat))


@dataclass(frozen=True)
class ShopperTrack:
    """One shopper's presence and body path.

    Attributes:
        key, role, height_m: as in the ground truth.
        account_id: the account whose app (or badge) admitted the shopper (a companion: the payer's).
        payer_key: the group payer's key for a companion, else None.
        appear_t_s / disappear_t_s: first and last moment the tracker can see the shopper.
        scan_t_s: when the entry gate read the token that admitted the shopper; entry_t_s /
            exit_t_s: gate crossings.
        seg_t0_s, seg_t1_s: (m,) float64 segment start/end times (contiguous).
        seg_p0_m, seg_p1_m: (m, 2) float64 segment start/end body positions, world xy.
        seg_face_xy: (m, 2) float64 unit facing direction during each segment.
    """

    key: str
    account_id: str
    payer_key: str | None
    role: Literal["customer", "associate"]
    height_m: float
    appear_t_s: float
    scan_t_s: float
    entry_t_s: float
    exit_t_s: float
    disappear_t_s: float
    seg_t0_s: NDArray[np.float64]
    seg_t1_s: NDArray[np.float64]
    seg_p0_m: NDArray[np.float64]
    seg_p1_m: NDArray[np.float64]
    seg_face_xy: NDArray[np.float64]


@dataclass(frozen=True)
class PlannedScan:
    """A scan at the entry gate's reader, before the token exists (the pipeline issues it).

    Attributes:
        t_s: when the reader sees the QR code (or badge).
        shopper: index of the shopper standing at the scanner (the person it is for).
        account_id: whose app or badge is shown.
        kind: ``"fresh"`` (a current app token), ``"badge"`` (a staff badge), or a fault the gate
            must refuse: ``"expired"``, ``"replayed"``, ``"forged"``.
        admits: True for the scan that lets the shopper in (the truth's token).
    """

    t_s: float
    shopper: int
    account_id: str
    kind: Literal["fresh", "badge", "expired", "replayed", "forged"]
    admits: bool


@dataclass(frozen=True)
class Timeline:
    """Everything that happens in a recording, before sensors.

    Attributes:
        shoppers: one track per scenario shopper, same order.
        reach_shopper, reach_hand: (r,) int64 shopper index and hand (0 left, 1 right).
        reach_target_m: (r, 3) float64 where the hand goes (inside the shelf front edge).
        reach_t_s: (r, 4) float64 hand leaves body, touches shelf, leaves shelf, back at body.
        change_plate: (c,) int64 store plate index of each weight change.
        change_delta_g: (c,) float64 signed weight change.
        change_t_s: (c, 2) float64 ramp start and end (end = the change is complete).
        change_rest_t0_s: (c,) float64 start of a resting phase before the ramp (NaN if none).
        change_rest_frac: (c,) float64 share of the weight the plate keeps while resting.
        touch_plate: (h,) int64 plate a hand leans on; touch_t_s: (h, 2) start, end;
        touch_g: (h,) float64 extra weight.
        events: ground-truth events in time order of completion.
        duration_s: recording duration.
        scans: every scan at the entry gate, in time order.
    """

    shoppers: tuple[ShopperTrack, ...]
    reach_shopper: NDArray[np.int64]
    reach_hand: NDArray[np.int64]
    reach_target_m: NDArray[np.float64]
    reach_t_s: NDArray[np.float64]
    change_plate: NDArray[np.int64]
    change_delta_g: NDArray[np.float64]
    change_t_s: NDArray[np.float64]
    change_rest_t0_s: NDArray[np.float64]
    change_rest_frac: NDArray[np.float64]
    touch_plate: NDArray[np.int64]
    touch_t_s: NDArray[np.float64]
    touch_g: NDArray[np.float64]
    events: tuple[TruthEvent, ...]
    duration_s: float
    scans: tuple[PlannedScan, ...] = ()


class _Track:
    """A body path under construction (private, mutable)."""

    def __init__(
        self,
        pos: NDArray[np.float64],
        t: float,
        speed: float,
        face: NDArray[np.float64],
        speed_range: tuple[float, float],
    ) -> None:
        self.pos, self.t, self.speed, self.face = pos, t, speed, face
        self.speed_range = speed_range
        self.segs: list[tuple[float, float, NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]] = []

    def go(self, pts: NDArray[np.float64], rng: np.random.Generator | None) -> float:
        for q in pts:
            d = float(np.hypot(*(q - self.pos)))
            if d < 1e-9:
                continue
            v = self.speed
            if rng is not None:  # +/-10% per segment, within the walking speed range
                v = float(np.clip(v * (1.0 + rng.uniform(-0.1, 0.1)), *self.speed_range))
            self.face = (q - self.pos) / d
            self.segs.append((self.t, self.t + d / v, self.pos, q.copy(), self.face))
            self.t, self.pos = self.t + d / v, q.copy()
        return self.t

    def stay(self, until: float, face: NDArray[np.float64] | None = None) -> None:
        if face is not None:
            self.face = face
        if until > self.t:
            self.segs.append((self.t, until, self.pos, self.pos, self.face))
            self.t = until


Seg = tuple[float, float, NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]


def _where(segs: list[Seg], t: NDArray[np.float64]) -> NDArray[np.float64]:
    """Positions (n, 2) on a segment list at times t (n,); NaN before the first or after the last."""
    t0 = np.array([x[0] for x in segs])
    t1 = np.array([x[1] for x in segs])
    p0 = np.array([x[2] for x in segs]).reshape(-1, 2)
    p1 = np.array([x[3] for x in segs]).reshape(-1, 2)
    _, out = along_segments(t0, t1, p0, p1, t)
    out[(t < t0[0]) | (t > t1[-1])] = np.nan
    return out


def _moving(seg: Seg) -> bool:
    return bool(np.hypot(*(seg[3] - seg[2])) > 1e-9)


def _length(path: NDArray[np.float64]) -> float:
    return float(np.sum(np.hypot(*np.diff(path, axis=0).T)))


def keep_apart(
    tracks: list[_Track],
    planner: PathPlanner,
    busy: list[list[tuple[float, float]]],
    clear_m: float,
    max_speed_mps: float,
    rounds: int = 4,
) -> int:
    """Re-route walks that would pass closer than ``clear_m`` to another shopper.

    The scheduler places shoppers one event at a time and routes each walk around the people it
    knows to stand at a shelf then (:meth:`_Scheduler.route`), but a shopper placed later may
    step into a walk planned earlier, and two walkers may meet. This pass looks at every walk
    (a run of moving segments between two stops) against everybody's final paths; a walk that
    comes closer than ``clear_m`` to somebody is re-planned around where they were at the closest
    approach (:meth:`PathPlanner.path` with ``avoid_xy``). The longer walk keeps the walker's pace
    and takes its extra time from the stops around it: the walker arrives a little later (the
    pause before reaching shrinks) or sets off a little sooner, never while a hand is out or a
    token is scanned (``busy``), and up to ``max_speed_mps`` faster when the stops are too short.
    A walk that cannot be fixed that way is left as it is. Deterministic (no random draws).

    Args:
        tracks: every shopper's path (modified in place).
        planner: the store's path planner.
        busy: per shopper, (t0, t1) intervals in which they must stand still where they stand
            (reaches, scans), and (t, t) moments they must keep (gate crossings).
        clear_m: smallest centre-to-centre distance at which people pass each other, metres.
        max_speed_mps: fastest walking speed allowed for a re-routed walk.
        rounds: passes over all walks (a re-routed walk can meet somebody else).

    Returns:
        The number of walks re-routed.
    """
    fixed = 0
    for _ in range(rounds):
        changed = False
        for i, tr in enumerate(tracks):
            segs, out, k = tr.segs, [], 0
            while k < len(segs):
                if not _moving(segs[k]):
                    out.append(segs[k])
                    k += 1
                    continue
                k1 = k  # the walk runs on to the next stop or the next moment it must keep (a gate line)
                while k1 + 1 < len(segs) and _moving(segs[k1 + 1]) and not any(
                        b0 <= segs[k1][1] <= b1 for b0, b1 in busy[i]):
                    k1 += 1
                prev = out[-1] if out and not _moving(out[-1]) else None
                after = segs[k1 + 1] if k1 + 1 < len(segs) and not _moving(segs[k1 + 1]) else None
                rerouted = _reroute(i, segs[k:k1 + 1], prev, after, tracks, planner, busy[i], clear_m, max_speed_mps)
                if rerouted is None:
                    out.extend(segs[k:k1 + 1])
                    k = k1 + 1
                    continue
                if prev is not None:
                    out.pop()
                out.extend(rerouted)
                k = k1 + 2 if after is not None else k1 + 1
                fixed += 1
                changed = True
            tr.segs = out
        if not changed:
            break
    return fixed


def _reroute(
    i: int,
    walk: list[Seg],
    prev: Seg | None,
    after: Seg | None,
    tracks: list[_Track],
    planner: PathPlanner,
    busy: list[tuple[float, float]],
    clear_m: float,
    max_speed_mps: float,
) -> list[Seg] | None:
    """``prev`` + ``walk`` + ``after`` re-planned around the people the walk comes too close to, or
    None when the walk keeps its distance or cannot be fixed (see :func:`keep_apart`)."""
    ta, tb = walk[0][0], walk[-1][1]
    if any(b0 < tb and b1 > ta for b0, b1 in busy):
        return None
    ts = np.append(np.arange(ta, tb, 1.0 / 15.0), tb)
    own = _where(walk, ts)
    avoid = []
    for j, other in enumerate(tracks):
        if j == i or not other.segs:
            continue
        q = _where(other.segs, ts)
        d = np.hypot(*(own - q).T)
        d[np.isnan(d)] = np.inf
        m = int(np.argmin(d))
        if d[m] < clear_m:
            avoid.append(q[m])
    if not avoid:
        return None
    a, b = walk[0][2], walk[-1][3]
    path = planner.path(a, b, np.array(avoid))
    old_len = sum(float(np.hypot(*(s[3] - s[2]))) for s in walk)
    new_len = _length(path)
    if new_len <= old_len + 1e-6:
        return None
    pace = old_len / (tb - ta)
    limit_after = min([after[1] if after is not None else tb] + [b0 for b0, _ in busy if b0 >= tb]) - 0.1
    limit_before = max([prev[0] if prev is not None else ta] + [b1 for _, b1 in busy if b1 <= ta]) + 0.1
    room_after, room_before = max(limit_after - tb, 0.0), max(ta - limit_before, 0.0)
    duration = min(new_len / pace, (tb - ta) + room_after + room_before)
    if new_len / duration > max(max_speed_mps, pace):
        return None
    extra = duration - (tb - ta)
    later = min(extra, room_after)
    ta2, tb2 = ta - (extra - later), tb + later
    out: list[Seg] = []
    if prev is not None and ta2 - prev[0] > 1e-9:
        out.append((prev[0], ta2, prev[2], prev[3], prev[4]))
    cum = np.r_[0.0, np.cumsum(np.hypot(*np.diff(path, axis=0).T))]
    times = ta2 + (tb2 - ta2) * cum / cum[-1]
    for p0, p1, t0, t1 in zip(path[:-1], path[1:], times[:-1], times[1:], strict=True):
        if t1 - t0 > 1e-9:
            out.append((float(t0), float(t1), p0.copy(), p1.copy(), (p1 - p0) / float(np.hypot(*(p1 - p0)))))
    if after is not None and after[1] - tb2 > 1e-9:
        out.append((tb2, after[1], after[2], after[3], after[4]))
    return out


_STORE_CACHE: dict[int, tuple[Store, PlateGeometry, PathPlanner]] = {}


def store_layout(store: Store) -> tuple[PlateGeometry, PathPlanner]:
    """The store's :class:`PlateGeometry` and walking :class:`PathPlanner`, built once per store
    object and shared by every recording simulated in it (both are read-only; building them is a
    third of simulating the 34 dev recordings). A few stores are kept."""
    hit = _STORE_CACHE.get(id(store))
    if hit is None or hit[0] is not store:
        geo = plate_geometry(store)
        for arr in (geo.front_m, geo.out_xy, geo.lat_xy):
            arr.setflags(write=False)
        if len(_STORE_CACHE) >= 4:
            _STORE_CACHE.clear()
        hit = _STORE_CACHE[id(store)] = (store, geo, PathPlanner(store))
    return hit[1], hit[2]


def _gate(store: Store, kind: str) -> Gate:
    for g in store.gates:
        if g.kind == kind:
            return g
    raise ValueError(f"store {store.name!r} has no {kind} gate")


class _Scheduler:
    def __init__(self, store: Store, scenario: Scenario, params: SimParams, rng: np.random.Generator) -> None:
        self.store, self.scenario, self.p, self.rng = store, scenario, params.shopper, rng
        self.geo, self.planner = store_layout(store)
        self.shelf_of = [(p.id.gondola, p.id.shelf) for p in store.plates]
        self.free: dict[tuple[object, ...], float] = {}
        self.reaches: list[tuple[int, int, NDArray[np.float64], tuple[float, float, float, float]]] = []
        self.changes: list[tuple[int, float, float, float, float, float]] = []
        self.touches: list[tuple[int, float, float, float]] = []
        self.events: list[TruthEvent] = []
        h = params.people.height_m
        self.heights = [float(rng.uniform(*h)) for _ in scenario.shoppers]
        self.reach_inside = params.people.reach_inside_m
        self.tracks: list[_Track] = []
        self.gate_times: list[dict[str, float]] = []
        # (shopper, xy, t0, t1, reach_xy): where they stand, when, and the shelf front they reach to
        self.spots: list[tuple[int, NDArray[np.float64], float, float, NDArray[np.float64]]] = []
        self.scans: list[PlannedScan] = []

    def u(self, r: tuple[float, float]) -> float:
        return float(self.rng.uniform(r[0], r[1]))

    # ---- entry and exit
    def enter_all(self) -> None:
        gate = _gate(self.store, "entry")
        a, b, n = (np.array(x, float) for x in (gate.a_xy_m, gate.b_xy_m, gate.inward_xy))
        n = n / np.linalg.norm(n)
        t_prev = self.u(self.p.first_appear_s)
        gate_free = -np.inf  # one scanner, one lane: the next token is read once the last shopper is through
        for sh in self.scenario.shoppers:
            appear = sh.enter_after_s if sh.enter_after_s > 0 else t_prev
            if sh.payer is not None:  # a companion waits right behind the payer
                appear = gate_free - 1.0
            appear = max(appear, gate_free + 0.8)  # the next in the queue steps up once the last is clear
            t_prev = appear + self.u(self.p.stagger_s)
            p = a + self.u((0.15, 0.85)) * (b - a)
            tr = _Track(p - 0.3 * n, appear, self.u(self.p.speed_mps), n, self.p.speed_mps)
            tr.go(np.array([p - 0.15 * n]), self.rng)
            scan = max(tr.t + self.u(self.p.scan_fumble_s), gate_free + self.u(self.p.scan_fumble_s))
            i = len(self.tracks)
            account = self.scenario.shoppers[sh.payer].account_id if sh.payer is not None else sh.account_id
            if sh.scan_fault is not None:  # the gate refuses the first QR; a fresh one follows
                self.scans.append(PlannedScan(scan, i, account, sh.scan_fault, False))
                scan += self.u((2.0, 4.0))
            kind: Literal["fresh", "badge"] = "badge" if sh.role == "associate" else "fresh"
            self.scans.append(PlannedScan(scan, i, account, kind, True))
            cross = scan + self.u(self.p.scan_before_cross_s)
            tr.stay(cross - 0.15 / tr.speed)
            tr.go(np.array([p]), None)
            entry = tr.t
            gate_free = entry
            tr.go(np.array([p + 0.35 * n]), self.rng)
            self.tracks.append(tr)
            self.gate_times.append({"appear": appear, "scan": scan, "entry": entry})

    def exit_one(self, i: int) -> None:
        gate = _gate(self.store, "exit")
        a, b, n = (np.array(x, float) for x in (gate.a_xy_m, gate.b_xy_m, gate.inward_xy))
        n = n / np.linalg.norm(n)
        tr = self.tracks[i]
        p = a + self.u((0.15, 0.85)) * (b - a)
        tr.go(self.route(i, p + 0.35 * n)[1:], self.rng)
        tr.go(np.array([p]), self.rng)
        exit_t = tr.t
        tr.go(np.array([p - 0.3 * n]), self.rng)
        tr.stay(exit_t + self.u(self.p.exit_linger_s))
        self.gate_times[i].update(exit=exit_t, disappear=tr.t)

    def rescan(self, i: int) -> None:
        """Walk back to the entry scanner, scan the app again from inside, step away."""
        gate = _gate(self.store, "entry")
        a, b, n = (np.array(x, float) for x in (gate.a_xy_m, gate.b_xy_m, gate.inward_xy))
        n = n / np.linalg.norm(n)
        tr = self.tracks[i]
        p = a + self.u((0.3, 0.7)) * (b - a) + 0.45 * n
        tr.go(self.route(i, p)[1:], self.rng)
        scan = tr.t + self.u(self.p.scan_fumble_s)
        busy = sorted((g["appear"] - 1.0, g["entry"] + 1.5) for j, g in enumerate(self.gate_times) if j != i)
        for t0, t1 in busy:  # wait until nobody queues at the scanner outside
            if t0 <= scan <= t1:
                scan = t1
        tr.stay(scan - 0.01, face=-n)
        self.scans.append(PlannedScan(scan, i, self.scenario.shoppers[i].account_id, "fresh", False))
        tr.stay(scan + self.u((1.0, 2.0)), face=-n)
        tr.go(np.array([p + 0.8 * n]), self.rng)

    def browse(self, i: int) -> None:
        lo, hi = self.p.browse_stops
        for _ in range(int(self.rng.integers(lo, hi + 1))):
            plate = int(self.rng.integers(len(self.store.plates)))
            stand = self.stand_point([plate])
            tr = self.tracks[i]
            dwell = self.u((1.0, 4.0))
            front = self.geo.front_m[plate, :2]
            t0 = self.walk_to_spot(i, stand, self.geo.lat_xy[plate], dwell, front)
            tr.stay(t0 + dwell, face=-self.geo.out_xy[plate])
            self.spots.append((i, tr.pos.copy(), t0, tr.t, front.copy()))

    # ---- shelf events
    def stand_point(self, plates: list[int]) -> NDArray[np.float64]:
        front = self.geo.front_m[plates, :2].mean(axis=0)
        out, lat = self.geo.out_xy[plates[0]], self.geo.lat_xy[plates[0]]
        lateral = self.u((-self.p.stand_lateral_m, self.p.stand_lateral_m))
        return front + out * self.u(self.p.stand_off_m) + lat * lateral

    def free_spot(self, i: int, stand: NDArray[np.float64], lat: NDArray[np.float64], t0: float, t1: float,
                  reach_xy: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:
        """A spot near ``stand`` where no other shopper stands within ``personal_space_m`` between
        t0 and t1 (people do not stand inside each other), and the time to set off for it.

        A spot is taken, too, when the reach from it to ``reach_xy`` (the shelf front, floor
        plane) comes within ``reach_clear_m`` of the reach of a shopper standing there (from
        their spot to their shelf front: their arm and, reaching low, their bent upper body):
        people do not reach across somebody who is reaching (their arm would go through the
        other's head).

        Tries ``stand`` and spots up to ``side_step_m`` sideways along the shelf (nearest first;
        the arm still reaches the plate); when all are taken the shopper waits where they are
        until the first of them frees up, and tries again (at most 3 times, then takes the least
        crowded of the spots from which nobody is reached across, if there is one).
        """
        gap, step = self.p.personal_space_m, self.p.side_step_m
        offsets = sorted({0.0, step, -step, 2 * step, -2 * step}, key=lambda x: (abs(x), x))
        cands = [stand + o * lat for o in offsets]
        cands = [c for c in cands if not self.planner._inside_any(c, self.planner.footprints)] or [stand]

        def across(c: NDArray[np.float64], xy: NDArray[np.float64], reach: NDArray[np.float64]) -> bool:
            return segment_gap_m(c, reach_xy, xy, reach) < self.p.reach_clear_m

        start = t0
        for _ in range(3):
            others = self.standing(i, start, t1 + (start - t0))
            blocked = [[(xy, end) for xy, end, reach in others if np.hypot(*(xy - c)) < gap or across(c, xy, reach)]
                       for c in cands]
            for c, b in zip(cands, blocked, strict=True):
                if not b:
                    return c, start
            start = max(start, min(max(end for _, end in b) for b in blocked))

        def crowding(c: NDArray[np.float64]) -> tuple[bool, float]:  # reaching across somebody is worst
            return any(across(c, xy, reach) for xy, _, reach in others), -min(np.hypot(*(xy - c)) for xy, _, _ in others)

        return min(cands, key=crowding), start

    def walk_to_spot(self, i: int, stand: NDArray[np.float64], lat: NDArray[np.float64], dwell_s: float,
                     reach_xy: NDArray[np.float64], ready_t: float = 0.0) -> float:
        """Walk shopper i to a free spot near ``stand`` to reach ``reach_xy``, where they stay
        about ``dwell_s`` after arriving or after ``ready_t`` (when the shelf is free), whichever
        is later; returns the arrival time."""
        tr = self.tracks[i]
        path = self.planner.path(tr.pos, stand)
        spot, start = self.free_spot(i, stand, lat, tr.t, max(self._eta(tr, path), ready_t) + dwell_s, reach_xy)
        if start > tr.t:  # waiting where they are: others see them standing there
            self.spots.append((i, tr.pos.copy(), tr.t, start, tr.pos.copy()))
        tr.stay(start)
        return tr.go(self.route(i, spot)[1:], self.rng)

    @staticmethod
    def _eta(tr: _Track, path: NDArray[np.float64]) -> float:
        return tr.t + float(np.sum(np.hypot(*np.diff(path, axis=0).T))) / tr.speed if len(path) > 1 else tr.t

    def route(self, i: int, goal: NDArray[np.float64]) -> NDArray[np.float64]:
        """Shopper i's walking path from where they are to ``goal``, around the gondolas and around
        every other shopper standing at a shelf while i walks (people do not walk through people)."""
        tr = self.tracks[i]
        path = self.planner.path(tr.pos, goal)
        standing = [xy for xy, _, _ in self.standing(i, tr.t, self._eta(tr, path) + self.p.avoid_slack_s)]
        return self.planner.path(tr.pos, goal, np.array(standing)) if standing else path

    def standing(self, i: int, t0: float, t1: float) -> list[tuple[NDArray[np.float64], float, NDArray[np.float64]]]:
        """Where other shoppers stand at some time between t0 and t1, until when, and where they
        reach to: at a shelf (spots placed so far), or where a shopper not placed that far yet
        waits for their next event (they stay there at least until the scheduler moves them on;
        not reaching: their reach is their spot)."""
        out = [(xy, b, reach) for j, xy, a, b, reach in self.spots if j != i and a < t1 and b > t0]
        for j, tr in enumerate(self.tracks):
            if j != i and tr.t < t1 and "exit" not in self.gate_times[j] and tr.segs:
                out.append((tr.pos.copy(), max(tr.t, t0), tr.pos.copy()))
        return out

    def event(self, ev: ResolvedEvent) -> None:
        plates = sorted({p for a in ev.actions for p in a.plate_idx})
        tr = self.tracks[ev.shopper]
        stand = self.stand_point(plates)
        face = -self.geo.out_xy[plates[0]]
        front = self.geo.front_m[plates, :2].mean(axis=0)
        resources = {("shelf", *self.shelf_of[p]) for p in plates} | {("upc", a.upc) for a in ev.actions}
        ready = max(self.free.get(r, 0.0) for r in resources)  # they stand there until the shelf is free
        arrive = self.walk_to_spot(ev.shopper, stand, self.geo.lat_xy[plates[0]], 6.0, front, ready)
        stand = tr.pos.copy()
        start = max(arrive + self.u(self.p.pause_s), ready)
        tr.stay(start, face=face)
        right = np.array([face[1], -face[0]])
        side = float(np.dot(self.geo.front_m[list(ev.actions[0].plate_idx), :2].mean(axis=0) - stand, right))
        first = RIGHT if side > 0.02 else LEFT if side < -0.02 else int(self.rng.integers(2))
        hand_free = [start, start]
        t_go = start
        release = back = start
        for j, act in enumerate(ev.actions):
            hand = first ^ (j % 2)
            t_go = start if j == 0 else max(hand_free[hand], t_go + self.u(self.p.second_hand_lag_s))
            times = self.hand_action(ev, act, hand, t_go)
            hand_free[hand] = times[3]
            release, back = max(release, times[2]), max(back, times[3])
        tr.stay(back)
        self.spots.append((ev.shopper, stand.copy(), arrive, back, front))
        gap = self.u(self.p.resource_gap_s)
        for r in resources:
            self.free[r] = max(self.free.get(r, 0.0), release + gap)

    def hand_action(
        self, ev: ResolvedEvent, act: HandAction, hand: int, t_go: float
    ) -> tuple[float, float, float, float]:
        p = self.p
        contact = t_go + self.u(p.reach_s)
        rest_t0 = np.nan
        if ev.kind == "pick":
            ramp0 = contact + self.u(p.grasp_s)
            if self.rng.random() < p.rest_prob and len(ev.actions) == 1:  # two hands: within ~1 s
                rest_t0, ramp0 = ramp0, ramp0 + self.u(p.rest_s)
        else:
            ramp0 = contact + self.u(p.place_delay_s)
        done = ramp0 + self.u(p.lift_s)
        release = done + self.u(p.release_s)
        rest_frac = self.u(p.rest_frac)
        for plate, delta in zip(act.plate_idx, act.delta_g, strict=True):
            self.changes.append((plate, delta, ramp0, done, rest_t0, rest_frac))
        if self.rng.random() < p.touch_prob:  # the hand leans on a plate, overlapping the grasp
            plate = act.plate_idx[int(self.rng.integers(len(act.plate_idx)))]
            t0 = self.u((contact, done))
            t1 = t0 + self.u(p.touch_s)
            self.touches.append((plate, t0, t1, self.u(p.touch_g)))
            release = max(release, t1 + 0.05)  # the hand stays on the shelf while it leans
        back = release + self.u(p.reach_s)
        idx = list(act.plate_idx)
        target = self.geo.front_m[idx].mean(axis=0).copy()
        target[:2] -= self.geo.out_xy[idx[0]] * self.reach_inside
        target[2] += 0.03
        self.reaches.append((ev.shopper, hand, target, (t_go, contact, release, back)))
        self.events.append(
            TruthEvent(
                kind="pick" if ev.kind == "pick" else "putback",
                upc=act.upc,
                quantity=len(act.units),
                plates=tuple(self.store.plates[k].id for k in idx),
                shopper=self.scenario.shoppers[ev.shopper].key,
                t_start_s=contact,
                t_s=done,
                label_event_id=ev.label_event_id,
                misplaced=act.misplaced,
            )
        )
        return (t_go, contact, release, back)

    def busy(self) -> list[list[tuple[float, float]]]:
        """Per shopper, when they must stay where they stand: reaches, scans, gate crossings."""
        out: list[list[tuple[float, float]]] = [[] for _ in self.tracks]
        for shopper, _, _, (t_go, _, _, back) in self.reaches:
            out[shopper].append((float(t_go), float(back)))
        for sc in self.scans:
            out[sc.shopper].append((sc.t_s - 0.5, sc.t_s + 0.5))
        for k, g in enumerate(self.gate_times):
            for key in ("entry", "exit"):
                if key in g:
                    out[k].append((g[key], g[key]))
        return out

    # ---- result
    def timeline(self, min_duration_s: float) -> Timeline:
        shoppers = []
        for i, (sh, tr) in enumerate(zip(self.scenario.shoppers, self.tracks, strict=True)):
            g = self.gate_times[i]
            s = tr.segs
            shoppers.append(
                ShopperTrack(
                    key=sh.key,
                    account_id=self.scenario.shoppers[sh.payer].account_id if sh.payer is not None else sh.account_id,
                    payer_key=self.scenario.shoppers[sh.payer].key if sh.payer is not None else None,
                    role=sh.role,
                    height_m=self.heights[i],
                    appear_t_s=g["appear"],
                    scan_t_s=g["scan"],
                    entry_t_s=g["entry"],
                    exit_t_s=g["exit"],
                    disappear_t_s=g["disappear"],
                    seg_t0_s=np.array([x[0] for x in s]),
                    seg_t1_s=np.array([x[1] for x in s]),
                    seg_p0_m=np.array([x[2] for x in s]).reshape(-1, 2),
                    seg_p1_m=np.array([x[3] for x in s]).reshape(-1, 2),
                    seg_face_xy=np.array([x[4] for x in s]).reshape(-1, 2),
                )
            )
        end = max([s.disappear_t_s for s in shoppers] + [0.0]) + 1.0
        r, c, h = self.reaches, self.changes, self.touches
        return Timeline(
            shoppers=tuple(shoppers),
            reach_shopper=np.array([x[0] for x in r], dtype=np.int64),
            reach_hand=np.array([x[1] for x in r], dtype=np.int64),
            reach_target_m=np.array([x[2] for x in r], dtype=np.float64).reshape(-1, 3),
            reach_t_s=np.array([x[3] for x in r], dtype=np.float64).reshape(-1, 4),
            change_plate=np.array([x[0] for x in c], dtype=np.int64),
            change_delta_g=np.array([x[1] for x in c], dtype=np.float64),
            change_t_s=np.array([x[2:4] for x in c], dtype=np.float64).reshape(-1, 2),
            change_rest_t0_s=np.array([x[4] for x in c], dtype=np.float64),
            change_rest_frac=np.array([x[5] for x in c], dtype=np.float64),
            touch_plate=np.array([x[0] for x in h], dtype=np.int64),
            touch_t_s=np.array([x[1:3] for x in h], dtype=np.float64).reshape(-1, 2),
            touch_g=np.array([x[3] for x in h], dtype=np.float64),
            events=tuple(sorted(self.events, key=lambda e: (e.t_s, e.shopper, e.upc))),
            duration_s=float(max(end, min_duration_s)),
            scans=tuple(sorted(self.scans, key=lambda x: x.t_s)),
        )


def _time_order(resolved: tuple[ResolvedEvent, ...], s: _Scheduler) -> Iterator[int]:
    """Indices of ``resolved`` in the order the scheduler should place them: always the event of
    the shopper who is furthest behind in time (so whoever walks knows who already stands where),
    each shopper's events in their own order, and two events that move the same unit in the
    scenario's order (what the stock replay assumed: a unit is put back before somebody picks it
    up again). Other events may swap; on one shelf or product they still take turns
    (:meth:`_Scheduler.event`)."""
    resources = [{u for a in ev.actions for u in a.units} for ev in resolved]
    pending = list(range(len(resolved)))
    while pending:
        first: dict[int, int] = {}
        for k in pending:
            first.setdefault(resolved[k].shopper, k)
        ready = [k for k in first.values() if not any(m < k and resources[m] & resources[k] for m in pending)]
        k = min(ready, key=lambda k: (s.tracks[resolved[k].shopper].t, k))
        pending.remove(k)
        yield k


def schedule(
    store: Store, scenario: Scenario, resolved: tuple[ResolvedEvent, ...], params: SimParams, rng: np.random.Generator
) -> Timeline:
    """Schedule a scenario's resolved events in time.

    Args:
        store: the store (geometry, gates).
        scenario: the scenario (shoppers and their entry hints).
        resolved: :func:`walkout.sim.world.resolve_events` of the scenario.
        params: simulator parameters (shopper behaviour; people heights).
        rng: random generator for every timing draw.

    Returns:
        The :class:`Timeline` (times in seconds since the recording's start).

    Raises:
        ValueError: the store has no entry or exit gate.
    """
    s = _Scheduler(store, scenario, params, rng)
    s.enter_all()
    for i, sh in enumerate(scenario.shoppers):
        if sh.rescan == "empty":
            s.rescan(i)
    for k in _time_order(resolved, s):
        s.event(resolved[k])
    has_events = {ev.shopper for ev in resolved}
    for i, sh in enumerate(scenario.shoppers):
        if i not in has_events and sh.rescan != "empty":
            s.browse(i)
        if sh.rescan == "with_items":
            s.rescan(i)
        s.exit_one(i)
    keep_apart(s.tracks, s.planner, s.busy(), params.shopper.pass_clear_m, params.shopper.speed_mps[1])
    return s.timeline(scenario.min_duration_s)
