"""Shopper behaviour in time: entry, walking, reaching, picking, placing, exit.

:func:`schedule` turns resolved scenario events into a :class:`Timeline`: each shopper's body
path (piecewise-linear segments, world frame, metres), every hand reach, every plate weight
change, every hand leaning on a shelf, and the ground-truth events. Sensor rendering
(:mod:`walkout.sim.loadcell`, :mod:`walkout.sim.people`) reads only the timeline.

Scheduling is greedy in the scenario's global order: a shopper walks to a standing point in
front of the plates, pauses, and starts reaching once the previous event on the same shelf or
product (by any shopper) has finished, so those events keep their label order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from walkout.core.store import Gate, Store
from walkout.eval.truth import TruthEvent
from walkout.sim.params import SimParams
from walkout.sim.paths import PathPlanner
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


def _gate(store: Store, kind: str) -> Gate:
    for g in store.gates:
        if g.kind == kind:
            return g
    raise ValueError(f"store {store.name!r} has no {kind} gate")


class _Scheduler:
    def __init__(self, store: Store, scenario: Scenario, params: SimParams, rng: np.random.Generator) -> None:
        self.store, self.scenario, self.p, self.rng = store, scenario, params.shopper, rng
        self.geo = plate_geometry(store)
        self.planner = PathPlanner(store)
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
        self.spots: list[tuple[int, NDArray[np.float64], float, float]] = []  # (shopper, xy, t0, t1)
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
        tr.go(self.planner.path(tr.pos, p + 0.35 * n)[1:], self.rng)
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
        tr.go(self.planner.path(tr.pos, p)[1:], self.rng)
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
            t0 = self.walk_to_spot(i, stand, self.geo.lat_xy[plate], dwell)
            tr.stay(t0 + dwell, face=-self.geo.out_xy[plate])
            self.spots.append((i, tr.pos.copy(), t0, tr.t))

    # ---- shelf events
    def stand_point(self, plates: list[int]) -> NDArray[np.float64]:
        front = self.geo.front_m[plates, :2].mean(axis=0)
        out, lat = self.geo.out_xy[plates[0]], self.geo.lat_xy[plates[0]]
        lateral = self.u((-self.p.stand_lateral_m, self.p.stand_lateral_m))
        return front + out * self.u(self.p.stand_off_m) + lat * lateral

    def free_spot(self, i: int, stand: NDArray[np.float64], lat: NDArray[np.float64], t0: float, t1: float
                  ) -> NDArray[np.float64]:
        """``stand``, moved sideways along the shelf until no other shopper stands within
        ``personal_space_m`` of it between t0 and t1 (people do not stand inside each other)."""
        gap = self.p.personal_space_m
        for _ in range(4):
            busy = [xy for j, xy, a, b in self.spots if j != i and a < t1 and b > t0 and np.hypot(*(xy - stand)) < gap]
            if not busy:
                break
            side = np.sign(float(np.dot(stand - busy[0], lat))) or 1.0
            stand = stand + (side * gap * 1.05 - float(np.dot(stand - busy[0], lat))) * lat
        return stand

    def walk_to_spot(self, i: int, stand: NDArray[np.float64], lat: NDArray[np.float64], dwell_s: float) -> float:
        """Walk shopper i to a free spot near ``stand``; returns the arrival time."""
        tr = self.tracks[i]
        path = self.planner.path(tr.pos, stand)
        eta = tr.t + float(np.sum(np.hypot(*np.diff(path, axis=0).T))) / tr.speed if len(path) > 1 else tr.t
        spot = self.free_spot(i, stand, lat, tr.t, eta + dwell_s)
        if spot is not stand:
            path = self.planner.path(tr.pos, spot)
        return tr.go(path[1:], self.rng)

    def event(self, ev: ResolvedEvent) -> None:
        plates = sorted({p for a in ev.actions for p in a.plate_idx})
        tr = self.tracks[ev.shopper]
        stand = self.stand_point(plates)
        face = -self.geo.out_xy[plates[0]]
        arrive = self.walk_to_spot(ev.shopper, stand, self.geo.lat_xy[plates[0]], 6.0)
        stand = tr.pos.copy()
        resources = {("shelf", *self.shelf_of[p]) for p in plates} | {("upc", a.upc) for a in ev.actions}
        start = max([arrive + self.u(self.p.pause_s)] + [self.free.get(r, 0.0) for r in resources])
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
        self.spots.append((ev.shopper, stand.copy(), arrive, back))
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
    for ev in resolved:
        s.event(ev)
    has_events = {ev.shopper for ev in resolved}
    for i, sh in enumerate(scenario.shoppers):
        if i not in has_events and sh.rescan != "empty":
            s.browse(i)
        if sh.rescan == "with_items":
            s.rescan(i)
        s.exit_one(i)
    return s.timeline(scenario.min_duration_s)
