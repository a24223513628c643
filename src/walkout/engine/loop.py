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
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol, cast

import numpy as np

from walkout.carts.cart import apply_line
from walkout.carts.receipt import Receipt, make_receipt
from walkout.core.geometry import segment_distance_m
from walkout.core.store import PlateId
from walkout.engine.params import EngineParams
from walkout.engine.result import Attribution, PersonPosition, ReviewItem, RunResult, SessionInfo
from walkout.engine.sessions import EntryVerifier, GateState, PendingScan, Session, is_double_scan
from walkout.events.shelf import build_shelf_events
from walkout.events.types import ShelfEvent
from walkout.fusion.product import Hypothesis, ProductParams, identify_products
from walkout.fusion.shopper import attribute_shopper
from walkout.inventory.planogram import LivePlanogram, Source
from walkout.io.recording import Recording
from walkout.perception.people.gates import GateCrossing, detect_crossings
from walkout.perception.people.linker import People, link_people, resolve_tangles
from walkout.perception.people.vision import see_people
from walkout.perception.weight.changes import SteadyCache, detect_plate_changes
from walkout.perception.weight.grid import PlateGrid, to_grid

log = logging.getLogger(__name__)

#: units of each product an associate is assumed to carry when restocking its facing
RESTOCK_TOTE_UNITS = 24
#: product identification for an associate: restocks put up to 12 units at once, any count alike
RESTOCK_PRODUCT = ProductParams(max_units=12, unit_prior=(1 / 12,) * 12)


class Storage(Protocol):
    """What the engine persists (implemented by :class:`walkout.engine.db.Database`)."""

    def open_session(self, session_id: str, account_id: str, recording: str, entry_t_s: float,
                     kind: str = "customer") -> object: ...

    def add_member(self, session_id: str, member_no: int, entry_t_s: float) -> object: ...

    def exit_member(self, session_id: str, member_no: int, exit_t_s: float) -> object: ...

    def exit_session(self, session_id: str, exit_t_s: float) -> object: ...

    def delete_session(self, session_id: str) -> object: ...

    def log_entry_scan(self, recording: str, gate_id: str, t_s: float, account_id: str | None, code: str,
                       reason: str, session_id: str | None = None) -> object: ...

    def add_stock_movement(self, recording: str, event_id: int, plate_id: str, upc: str, delta: int, reason: str,
                           session_id: str | None, t_s: float, misplaced: bool = False) -> object: ...

    def add_cart_line(self, session_id: str, event_id: int, upc: str, quantity_delta: int, t_s: float,
                      confidence: float) -> None: ...

    def add_review_item(self, item: ReviewItem, recording: str = "") -> object: ...

    def log_shelf_event(self, event: ShelfEvent, recording: str, attribution: Attribution | None = None) -> object: ...

    def set_stock(self, rows: list[tuple[str, str, int]]) -> object: ...


@dataclass
class _State(GateState):
    live: LivePlanogram = field(default_factory=lambda: LivePlanogram((), ()))
    grid: PlateGrid | None = None
    first_row: dict[int, int] = field(default_factory=dict)
    last_seen_s: dict[int, float] = field(default_factory=dict)
    events: list[ShelfEvent] = field(default_factory=list)
    deferred: dict[int, ShelfEvent] = field(default_factory=dict)
    decided: list[ShelfEvent] = field(default_factory=list)
    attributions: list[Attribution] = field(default_factory=list)
    review: list[ReviewItem] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    #: live: events settling after this time rest on a provisionally settled plate (open_window)
    provisional_after_s: float = np.inf


