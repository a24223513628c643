"""Simulated store-operation scenarios end to end: simulator -> recording -> engine (-> database).

Groups with one payer, a companion leaving early, a hand-off inside the group, second scans from
inside (with and without items), expired / replayed / forged entry tokens, an associate
restocking while customers shop, and a misplaced item bought by the next shopper. Each runs at
several seeds; the receipts are scored against the ground truth.
"""

from __future__ import annotations

import pytest

from walkout.core.store import Store
from walkout.engine.desk import demo_entry_desk, entry_desk
from walkout.engine.loop import Engine
from walkout.engine.result import RunResult
from walkout.eval.scoring import score_recording
from walkout.eval.truth import GroundTruth
from walkout.replay import open_database
from walkout.sim import simulate
from walkout.sim.scenario import Scenario, ScenarioEvent, ScenarioShopper

SEEDS = [0, 1, 2]


def _pick(store: Store, shopper: int, facing: int, kind: str = "pick", n: int = 1) -> ScenarioEvent:
    f = store.planogram[facing]
    return ScenarioEvent(shopper, kind, (f.upc,) * n, f.plates[:1])  # type: ignore[arg-type]


def _run(store: Store, scenario: Scenario, seed: int) -> tuple[GroundTruth, RunResult]:
    rec, truth = simulate(scenario, store, seed)
    return truth, Engine(demo_entry_desk()).run(rec)


def _perfect(store: Store, truth: GroundTruth, result: RunResult) -> None:
    score = score_recording(truth, result, store)
    assert (score.fp, score.fn) == (0, 0), [e.describe() for e in score.errors]


@pytest.mark.parametrize("seed", SEEDS)
def test_group_of_three_one_payer_companion_leaves_early_and_hands_off(store: Store, seed: int) -> None:
    shoppers = (
        ScenarioShopper("mum", "demo-001"),
        ScenarioShopper("kid", "demo-001", payer=0),
        ScenarioShopper("dad", "demo-001", payer=0),
    )
    events = (
        _pick(store, 1, 10),  # the kid takes one thing and leaves early
        _pick(store, 2, 20),  # dad takes something ...
        _pick(store, 0, 3),
        _pick(store, 0, 30),
        _pick(store, 0, 20, "putback"),  # ... and hands it to mum, who puts it back
        _pick(store, 0, 40),
    )
    truth, result = _run(store, Scenario("family", store.planogram, shoppers, events), seed)
    (session,) = result.sessions
    assert session.account_id == "demo-001" and session.members == 3
    kid, last = truth.shoppers[1].exit_t_s, max(s.exit_t_s for s in truth.shoppers)
    assert kid < last - 5.0  # the kid really left early ...
    assert session.exit_t_s == pytest.approx(last, abs=1.0)  # ... and the session ended with the last member
    (receipt,) = result.receipts
    f = store.planogram
    assert receipt.quantities() == {f[10].upc: 1, f[3].upc: 1, f[30].upc: 1, f[40].upc: 1}
    _perfect(store, truth, result)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("size", [2, 4])
def test_groups_of_two_to_four_get_one_receipt(store: Store, seed: int, size: int) -> None:
    shoppers = (ScenarioShopper("payer", "demo-005"),) + tuple(
        ScenarioShopper(f"c{i}", "demo-005", payer=0) for i in range(1, size)
    )
    events = tuple(_pick(store, i, 5 + 7 * i) for i in range(size))
    truth, result = _run(store, Scenario(f"group-{size}", store.planogram, shoppers, events), seed)
    assert [(s.account_id, s.members) for s in result.sessions] == [("demo-005", size)]
    assert len(result.receipts) == 1 and sum(result.receipts[0].quantities().values()) == size
    _perfect(store, truth, result)


