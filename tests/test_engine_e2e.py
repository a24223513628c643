"""End-to-end properties through the public path: simulate -> Engine.run -> score_recording.

Small scenarios only (a few seconds in total); the full AiFi replay is a benchmark
(``benchmarks/bench_replay.py``), not a test.
"""

from __future__ import annotations

import math

import pytest

from walkout.carts.entry import EntryDesk
from walkout.carts.receipt import tax_cents
from walkout.core.store import Store
from walkout.engine.desk import demo_entry_desk
from walkout.engine.loop import Engine
from walkout.engine.result import RunResult
from walkout.eval import link_sessions, score_recording
from walkout.io.accounts import demo_accounts
from walkout.sim import random_scenario, simulate
from walkout.sim.scenario import Scenario, ScenarioShopper


@pytest.fixture()
def desk() -> EntryDesk:
    """The engine's entry desk over the demo accounts (fresh: no token used yet)."""
    return demo_entry_desk()


def _decisions(r: RunResult) -> tuple[object, ...]:
    """Everything a run decided (its stats hold wall-clock timings, so they are left out)."""
    return r.sessions, r.receipts, r.shelf_events, r.attributions, r.review, r.rejections


def test_shopper_who_takes_nothing_gets_an_empty_receipt(store: Store, desk: EntryDesk) -> None:
    customer = next(a for a in demo_accounts() if a.role == "customer")
    scenario = Scenario(
        name="browse-only",
        planogram=store.planogram,
        shoppers=(ScenarioShopper(key="browser", account_id=customer.account_id),),
        events=(),
        min_duration_s=30.0,
    )
    rec, truth = simulate(scenario, store, seed=3)
    result = Engine(desk).run(rec)
    assert [s.account_id for s in result.sessions] == [customer.account_id]
    assert [s.token for s in result.sessions] == [truth.shoppers[0].token]
    (receipt,) = result.receipts
    assert receipt.account_id == customer.account_id
    assert receipt.lines == () and receipt.total_cents == 0
    score = score_recording(truth, result, store)
    assert (score.tp, score.fp, score.fn) == (0, 0, 0)
    assert score.f1 == 1.0  # 0/0 = 1 convention


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_scenario_one_consistent_receipt_per_shopper(
    store: Store, desk: EntryDesk, seed: int
) -> None:
    rec, truth = simulate(random_scenario(store, 2, 60.0, seed), store, seed)
    result = Engine(desk).run(rec)
    assert len(truth.shoppers) == 2
    linked = link_sessions(truth, result.sessions)
    shoppers_with_receipt = sorted(linked[r.session_id] or "?" for r in result.receipts)
    assert shoppers_with_receipt == sorted(s.key for s in truth.shoppers)
    for r in result.receipts:
        lines = sum(ln.line_total_cents for ln in r.lines)
        assert r.subtotal_cents == lines
        assert r.total_cents == lines + r.tax_cents
        taxable = sum(ln.line_total_cents for ln in r.lines if ln.taxable)
        assert r.tax_cents == tax_cents(taxable, store.tax_rate)
        assert all(ln.quantity > 0 for ln in r.lines)
        assert len({ln.upc for ln in r.lines}) == len(r.lines)
    score = score_recording(truth, result, store)
    assert score.tp > 0  # the engine found most of what was taken (weak sanity bound, not an accuracy gate)


def test_same_recording_twice_gives_identical_results(store: Store, desk: EntryDesk) -> None:
    rec, _ = simulate(random_scenario(store, 2, 60.0, seed=5), store, seed=5)
    first, second = Engine(demo_entry_desk()).run(rec), Engine(demo_entry_desk()).run(rec)
    assert first.receipts, "a scenario without receipts cannot show determinism"
    assert _decisions(first) == _decisions(second)


def test_engine_persists_sessions_receipts_events_and_stock(tmp_path):
    """Everything the engine decides is in the database after a run (SQLite file)."""
    from walkout.engine.desk import entry_desk
    from walkout.engine.loop import Engine
    from walkout.io import load_embedded_store
    from walkout.operations.checkout import Checkout
    from walkout.operations.ledger import LedgerProvider
    from walkout.replay import open_database
    from walkout.sim import random_scenario, simulate

    store = load_embedded_store()
    rec, _truth = simulate(random_scenario(store, 2, 60.0, 5), store, 5)
    with open_database(f"sqlite:///{tmp_path / 'w.db'}") as db:
        result = Engine(entry_desk(db), storage=db).run(rec)
        assert result.receipts
        for r in result.receipts:  # the carts are final; the receipt waits for checkout
            stored = db.session(r.session_id)
            assert stored is not None and (stored.status, stored.exit_t_s) == ("exited", r.exit_t_s)
            assert db.cart(r.session_id) == r.quantities()
        outcomes = Checkout(db, store, LedgerProvider(db), None).finalize_due(now_s=math.inf)
        assert sorted(o.session_id for o in outcomes) == sorted(r.session_id for r in result.receipts)
        for r in result.receipts:  # checkout stores exactly the receipt the engine computed
            assert db.receipt(r.session_id) == r
        logged = db.shelf_events(rec.meta.name)
        assert [e.event_id for e in logged] == [e.event_id for e in result.shelf_events]
        assert db.stock()
        assert len(db.open_review_items(rec.meta.name)) == len(result.review)