class Engine:
    """Runs recordings through the pipeline.

    Args:
        desk: verifies the tokens the entry scanners read (signed, rotating app tokens and staff
            badges; :class:`walkout.carts.entry.EntryDesk`, see :func:`walkout.engine.desk.entry_desk`).
        storage: optional persistence; every scan, session, member, cart line, stock movement,
            review item and exit is written. Receipts are finalized (stored, charged, e-mailed) by
            :mod:`walkout.operations.checkout`, after open review tasks are decided.
        params: engine parameters.
    """

    def __init__(self, desk: EntryVerifier, storage: Storage | None = None,
                 params: EngineParams = EngineParams()) -> None:
        self.desk = desk
        self.storage = storage
        self.params = params

    # ------------------------------------------------------------------ public
    def run(self, rec: Recording, *, final: bool = True, steady: SteadyCache | None = None) -> RunResult:
        """Process one recording end to end and return everything it produced.

        Args:
            rec: the recording (or, live, what has arrived of the store day so far).
            final: the recording is complete: sessions still open are closed at its end and
                pending scans expire. ``False`` (a live prefix) leaves them open; their carts
                are in :attr:`RunResult.carts`.
            steady: live, the day's plate steadiness so far (extended here with what arrived since
                the last call, instead of recomputed over the whole day).
        """
        t0 = time.perf_counter()
        store, p = rec.store, self.params
        grid = to_grid(rec.plates, len(store.plates), rec.meta.plate_rate_hz, rec.meta.duration_s)
        # live (not final), a plate settles provisionally, sooner (docs/engine.md#live)
        changes = detect_plate_changes(grid, p.weight, open_end=not final,
                                       steady=None if steady is None else steady.update(grid.mass_g))
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
                       first_row=first_row, last_seen_s=last_seen_s, grid=grid)
        if not final and grid.t_s.shape[0]:  # a settled segment shorter than min_steady is provisional
            state.provisional_after_s = float(grid.t_s[max(0, grid.t_s.shape[0] - p.weight.min_steady)])
        state.rejections.update(rec.rejections)
        if self.storage is not None:  # the shelves as the recording starts (the operating planogram)
            self.storage.set_stock(state.live.stock_rows())
        for _t, _rank, kind, item in self._timeline(rec, people, first_row, crossings, events):
            if kind == "scan":
                self._on_scan(state, rec, people, *cast(tuple[float, str, str], item))
            elif kind == "appear":
                self._on_appear(state, rec, people, *cast(tuple[int, float], item))
            elif kind == "cross":
                self._on_cross(state, rec, cast(GateCrossing, item))
            else:
                self._on_shelf_event(state, rec, people, cast(ShelfEvent, item))
        if final:
            for sid in [s for s, v in state.sessions.items() if v.live]:
                state.rejections["sessions: closed at end of recording (no exit seen)"] += 1
                self._close(state, rec, sid, rec.meta.duration_s)
        self._expire_scans(state, rec, np.inf if final else rec.meta.duration_s)
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
            sessions=tuple(SessionInfo(s.session_id, s.account_id, s.token, s.entry_t_s, s.exit_t_s, s.kind,
                                       len(s.members), s.deleted) for s in state.sessions.values()),
            receipts=tuple(state.receipts),
            shelf_events=tuple(state.decided),
            attributions=tuple(state.attributions),
            review=tuple(state.review),
            rejections={k: v for k, v in sorted(state.rejections.items()) if v},
            stats=stats,
            people_source="vision" if vision is not None else "tracker",
            vision=vision,
            carts={sid: dict(s.cart) for sid, s in state.sessions.items() if s.live},
            positions=_positions(people, state),
            stock=tuple(state.live.stock_rows()),
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
    def _on_scan(self, state: _State, rec: Recording, people: People, t: float, token: str, gate_id: str) -> None:
        """A token read at a gate: verify it, then queue it for the next entry (or apply the
        double-scan rule). Every scan and the gate's answer is logged."""
        self._expire_scans(state, rec, t)
        verdict = self.desk.verify(token, rec.meta.start_unix_s + t)
        code: str = verdict.code
        reason, sid = verdict.reason, None
        if verdict.admitted and verdict.kind == "customer" and verdict.account_id is not None:
            gate = next((g for g in rec.store.gates if g.id == gate_id), None)
            twice = None if gate is None else is_double_scan(state, people, gate, t, verdict.account_id, self.params.gates)
            if twice is not None:
                sid, code = twice.session_id, "refused"
                if twice.cart:
                    reason = "already inside with items in the cart: second scan refused"
                else:
                    reason = "scanned again from inside with an empty cart: session deleted"
                    self._delete(state, twice)
                state.rejections[f"scans: {reason}"] += 1
        if code == "admitted":
            state.pending.append(PendingScan(t, gate_id, token, verdict))
        elif sid is None:
            state.rejections[f"scans: refused ({code})"] += 1
            log.info("scan at %.2fs on gate %s refused: %s", t, gate_id, reason)
        if self.storage is not None:
            self.storage.log_entry_scan(rec.meta.name, gate_id, t, verdict.account_id, code, reason, sid)

    def _expire_scans(self, state: _State, rec: Recording, t: float) -> None:
        window = self.params.gates.scan_link_window_s
        for p in [p for p in state.pending if p.t_s < t - window]:
            state.pending.remove(p)
            state.rejections["scans: nobody entered after the scan"] += 1

    def _on_appear(self, state: _State, rec: Recording, people: People, pid: int, t: float) -> None:
        """A person first seen inside the store: if a shopper's tracking was lost, this may be them.

        Someone first seen outside the entry line, or on it, is about to enter, not lost.
        """
        xy = people.obs.head_xyz_m[state.first_row[pid], :2].astype(float)
        for g in rec.store.gates:
            inward = float(np.dot(xy - np.asarray(g.a_xy_m), np.asarray(g.inward_xy)))
            if g.kind == "entry" and float(segment_distance_m(xy, g.a_xy_m, g.b_xy_m)) < 1.0 and inward < 0.3:
                return
        h = people.height_m.get(pid)
        best, best_dh = None, self.params.adopt_max_height_m
        for s in state.sessions.values():
            if not s.live:
                continue
            for person in s.inside:
                if state.last_seen_s.get(person, -np.inf) >= t - 0.5:
                    continue  # still being tracked
                hs = people.height_m.get(person)
                if h is not None and hs is not None and abs(h - hs) <= best_dh:
                    best, best_dh = (s, person), abs(h - hs)
        if best is not None:
            s, lost = best
            state.rejections["tracking: shopper re-identified after tracking loss"] += 1
            state.by_person.pop(lost, None)
            s.inside.discard(lost)
            s.members[pid] = s.members.pop(lost)
            s.inside.add(pid)
            state.by_person[pid] = s.session_id

    def _on_cross(self, state: _State, rec: Recording, c: GateCrossing) -> None:
        if c.kind == "entry":
            self._expire_scans(state, rec, c.t_s)
            if c.person in state.by_person and state.sessions[state.by_person[c.person]].live:
                return  # a member stepping back in: already inside
            if not state.pending:
                state.rejections["entries: person entered without a scan"] += 1
                return
            self._enter(state, rec, c.person, state.pending.pop(0), c.t_s)
            return
        sid = state.by_person.get(c.person)
        if sid is None or not state.sessions[sid].live:
            return
        s = state.sessions[sid]
        s.inside.discard(c.person)
        if self.storage is not None:
            self.storage.exit_member(sid, s.members[c.person], c.t_s)
        if not s.inside:
            self._close(state, rec, sid, c.t_s)

    def _enter(self, state: _State, rec: Recording, person: int, scan: PendingScan, t: float) -> None:
        """``person`` walked in on ``scan``: a new session, or a companion joining the account's group."""
        v = scan.verdict
        account = cast(str, v.account_id)
        kind: Literal["customer", "staff"] = "staff" if v.kind == "staff" else "customer"
        group = next((s for s in state.sessions.values() if s.live and s.account_id == account and s.kind == kind
                      and kind == "customer"), None)
        if group is None:
            sid = f"{rec.meta.name}/s{len(state.sessions) + 1}"
            group = Session(sid, account, scan.token, kind, t)
            state.sessions[sid] = group
            if self.storage is not None:
                self.storage.open_session(sid, account, rec.meta.name, t, kind)
        member_no = len(group.members)
        group.members[person] = member_no
        group.inside.add(person)
        state.by_person[person] = group.session_id
        if self.storage is not None:
            self.storage.add_member(group.session_id, member_no, t)

    def _delete(self, state: _State, s: Session) -> None:
        s.deleted = True
        for person in s.members:
            if state.by_person.get(person) == s.session_id:
                state.by_person.pop(person)
        s.inside.clear()
        if self.storage is not None:
            self.storage.delete_session(s.session_id)

    def _close(self, state: _State, rec: Recording, sid: str, t: float) -> None:
        """The last member left: the cart is final (the receipt is the engine's; finalization,
        payment and e-mail follow in :mod:`walkout.operations.checkout`)."""
        s = state.sessions[sid]
        s.exit_t_s = t
        s.inside.clear()
        if s.kind == "customer":
            state.receipts.append(make_receipt(rec.store, sid, s.account_id, s.cart, s.entry_t_s, t))
        if self.storage is not None:
            self.storage.exit_session(sid, t)

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
        cart = self._cart_of(state, sid, ev)
        staff = sid is not None and state.sessions[sid].kind == "staff"
        hyps = identify_products(ev, rec.store, state.live, cart, RESTOCK_PRODUCT if staff else p.product)
        best = hyps[0]
        if ev.t_end_s > state.provisional_after_s and best.probability * s_conf < p.live_min_confidence:
            return  # live, provisionally settled and no clear product yet: wait for the plate to settle fully
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
                self._apply(state, rec, ev, upc, q, src, part_sid, att.confidence)
            if att.confidence < p.review_threshold or part_sid is None or upc is None:
                self._review(state, rec, ev, att, hyps, session_p)
        if self.storage is not None:
            self.storage.log_shelf_event(ev, rec.meta.name, state.attributions[-1])

    @staticmethod
    def _cart_of(state: _State, sid: str | None, ev: ShelfEvent) -> Mapping[str, int]:
        """What the hand may be holding: the session's cart; an associate's tote holds stock of
        every product whose facing is on the event's plates (restocking)."""
        if sid is None:
            return {}
        s = state.sessions[sid]
        if s.kind == "staff":
            return {src.upc: RESTOCK_TOTE_UNITS for src in state.live.sources_near(ev.plates) if src.facing is not None}
        return s.cart

    def _session_probs(self, state: _State, rec: Recording, people: People, ev: ShelfEvent) -> dict[str | None, float]:
        """Probability of each open session (None: nobody linked) having done ``ev``."""
        out: dict[str | None, float] = {}
        for pid, prob in attribute_shopper(ev, rec.store, people, self.params.shopper).items():
            sid = state.by_person.get(pid)
            if sid is not None and not state.sessions[sid].live:
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
            cart = self._cart_of(state, sid, ev)
            explained = identify_products(merged, rec.store, state.live, cart, self.params.product)[0].items
            return nxt if explained else None
        return None

    def _apply(self, state: _State, rec: Recording, ev: ShelfEvent, upc: str, q: int, src: Source, sid: str | None,
               conf: float) -> None:
        """Move ``q`` units of ``upc`` between the shelf (live planogram) and ``sid``'s cart.

        A staff session (an associate restocking or facing) moves stock, never a cart.
        """
        sign = -1 if ev.kind == "pick" else 1
        state.live = state.live.take(src, q) if sign < 0 else state.live.put(upc, q, ev.plates)
        staff = sid is not None and state.sessions[sid].kind == "staff"
        if self.storage is not None:
            if sign < 0:
                plate, misplaced = src.plates[0], src.misplaced
            else:
                facing, plate = state.live.landing(upc, ev.plates)
                misplaced = facing is None
            reason = ("facing" if sign < 0 else "restock") if staff else ev.kind
            self.storage.add_stock_movement(rec.meta.name, ev.event_id, str(plate), upc, sign * q, reason, sid,
                                            ev.t_end_s, misplaced=misplaced)
        if sid is None or staff:
            return
        s = state.sessions[sid]
        s.cart, unapplied = apply_line(s.cart, upc, -sign * q)
        if unapplied:
            state.rejections["carts: put-back of a unit the cart did not hold"] += -unapplied
        if self.storage is not None:
            self.storage.add_cart_line(sid, ev.event_id, upc, -sign * q, ev.t_end_s, conf)

    def _review(self, state: _State, rec: Recording, ev: ShelfEvent, att: Attribution, hyps: list[Hypothesis],
                session_p: dict[str | None, float]) -> None:
        if att.session_id is not None and state.sessions[att.session_id].kind == "staff" and att.items:
            return  # an associate's restock or facing: stock moved, nobody charged
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
                "weight_trace": _weight_trace(state.grid, rec, ev),
            },
            session_id=att.session_id,
        )
        state.review.append(item)
        if self.storage is not None:
            self.storage.add_review_item(item, rec.meta.name)