@pytest.mark.parametrize("seed", SEEDS)
def test_second_scan_from_inside_deletes_an_empty_session_and_is_refused_with_items(store: Store, seed: int) -> None:
    shoppers = (
        ScenarioShopper("changed-mind", "demo-003", rescan="empty"),
        ScenarioShopper("double", "demo-004", rescan="with_items"),
    )
    truth, result = _run(store, Scenario("rescan", store.planogram, shoppers, (_pick(store, 1, 12),)), seed)
    deleted, kept = result.sessions
    assert (deleted.account_id, deleted.deleted, deleted.exit_t_s) == ("demo-003", True, None)
    assert (kept.account_id, kept.deleted) == ("demo-004", False)
    assert [r.session_id for r in result.receipts] == [kept.session_id]
    assert result.rejections["scans: scanned again from inside with an empty cart: session deleted"] == 1
    assert result.rejections["scans: already inside with items in the cart: second scan refused"] == 1
    _perfect(store, truth, result)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fault", ["expired", "forged"])
def test_expired_and_forged_tokens_are_refused_then_a_fresh_one_admits(store: Store, seed: int, fault: str) -> None:
    shoppers = (ScenarioShopper("a", "demo-007", scan_fault=fault),)  # type: ignore[arg-type]
    truth, result = _run(store, Scenario(f"fault-{fault}", store.planogram, shoppers, (_pick(store, 0, 8),)), seed)
    assert result.rejections == {f"scans: refused ({fault})": 1}
    assert [s.token for s in result.sessions] == [truth.shoppers[0].token]
    _perfect(store, truth, result)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_replayed_token_is_refused(store: Store, seed: int) -> None:
    shoppers = (ScenarioShopper("payer", "demo-008"), ScenarioShopper("friend", "demo-008", payer=0, scan_fault="replayed"))
    truth, result = _run(store, Scenario("replay", store.planogram, shoppers, (_pick(store, 1, 8),)), seed)
    assert result.rejections["scans: refused (replayed)"] == 1
    assert [s.members for s in result.sessions] == [2]
    _perfect(store, truth, result)


@pytest.mark.parametrize("seed", SEEDS)
def test_associate_restocks_while_customers_shop(store: Store, seed: int, tmp_path) -> None:
    f = store.planogram
    shoppers = (ScenarioShopper("c1", "demo-010"), ScenarioShopper("staff", "demo-060", role="associate"),
                ScenarioShopper("c2", "demo-011"))
    events = (_pick(store, 0, 15), _pick(store, 1, 25, "putback", 2), _pick(store, 2, 25), _pick(store, 2, 35))
    rec, truth = simulate(Scenario("restock", f, shoppers, events), store, seed)
    with open_database(f"sqlite:///{tmp_path / 'w.db'}") as db:
        result = Engine(entry_desk(db), storage=db).run(rec)
        stock = {(p, u): c for p, u, c in db.stock()}
    staff = [s for s in result.sessions if s.kind == "staff"]
    assert [s.account_id for s in staff] == ["demo-060"]
    assert all(r.account_id != "demo-060" for r in result.receipts)  # staff are never charged
    restocked = str(f[25].plates[0]), f[25].upc
    assert stock[restocked] == f[25].count + 2 - 1  # two brought in, one bought
    _perfect(store, truth, result)


@pytest.mark.parametrize("seed", SEEDS)
def test_misplaced_item_is_bought_by_the_next_shopper(store: Store, seed: int) -> None:
    f = store.planogram
    x, elsewhere = f[12], f[40]
    shoppers = (ScenarioShopper("first", "demo-012"), ScenarioShopper("next", "demo-013"))
    events = (
        ScenarioEvent(0, "pick", (x.upc,), x.plates[:1]),
        ScenarioEvent(0, "putback", (x.upc,), elsewhere.plates[:1]),  # left on another product's plate
        ScenarioEvent(1, "pick", (x.upc,), elsewhere.plates[:1]),  # the next shopper takes it from there
    )
    truth, result = _run(store, Scenario("misplaced", f, shoppers, events), seed)
    assert any(e.misplaced for e in truth.events)
    by_account = {r.account_id: r.quantities() for r in result.receipts}
    assert by_account == {"demo-012": {}, "demo-013": {x.upc: 1}}
    _perfect(store, truth, result)
