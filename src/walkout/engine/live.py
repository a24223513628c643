"""The live engine: a store day processed as its sensor data arrives.

Devices stream plate samples, gate scans and tracker observations (over MQTT, ``io/mqtt.py``);
:meth:`LiveEngine.feed` appends them to the day's buffers and :meth:`LiveEngine.tick` runs the
engine over everything received so far (``Engine.run(..., final=False)``: sessions stay open,
pending scans wait). Every tick's decisions are compared with the previous tick's and the
differences are published as live messages (docs/api.md, "Live messages"): people on the map,
sessions, shelf events, carts, receipts at exit, stock. :meth:`LiveEngine.end_day` runs the
final pass with the database attached, exactly as a replay of the same recording would, so the
stored sessions, carts and receipts equal the batch engine's.

Re-running on the growing prefix keeps one code path for live and batch and makes every tick
deterministic; its cost grows with the day (about 2 ms per second of a 306-plate store here), so
a day is bounded (the AiFi recordings are 10–70 s; a real store would roll its day every few
minutes or carry state across windows).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from walkout.core.frames import GateScans, PersonObservations, PlateSamples
from walkout.core.store import Facing, Store
from walkout.engine.loop import Engine, Storage
from walkout.engine.params import EngineParams
from walkout.engine.result import RunResult
from walkout.engine.sessions import EntryVerifier
from walkout.inventory.planogram import LivePlanogram
from walkout.io.recording import Recording, RecordingMeta
from walkout.perception.weight.changes import SteadyCache

Publish = Callable[[dict[str, Any]], None]


@dataclass
class _Day:
    name: str
    planogram: tuple[Facing, ...]
    start_unix_s: float
    wall_start_unix_s: float
    plates: list[PlateSamples] = field(default_factory=list)
    scans: list[GateScans] = field(default_factory=list)
    people: list[PersonObservations] = field(default_factory=list)
    t_last_s: float = 0.0
    carts: dict[str, dict[str, int]] = field(default_factory=dict)
    sessions: dict[str, tuple[str, int]] = field(default_factory=dict)
    events: dict[int, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    receipts: set[str] = field(default_factory=set)
    stock: dict[tuple[str, str], int] = field(default_factory=dict)
    last: RunResult | None = None
    steady: SteadyCache | None = None
    dropping: dict[str, tuple[dict[str, int], float]] = field(default_factory=dict)


class LiveEngine:
    """Runs the engine on a live store day and publishes what changes.

    Args:
        store: the store.
        desk: the entry desk (verifies scans; its used-token store must forgive the same scan
            seen again, as :class:`walkout.carts.entry.InMemoryUsedTokens` and the database do,
            because every tick re-reads the day's scans).
        publish: called with each live message (a JSON-ready dict with ``type``).
        params: engine parameters.
        storage: where :meth:`end_day` writes the day (None: nowhere).
        plate_rate_hz: the plates' sample rate.
        low_stock_units: a ``stock`` message says ``low`` at or below this many units on a plate.
        retract_after_s: a cart line that changes with no event decided behind it (a provisional
            pick or put-back taken back) is published once the engine has held that view this long
            (store time).
    """

    def __init__(self, store: Store, desk: EntryVerifier, publish: Publish, params: EngineParams = EngineParams(),
                 storage: Storage | None = None, plate_rate_hz: float = 60.0, low_stock_units: int = 2,
                 retract_after_s: float = 0.4) -> None:
        self.store, self.desk, self.publish, self.params = store, desk, publish, params
        self.storage = storage
        self.plate_rate_hz = plate_rate_hz
        self.low_stock_units = low_stock_units
        self.retract_after_s = retract_after_s
        self.day: _Day | None = None
        self.tick_s: list[float] = []

    # ------------------------------------------------------------------ input
    def start_day(self, name: str, planogram: tuple[Facing, ...] | None = None, start_unix_s: float = 0.0,
                  wall_start_unix_s: float | None = None) -> None:
        """Begin a store day (a recording): empty buffers, the planogram at t = 0."""
        self.day = _Day(name, planogram if planogram is not None else self.store.planogram, start_unix_s,
                        time.time() if wall_start_unix_s is None else wall_start_unix_s,
                        steady=SteadyCache(self.params.weight))
        if self.storage is not None:  # the shelves as the day opens, for the inventory pages
            self.storage.set_stock(LivePlanogram.from_facings(self.day.planogram).stock_rows())
        self.publish({"type": "day", "recording": name, "status": "start"})

    def feed(self, plates: PlateSamples | None = None, scans: GateScans | None = None,
             people: PersonObservations | None = None) -> None:
        """Append arrived data (each stream in time order per plate / per stream)."""
        day = self._require_day()
        for buf, x in ((day.plates, plates), (day.scans, scans), (day.people, people)):
            if x is not None and len(x.t_s):
                buf.append(x)  # type: ignore[arg-type]
                day.t_last_s = max(day.t_last_s, float(np.max(x.t_s)))

    # ------------------------------------------------------------------ processing
    def tick(self) -> RunResult | None:
        """Run the engine over the day so far and publish the differences; None before any data."""
        day = self._require_day()
        if not day.plates:
            return None
        t0 = time.perf_counter()
        result = Engine(self.desk, None, self.params).run(self._recording(day), final=False, steady=day.steady)
        self._publish_changes(day, result)
        day.last = result
        self.tick_s.append(time.perf_counter() - t0)
        return result

    def end_day(self) -> RunResult | None:
        """The final pass over the whole day, written to storage; publishes exits and receipts."""
        day = self._require_day()
        result = None
        if day.plates:
            result = Engine(self.desk, self.storage, self.params).run(self._recording(day), final=True)
            self._publish_changes(day, result, final=True)
        self.publish({"type": "day", "recording": day.name, "status": "end"})
        self.day = None
        return result

    def _require_day(self) -> _Day:
        if self.day is None:
            raise RuntimeError("LiveEngine: no store day started (call start_day first)")
        return self.day

    def _recording(self, day: _Day) -> Recording:
        meta = RecordingMeta(name=day.name, duration_s=day.t_last_s, plate_rate_hz=self.plate_rate_hz,
                             planogram=day.planogram, source="live", start_unix_s=day.start_unix_s)
        return Recording(self.store, meta, _concat_plates(day.plates, self.store), _concat_scans(day.scans),
                         _concat_people(day.people))

    # ------------------------------------------------------------------ output
    def _publish_changes(self, day: _Day, result: RunResult, final: bool = False) -> None:
        names = {p.upc: (p.name, p.price_cents) for p in self.store.products}
        accounts = {s.session_id: s.account_id for s in result.sessions}
        for s in result.sessions:
            status = "deleted" if s.deleted else "open" if s.exit_t_s is None else "exited"
            if day.sessions.get(s.session_id) != (status, s.members):
                day.sessions[s.session_id] = (status, s.members)
                self.publish({"type": "session", "session_id": s.session_id, "account_id": s.account_id,
                              "status": status, "members": s.members, "kind": s.kind, "recording": day.name})
        when: dict[str, float] = {}
        decided: set[tuple[str | None, str]] = set()  # (session, upc) of events decided (anew) this tick
        for a in result.attributions:
            if a.session_id is not None:
                when[a.session_id] = max(when.get(a.session_id, 0.0), a.t_s)
            if day.events.get(a.event_id) == a.items or (not a.items and not final):
                continue  # published already, or not decided yet (more data may explain it)
            day.events[a.event_id] = a.items  # new, or decided differently now that more data came
            decided.update((a.session_id, u) for u, _ in a.items)
            ev = next((e for e in result.shelf_events if e.event_id == a.event_id), None)
            self.publish({
                "type": "shelf_event", "recording": day.name, "event_id": a.event_id, "t_s": a.t_s, "kind": a.kind,
                "plates": [str(p) for p in ev.plates] if ev is not None else [],
                "items": [[u, q] for u, q in a.items], "names": [names.get(u, (u, 0))[0] for u, _ in a.items],
                "session_id": a.session_id, "account_id": accounts.get(a.session_id or ""),
                "confidence": round(a.confidence, 4), "review": a.confidence < self.params.review_threshold,
            })
        carts = dict(result.carts)
        for r in result.receipts:
            carts[r.session_id] = r.quantities()
        for sid, cart in carts.items():
            shown = day.carts.get(sid, {})
            unexplained = {u for u in shown.keys() | cart.keys()
                           if cart.get(u, 0) != shown.get(u, 0) and (sid, u) not in decided}
            if unexplained and not final:
                # a line changing with no event decided behind it this tick: a provisional pick or
                # put-back the engine took back (docs/engine.md#live). Shown once it has held for
                # retract_after_s of store time, so a decision withdrawn for a moment (the plate
                # rang again) does not blink on the customer's phone.
                seen, since = day.dropping.get(sid, ({}, day.t_last_s))
                if seen != cart:
                    day.dropping[sid] = (dict(cart), day.t_last_s)
                    continue
                if day.t_last_s - since < self.retract_after_s:
                    continue
            day.dropping.pop(sid, None)
            if shown != cart or sid not in day.carts:
                day.carts[sid] = dict(cart)
                lines = [{"upc": u, "name": names.get(u, (u, 0))[0], "quantity": q,
                          "unit_price_cents": names.get(u, (u, 0))[1]} for u, q in sorted(cart.items())]
                t_event = when.get(sid)  # None: the empty cart of a session just opened (no event behind it)
                subtotal = sum(q * names.get(u, (u, 0))[1] for u, q in cart.items())
                self.publish({"type": "cart", "session_id": sid, "account_id": accounts.get(sid), "cart": lines,
                              "subtotal_cents": subtotal, "t_s": t_event,
                              "event_unix_s": None if t_event is None else day.wall_start_unix_s + t_event})
        for r in result.receipts:
            if r.session_id in day.receipts:
                continue
            day.receipts.add(r.session_id)
            self.publish({
                "type": "receipt", "session_id": r.session_id, "account_id": r.account_id,
                "lines": [{"upc": ln.upc, "name": ln.name, "quantity": ln.quantity,
                           "unit_price_cents": ln.unit_price_cents} for ln in r.lines],
                "subtotal_cents": r.subtotal_cents, "tax_cents": r.tax_cents, "total_cents": r.total_cents,
                "currency": r.currency, "time_in_store_s": r.exit_t_s - r.entry_t_s,
            })
        for plate_id, upc, count in result.stock:
            if day.stock.get((plate_id, upc)) != count:
                first = (plate_id, upc) not in day.stock
                day.stock[(plate_id, upc)] = count
                if not first:  # the day's opening stock is the planogram: only changes are news
                    self.publish({"type": "stock", "plate_id": plate_id, "upc": upc, "count": count,
                                  "name": names.get(upc, (upc, 0))[0], "low": count <= self.low_stock_units})
        if result.positions:
            self.publish({"type": "people", "recording": day.name, "t_s": day.t_last_s, "people": [
                {"person": p.person, "xy_m": [p.head_xyz_m[0], p.head_xyz_m[1]], "head_z_m": p.head_xyz_m[2],
                 "hands": [list(h) if h is not None else None for h in p.hands_xyz_m], "session_id": p.session_id,
                 "confidence": 0.5 if p.tangled else 1.0, "tangled": p.tangled} for p in result.positions]})


def _concat_plates(parts: list[PlateSamples], store: Store) -> PlateSamples:
    ids = tuple(p.id for p in store.plates)
    if not parts:
        return PlateSamples(ids, np.zeros(0, np.int32), np.zeros(0), np.zeros(0, np.float32))
    return PlateSamples(ids, np.concatenate([p.plate for p in parts]), np.concatenate([p.t_s for p in parts]),
                        np.concatenate([p.mass_g for p in parts]))


def _concat_scans(parts: list[GateScans]) -> GateScans:
    if not parts:
        return GateScans(np.zeros(0, object), np.zeros(0), np.zeros(0, object))
    return GateScans(np.concatenate([p.gate_id for p in parts]), np.concatenate([p.t_s for p in parts]),
                     np.concatenate([p.token for p in parts]))


def _concat_people(parts: list[PersonObservations]) -> PersonObservations:
    if not parts:
        z3 = np.zeros((0, 3), np.float32)
        return PersonObservations(np.zeros(0), np.zeros(0, np.int64), z3, z3.copy(), z3.copy())
    return PersonObservations(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                                ("t_s", "track_id", "head_xyz_m", "left_hand_xyz_m", "right_hand_xyz_m")))
