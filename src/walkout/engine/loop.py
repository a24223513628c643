"""The engine loop: one recording in, sessions, carts, receipts and decisions out.

Perception runs over the recording's streams (plate grid -> plate changes; tracker rows ->
linked persons -> gate crossings); then one time-ordered pass over scans, gate crossings and
shelf events drives sessions, the live planogram and the carts, exactly in the order a live
store would see them (an event is decided when its weight has settled). Persistence goes through
an injected :class:`Storage` (the SQLAlchemy database in production, nothing in unit tests).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol, cast

import numpy as np

from walkout.carts.cart import Cart, apply_line
from walkout.carts.receipt import Receipt, make_receipt
from walkout.core.store import PlateId
from walkout.engine.params import EngineParams
from walkout.engine.result import Attribution, ReviewItem, RunResult, SessionInfo
from walkout.events.shelf import build_shelf_events
from walkout.events.types import ShelfEvent
from walkout.fusion.product import Hypothesis, identify_products
from walkout.fusion.shopper import attribute_shopper
from walkout.inventory.planogram import LivePlanogram, Source
from walkout.io.recording import Recording
from walkout.perception.people.gates import GateCrossing, detect_crossings
from walkout.perception.people.linker import People, link_people, resolve_tangles
from walkout.perception.people.vision import see_people
from walkout.perception.weight.changes import detect_plate_changes
from walkout.perception.weight.grid import to_grid

log = logging.getLogger(__name__)


class Storage(Protocol):
    """What the engine persists (implemented by :class:`walkout.engine.db.Database`)."""

    def open_session(self, session_id: str, account_id: str, recording: str, entry_t_s: float) -> None: ...

    def add_cart_line(self, session_id: str, event_id: int, upc: str, quantity_delta: int, t_s: float,
                      confidence: float) -> None: ...

    def close_session(self, session_id: str, exit_t_s: float, receipt: Receipt) -> object: ...

    def add_review_item(self, item: ReviewItem, recording: str = "") -> object: ...

    def log_shelf_event(self, event: ShelfEvent, recording: str, attribution: Attribution | None = None) -> object: ...

    def set_stock(self, rows: list[tuple[str, str, int]]) -> object: ...


@dataclass
class _Session:
    session_id: str
    account_id: str
    token: str
    person: int
    entry_t_s: float
    exit_t_s: float | None = None
    cart: Cart = field(default_factory=dict)


@dataclass
class _State:
    live: LivePlanogram
    pending: list[tuple[float, str, str]] = field(default_factory=list)
    sessions: dict[str, _Session] = field(default_factory=dict)
    by_person: dict[int, str] = field(default_factory=dict)
    first_row: dict[int, int] = field(default_factory=dict)
    last_seen_s: dict[int, float] = field(default_factory=dict)
    events: list[ShelfEvent] = field(default_factory=list)
    deferred: dict[int, ShelfEvent] = field(default_factory=dict)
    decided: list[ShelfEvent] = field(default_factory=list)
    attributions: list[Attribution] = field(default_factory=list)
    review: list[ReviewItem] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    rejections: Counter[str] = field(default_factory=Counter)


class Engine:
    """Runs recordings through the pipeline.

    Args:
        accounts: app token -> account id (the account directory; the database's accounts).
        storage: optional persistence; every session, cart line, receipt and review item is written.
        params: engine parameters.
    """

    def __init__(self, accounts: Mapping[str, str], storage: Storage | None = None,
                 params: EngineParams = EngineParams()) -> None:
        self.accounts = accounts
        self.storage = storage
        self.params = params

    # ------------------------------------------------------------------ public
    def run(self, rec: Recording) -> RunResult:
        """Process one recording end to end and return everything it produced."""
        t0 = time.perf_counter()
        store, p = rec.store, self.params
        grid = to_grid(rec.plates, len(store.plates), rec.meta.plate_rate_hz, rec.meta.duration_s)
        changes = detect_plate_changes(grid, p.weight)
        vision = see_people(rec.depth, store, p.vision) if p.people == "vision" and rec.depth is not None else None
        if vision is not None:  # the linker joins fragments; vision heights are measured, so they weigh more
            people = resolve_tangles(link_people(vision.observations, replace(p.linker, height_weight=p.vision_height_weight)),
                                     p.reid)
        else:
            people = resolve_tangles(link_people(rec.people, p.linker), p.reid)
        events = build_shelf_events(changes, grid, store, people, p.shelf)
        crossings = detect_crossings(people, store.gates)
        t_perception = time.perf_counter() - t0
        first_row, last_seen_s = _person_spans(people)
        state = _State(live=LivePlanogram.from_facings(rec.meta.planogram), events=list(events),
                       first_row=first_row, last_seen_s=last_seen_s)
        state.rejections.update(rec.rejections)
        for _t, _rank, kind, item in self._timeline(rec, people, first_row, crossings, events):
            if kind == "scan":
                self._on_scan(state, *cast(tuple[float, str, str], item))
            elif kind == "appear":
                self._on_appear(state, rec, people, *cast(tuple[int, float], item))
            elif kind == "cross":
                self._on_cross(state, rec, cast(GateCrossing, item))
            else:
                self._on_shelf_event(state, rec, people, cast(ShelfEvent, item))
        for sid in [s for s, v in state.sessions.items() if v.exit_t_s is None]:
            state.rejections["sessions: closed at end of recording (no exit seen)"] += 1
            self._close(state, rec, sid, rec.meta.duration_s)
        for _t, _token, _gate in state.pending:
            state.rejections["scans: nobody entered after the scan"] += 1
        if self.storage is not None:
            self.storage.set_stock(state.live.stock_rows())
        stats = {
            "plate_samples": float(len(rec.plates)),
            "perception_s": t_perception,
            "total_s": time.perf_counter() - t0,
            "persons": float(len(people.ids())),
            "shelf_events": float(len(state.decided)),
        }
        if vision is not None:
            stats.update({f"vision_{k}": float(v) for k, v in vision.stats.items()})
        return RunResult(
            recording=rec.meta.name,
            sessions=tuple(SessionInfo(s.session_id, s.account_id, s.token, s.entry_t_s, s.exit_t_s)
                           for s in state.sessions.values()),
            receipts=tuple(state.receipts),
            shelf_events=tuple(state.decided),
            attributions=tuple(state.attributions),
            review=tuple(state.review),
            rejections={k: v for k, v in sorted(state.rejections.items()) if v},
            stats=stats,
            people_source="vision" if vision is not None else "tracker",
            vision=vision,
        )

    # ------------------------------------------------------------------ timeline
    @staticmethod
    def _timeline(rec: Recording, people: People, first_row: dict[int, int], crossings: list[GateCrossing],
                  events: list[ShelfEvent]) -> list[tuple[float, int, str, object]]:
        items: list[tuple[float, int, str, object]] = []
        for gate, t, token in zip(rec.scans.gate_id, rec.scans.t_s, rec.scans.token, strict=True):
            items.append((float(t), 0, "scan", (float(t), str(token), str(gate))))
        for pid, row in first_row.items():
            items.append((float(people.obs.t_s[row]), 1, "appear", (pid, float(people.obs.t_s[row]))))
        for c in crossings:
            items.append((c.t_s, 2 if c.kind == "entry" else 4, "cross", c))
        for ev in events:
            items.append((ev.t_end_s, 3, "shelf", ev))
        items.sort(key=lambda x: (x[0], x[1]))
        return items

    # ------------------------------------------------------------------ gates and sessions
    def _on_scan(self, state: _State, t: float, token: str, gate: str) -> None:
        account = self.accounts.get(token)
        if account is None:
            state.rejections["scans: token matches no account"] += 1
            log.warning("scan at %.2fs on gate %s: token %r matches no account; refused", t, gate, token[:12])
            return
        state.pending.append((t, token, gate))

    def _on_appear(self, state: _State, rec: Recording, people: People, pid: int, t: float) -> None:
        """A person first seen inside the store: if a shopper's tracking was lost, this may be them.

        Someone first seen outside the entry line, or on it, is about to enter, not lost.
        """
        xy = people.obs.head_xyz_m[state.first_row[pid], :2].astype(float)
        for g in rec.store.gates:
            inward = float(np.dot(xy - np.asarray(g.a_xy_m), np.asarray(g.inward_xy)))
            if g.kind == "entry" and _segment_distance(xy, g.a_xy_m, g.b_xy_m) < 1.0 and inward < 0.3:
                return
        h = people.height_m.get(pid)
        best, best_dh = None, self.params.adopt_max_height_m
        for s in state.sessions.values():
            if s.exit_t_s is not None or state.last_seen_s.get(s.person, -np.inf) >= t - 0.5:
                continue  # closed, or its person is still being tracked
            hs = people.height_m.get(s.person)
            if h is not None and hs is not None and abs(h - hs) <= best_dh:
                best, best_dh = s, abs(h - hs)
        if best is not None:
            state.rejections["tracking: shopper re-identified after tracking loss"] += 1
            state.by_person.pop(best.person, None)
            best.person = pid
            state.by_person[pid] = best.session_id

    def _on_cross(self, state: _State, rec: Recording, c: GateCrossing) -> None:
        if c.kind == "entry":
            window = self.params.scan_link_window_s
            for i, (t, token, _gate) in enumerate(state.pending):
                if c.t_s - window <= t <= c.t_s:
                    state.pending.pop(i)
                    self._open(state, rec, c.person, token, c.t_s)
                    return
            state.rejections["entries: person entered without a scan"] += 1
            return
        sid = state.by_person.get(c.person)
        if sid is not None and state.sessions[sid].exit_t_s is None:
            self._close(state, rec, sid, c.t_s)

    def _open(self, state: _State, rec: Recording, person: int, token: str, t: float) -> None:
        sid = f"{rec.meta.name}/s{len(state.sessions) + 1}"
        account = self.accounts[token]
        state.sessions[sid] = _Session(sid, account, token, person, t)
        state.by_person[person] = sid
        if self.storage is not None:
            self.storage.open_session(sid, account, rec.meta.name, t)

    def _close(self, state: _State, rec: Recording, sid: str, t: float) -> None:
        s = state.sessions[sid]
        s.exit_t_s = t
        receipt = make_receipt(rec.store, sid, s.account_id, s.cart, s.entry_t_s, t)
        state.receipts.append(receipt)
        if self.storage is not None:
            self.storage.close_session(sid, t, receipt)

    # ------------------------------------------------------------------ shelf events
    def _on_shelf_event(self, state: _State, rec: Recording, people: People, ev: ShelfEvent) -> None:
        p = self.params
        if ev.event_id in state.deferred:
            ev = merge_events(state.deferred.pop(ev.event_id), ev)
            if abs(ev.delta_g) < p.shelf.min_event_g:  # a lean and its release: nothing moved
                state.rejections["events: weight change undone (hand leaning on the shelf)"] += 1
                return
        session_p = self._session_probs(state, rec, people, ev)
        sid, s_conf = max(session_p.items(), key=lambda kv: kv[1])
        cart = state.sessions[sid].cart if sid is not None else {}
        hyps = identify_products(ev, rec.store, state.live, cart, p.product)
        best = hyps[0]
        if not best.items:
            cont = self._continuation(state, rec, ev, sid)
            if cont is not None:  # an item resting on the plate, or a hand leaning on it: decide with what follows
                state.deferred[cont.event_id] = ev
                state.rejections["events: unexplained change merged with what followed"] += 1
                return
        state.decided.append(ev)
        alternatives = tuple((h.describe(), round(h.probability, 4)) for h in hyps[1:4])
        parts = self._parts(state, rec, people, ev, best, session_p) if best.items else [(None, 0, None, sid, s_conf)]
        for upc, q, src, part_sid, part_conf in parts:
            att = Attribution(
                event_id=ev.event_id, t_s=ev.t_end_s, kind=ev.kind, items=((upc, q),) if upc else (),
                product_confidence=best.probability, session_id=part_sid, shopper_confidence=part_conf,
                alternatives=alternatives,
            )
            state.attributions.append(att)
            if upc is not None and src is not None:
                self._apply(state, ev, upc, q, src, part_sid, att.confidence)
            if att.confidence < p.review_threshold or part_sid is None or upc is None:
                self._review(state, rec, ev, att, hyps, session_p)
        if self.storage is not None:
            self.storage.log_shelf_event(ev, rec.meta.name, state.attributions[-1])

    def _session_probs(self, state: _State, rec: Recording, people: People, ev: ShelfEvent) -> dict[str | None, float]:
        """Probability of each open session (None: nobody linked) having done ``ev``."""
        out: dict[str | None, float] = {}
        for pid, prob in attribute_shopper(ev, rec.store, people, self.params.shopper).items():
            sid = state.by_person.get(pid)
            if sid is not None and state.sessions[sid].exit_t_s is not None:
                sid = None
            out[sid] = out.get(sid, 0.0) + prob
        return out

    def _parts(self, state: _State, rec: Recording, people: People, ev: ShelfEvent, best: Hypothesis,
               session_p: dict[str | None, float]) -> list[tuple[str | None, int, Source | None, str | None, float]]:
        """Who gets which units of the best hypothesis.

        Two products from different plates are attributed separately, each by the hands at its
        own plates (two shoppers at one shelf at once). Several units of one product go to two
        shoppers when a second shopper's hand was nearly as likely there. Otherwise everything
        goes to the most likely shopper.
        """
        units: list[tuple[str, int, Source]] = []
        if len(best.items) < len(best.sources):  # a pair of the same product from two sources
            units = [(best.items[0][0], 1, src) for src in best.sources]
        else:
            units = [(upc, q, src) for (upc, q), src in zip(best.items, best.sources, strict=True)]
        sid, conf = max(session_p.items(), key=lambda kv: kv[1])
        if len(units) >= 2 and len({src.plates for _, _, src in units}) == len(units):
            out: list[tuple[str | None, int, Source | None, str | None, float]] = []
            for upc, q, src in units:
                sub = _restrict(ev, src.plates)
                sp = self._session_probs(state, rec, people, sub) if sub is not ev else session_p
                s_sid, s_conf = max(sp.items(), key=lambda kv: kv[1])
                out.append((upc, q, src, s_sid, s_conf))
            return out
        ranked = sorted(((k, v) for k, v in session_p.items() if k is not None), key=lambda kv: -kv[1])
        if len(units) == 1 and units[0][1] >= 2:
            upc, q, src = units[0]
            later = (q + 1) // 2
            t_first = ev.t_first_change_s
            if t_first is not None and ev.t_key_s - t_first >= self.params.split_gap_s:
                # units lifted one after the other: who was at the shelf when the first one went?
                early_p = self._session_probs(state, rec, people, replace(ev, t_change_s=t_first))
                e_sid, e_conf = max(early_p.items(), key=lambda kv: kv[1])
                if e_sid != sid:
                    return [(upc, later, src, sid, conf), (upc, q - later, src, e_sid, e_conf)]
            if len(ranked) >= 2 and ranked[1][1] >= self.params.split_min_p:
                return [(upc, later, src, ranked[0][0], ranked[0][1]), (upc, q - later, src, ranked[1][0], ranked[1][1])]
        return [(upc, q, src, sid, conf) for upc, q, src in units]

    def _continuation(self, state: _State, rec: Recording, ev: ShelfEvent, sid: str | None) -> ShelfEvent | None:
        """The next event on the same shelf and neighbouring plates soon after, if deciding the two
        together makes sense: the same direction (the rest of a change: an item rested on the
        plate, then lifted), the opposite direction undoing it (a lean and its release), or any
        change whose sum with this one a product explains (a lean released as the item left)."""
        near = {pl.plate + d for pl in ev.plates for d in (-1, 0, 1)}
        for nxt in state.events:
            if nxt.t_end_s <= ev.t_end_s or nxt.event_id == ev.event_id:
                continue
            if nxt.t_start_s - ev.t_end_s > self.params.continuation_s:
                break
            if (nxt.gondola, nxt.shelf) != (ev.gondola, ev.shelf) or not near & {pl.plate for pl in nxt.plates}:
                continue
            merged = merge_events(ev, nxt)
            if nxt.kind == ev.kind or abs(merged.delta_g) < self.params.shelf.min_event_g:
                return nxt
            cart = state.sessions[sid].cart if sid is not None else {}
            explained = identify_products(merged, rec.store, state.live, cart, self.params.product)[0].items
            return nxt if explained else None
        return None

    def _apply(self, state: _State, ev: ShelfEvent, upc: str, q: int, src: Source, sid: str | None,
               conf: float) -> None:
        """Move ``q`` units of ``upc`` between the shelf (live planogram) and ``sid``'s cart."""
        sign = -1 if ev.kind == "pick" else 1
        state.live = state.live.take(src, q) if sign < 0 else state.live.put(upc, q, ev.plates)
        if sid is None:
            return
        s = state.sessions[sid]
        s.cart, unapplied = apply_line(s.cart, upc, -sign * q)
        if unapplied:
            state.rejections["carts: put-back of a unit the cart did not hold"] += -unapplied
        if self.storage is not None:
            self.storage.add_cart_line(sid, ev.event_id, upc, -sign * q, ev.t_end_s, conf)

    def _review(self, state: _State, rec: Recording, ev: ShelfEvent, att: Attribution, hyps: list[Hypothesis],
                session_p: dict[str | None, float]) -> None:
        reason = ("no shopper linked" if att.session_id is None else
                  "unknown product" if not att.items else "low confidence")
        item = ReviewItem(
            event_id=ev.event_id, t_s=ev.t_end_s, reason=reason, confidence=round(att.confidence, 4),
            evidence={
                "shelf": f"{ev.gondola}.{ev.shelf}",
                "plates": [str(p) for p in ev.plates],
                "plate_delta_g": [round(d, 1) for d in ev.plate_delta_g],
                "products": [(h.describe(), round(h.probability, 4)) for h in hyps[:4]],
                "shoppers": [(k, round(v, 4)) for k, v in sorted(session_p.items(), key=lambda kv: -kv[1])[:4]],
            },
        )
        state.review.append(item)
        if self.storage is not None:
            self.storage.add_review_item(item, rec.meta.name)


def _person_spans(people: People) -> tuple[dict[int, int], dict[int, float]]:
    """Each linked person's first observation row and last observation time (s)."""
    ids = people.person
    uniq, first = np.unique(ids, return_index=True)
    _, last_rev = np.unique(ids[::-1], return_index=True)
    last = len(ids) - 1 - last_rev
    return ({int(k): int(r) for k, r in zip(uniq, first, strict=True)},
            {int(k): float(people.obs.t_s[r]) for k, r in zip(uniq, last, strict=True)})


def _segment_distance(xy: object, a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance (m) from a point to the segment a-b on the floor."""
    p, a_, b_ = np.asarray(xy, float), np.asarray(a, float), np.asarray(b, float)
    u = b_ - a_
    k = float(np.clip(np.dot(p - a_, u) / np.dot(u, u), 0.0, 1.0))
    return float(np.linalg.norm(p - (a_ + k * u)))


def _restrict(ev: ShelfEvent, plates: tuple[PlateId, ...]) -> ShelfEvent:
    """The part of ``ev`` on ``plates`` (``ev`` itself if that part would be empty)."""
    wanted = set(plates)
    keep = [i for i, pl in enumerate(ev.plates) if pl in wanted]
    if not keep or len(keep) == len(ev.plates):
        return ev
    return replace(ev, plates=tuple(ev.plates[i] for i in keep), plate_delta_g=tuple(ev.plate_delta_g[i] for i in keep))


def merge_events(first: ShelfEvent, second: ShelfEvent) -> ShelfEvent:
    """One shelf event from two consecutive parts of the same change (per-plate deltas summed)."""
    deltas: dict[PlateId, float] = {}
    for e in (first, second):
        for pl, d in zip(e.plates, e.plate_delta_g, strict=True):
            deltas[pl] = deltas.get(pl, 0.0) + d
    plates = tuple(sorted(deltas))
    return ShelfEvent(second.event_id, second.gondola, second.shelf, min(first.t_start_s, second.t_start_s),
                      second.t_end_s, plates, tuple(deltas[pl] for pl in plates), second.t_change_s)