def _positions(people: People, state: _State, recent_s: float = 1.0) -> tuple[PersonPosition, ...]:
    """Where each person seen in the last ``recent_s`` seconds was last seen, and their session."""
    if len(people.obs.t_s) == 0:
        return ()
    t_end = float(people.obs.t_s[-1])
    out = []
    for pid, t_last in state.last_seen_s.items():
        if t_last < t_end - recent_s:
            continue
        row = int(np.flatnonzero(people.person == pid)[-1])
        left, right = (None if not np.all(np.isfinite(h[row])) else tuple(float(v) for v in h[row])
                       for h in (people.obs.left_hand_xyz_m, people.obs.right_hand_xyz_m))
        x, y, z = (float(v) for v in people.obs.head_xyz_m[row])
        sid = state.by_person.get(pid)
        out.append(PersonPosition(pid, float(people.obs.t_s[row]), (x, y, z), (left, right),
                                  sid if sid is not None and state.sessions[sid].live else None,
                                  bool(people.tangled[row])))
    return tuple(out)


def _person_spans(people: People) -> tuple[dict[int, int], dict[int, float]]:
    """Each linked person's first observation row and last observation time (s)."""
    ids = people.person
    uniq, first = np.unique(ids, return_index=True)
    _, last_rev = np.unique(ids[::-1], return_index=True)
    last = len(ids) - 1 - last_rev
    return ({int(k): int(r) for k, r in zip(uniq, first, strict=True)},
            {int(k): float(people.obs.t_s[r]) for k, r in zip(uniq, last, strict=True)})


