"""The live engine: a recording fed in 0.2 s pieces gives the batch engine's sessions and receipts,
and publishes each change once."""

from __future__ import annotations

from typing import Any

import pytest

from walkout.core.frames import GateScans, PersonObservations, PlateSamples
from walkout.core.store import Store
from walkout.engine.desk import demo_entry_desk
from walkout.engine.live import LiveEngine
from walkout.engine.loop import Engine
from walkout.io.recording import Recording
from walkout.sim import random_scenario, simulate
from walkout.sim.scenario import Scenario, ScenarioEvent, ScenarioShopper


def _piece(rec: Recording, t0: float, t1: float) -> tuple[PlateSamples, GateScans, PersonObservations]:
    p, s, o = rec.plates, rec.scans, rec.people
    mp, ms, mo = ((x.t_s > t0) & (x.t_s <= t1) for x in (p, s, o))
    return (PlateSamples(p.plate_ids, p.plate[mp], p.t_s[mp], p.mass_g[mp]),
            GateScans(s.gate_id[ms], s.t_s[ms], s.token[ms]),
            PersonObservations(o.t_s[mo], o.track_id[mo], o.head_xyz_m[mo], o.left_hand_xyz_m[mo], o.right_hand_xyz_m[mo]))


def _live(store: Store, rec: Recording, step_s: float = 0.2) -> tuple[list[dict[str, Any]], LiveEngine]:
    messages: list[dict[str, Any]] = []
    engine = LiveEngine(store, demo_entry_desk(), messages.append)
    engine.start_day(rec.meta.name, rec.meta.planogram, rec.meta.start_unix_s, wall_start_unix_s=1000.0)
    t = 0.0
    while t < rec.meta.duration_s:
        engine.feed(*_piece(rec, t, t + step_s))
        engine.tick()
        t += step_s
    engine.end_day()
    return messages, engine


@pytest.mark.parametrize("seed", [0, 1])
def test_live_day_ends_with_the_batch_engines_receipts(store: Store, seed: int) -> None:
    rec, _truth = simulate(random_scenario(store, 3, 40.0, seed), store, seed)
    messages, _ = _live(store, rec, step_s=0.5)
    batch = Engine(demo_entry_desk()).run(rec)
    receipts = {m["session_id"]: {ln["upc"]: ln["quantity"] for ln in m["lines"]} for m in messages if m["type"] == "receipt"}
    assert receipts == {r.session_id: r.quantities() for r in batch.receipts}
    last_cart: dict[str, dict[str, int]] = {}
    for m in messages:
        if m["type"] == "cart":
            last_cart[m["session_id"]] = {ln["upc"]: ln["quantity"] for ln in m["cart"]}
    assert last_cart == receipts  # the carts the customers watched end as their receipts
    final_items: dict[int, list[list[object]]] = {}
    for m in messages:
        if m["type"] == "shelf_event":
            assert final_items.get(m["event_id"]) != m["items"]  # an event is published again only when it changed
            final_items[m["event_id"]] = m["items"]
    assert final_items == {a.event_id: [[u, q] for u, q in a.items] for a in batch.attributions}


def test_carts_change_when_the_weight_settles_not_at_the_end(store: Store) -> None:
    f = store.planogram
    scenario = Scenario("live-1", f, (ScenarioShopper("a", "demo-030"),),
                        (ScenarioEvent(0, "pick", (f[4].upc,), f[4].plates[:1]),
                         ScenarioEvent(0, "pick", (f[9].upc,), f[9].plates[:1]),
                         ScenarioEvent(0, "putback", (f[4].upc,), f[4].plates[:1])))
    rec, truth = simulate(scenario, store, 4)
    messages, engine = _live(store, rec)
    carts = [(m["t_s"], sum(ln["quantity"] for ln in m["cart"])) for m in messages if m["type"] == "cart"]
    assert [n for _, n in carts] == [0, 1, 2, 1]  # opened empty, two picks, one put-back
    settled = [e.t_s for e in truth.events]
    for (t_cart, _), t_true in zip(carts[1:], settled, strict=True):
        assert t_true <= t_cart < t_true + 4.0  # dated by its own event, once its weight was steady again
    assert all(m["account_id"] == "demo-030" for m in messages if m["type"] in ("cart", "session", "receipt"))
    people = [m for m in messages if m["type"] == "people"]
    assert people and all(len(m["people"]) <= 1 for m in people)
    assert max(engine.tick_s) < 2.0  # a 1-shopper day stays cheap to re-run (not a benchmark)


def test_ticking_before_a_day_starts_is_refused(store: Store) -> None:
    engine = LiveEngine(store, demo_entry_desk(), lambda m: None)
    with pytest.raises(RuntimeError, match="no store day started"):
        engine.tick()


def test_stock_messages_follow_the_picks(store: Store) -> None:
    f = store.planogram
    scenario = Scenario("live-stock", f, (ScenarioShopper("a", "demo-031"),),
                        (ScenarioEvent(0, "pick", (f[7].upc,) * 2, f[7].plates[:1]),))
    rec, _ = simulate(scenario, store, 2)
    messages, _ = _live(store, rec, step_s=0.5)
    stock = [m for m in messages if m["type"] == "stock"]
    assert [(m["upc"], m["count"]) for m in stock] == [(f[7].upc, f[7].count - 2)]