def _weight_trace(grid: PlateGrid | None, rec: Recording, ev: ShelfEvent, margin_s: float = 2.0,
                  rate_hz: float = 10.0) -> dict[str, object]:
    """The weight trace around an event for a reviewer: the event's plates and their neighbours
    on the shelf, from ``margin_s`` before the event to ``margin_s`` after, at ``rate_hz``
    (grams, 1 decimal)."""
    if grid is None or len(grid.t_s) == 0:
        return {}
    lo = int(np.searchsorted(grid.t_s, ev.t_start_s - margin_s))
    hi = int(np.searchsorted(grid.t_s, ev.t_end_s + margin_s, side="right"))
    step = max(1, round(rec.meta.plate_rate_hz / rate_hz))
    idx = np.arange(lo, max(lo + 1, hi), step).clip(0, len(grid.t_s) - 1)
    near = {pl.plate + d for pl in ev.plates for d in (-1, 0, 1)}
    plates = [i for i, p in enumerate(rec.store.plates)
              if (p.id.gondola, p.id.shelf) == (ev.gondola, ev.shelf) and p.id.plate in near]
    return {
        "t_s": [round(float(t), 2) for t in grid.t_s[idx]],
        "mass_g": {str(rec.store.plates[i].id): [round(float(m), 1) for m in grid.mass_g[idx, i]] for i in plates},
    }


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
