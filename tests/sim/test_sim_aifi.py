"""AiFi replays: label quirks, per-recording planogram, ordering and ground truth."""

from __future__ import annotations

from collections import Counter

import pytest

from walkout.core.store import PlateId, Store
from walkout.eval.truth import GroundTruth
from walkout.io import Recording
from walkout.io.accounts import demo_accounts
from walkout.sim import simulate
from walkout.sim.aifi import aifi_scenario, split_claims
from walkout.sim.labels import LabelEvent, LabelProduct, LabelRecording
from walkout.sim.scenario import Scenario

Runs = dict[str, tuple[Recording, GroundTruth]]

#: labels of the dev file that cannot be replayed, and why
EXPECTED_SKIPS = {
    ("TEAM-PEI-JD-1", 4): "unknown product UPC 'UNKOWN'",
    ("BASELINE-6", 5): "plates the store does not have: 2.5.12",
    ("BASELINE-6", 6): "plates the store does not have: 2.5.12",
    ("BASELINE-19", 1): "label has no products",
}


def P(text: str) -> PlateId:
    return PlateId.parse(text)


def _truth(runs: Runs, name: str, label_id: int) -> list:
    return [e for e in runs[name][1].events if e.label_event_id == label_id]


def test_skipped_labels_are_exactly_the_unreplayable_ones(aifi_runs: Runs) -> None:
    got = {(name, s.label_event_id): s.reason for name, (_, t) in aifi_runs.items() for s in t.skipped_labels}
    assert set(got) == set(EXPECTED_SKIPS)
    for key, fragment in EXPECTED_SKIPS.items():
        assert fragment in got[key]


def test_every_label_is_replayed_or_skipped(
    labels: tuple[LabelRecording, ...], scenarios: dict[str, Scenario], aifi_runs: Runs
) -> None:
    assert list(aifi_runs) == [r.name for r in labels]
    for rec in labels:
        sc = scenarios[rec.name]
        assert len(sc.events) + len(sc.skipped_labels) == len(rec.events)
        truth = aifi_runs[rec.name][1]
        assert len(truth.events) == sum(len(set(e.upcs)) for e in sc.events)


def test_net_quantities_match_the_labels(labels: tuple[LabelRecording, ...], aifi_runs: Runs) -> None:
    for rec in labels:
        want: Counter[tuple[str, str]] = Counter()
        for e in rec.events:
            if (rec.name, e.event_id) in EXPECTED_SKIPS:
                continue
            for p in e.products:
                want[(e.target_id, p.upc)] += -1 if e.putback else 1
        got: Counter[tuple[str, str]] = Counter()
        for e in aifi_runs[rec.name][1].events:
            got[(e.shopper, e.upc)] += e.quantity * (-1 if e.kind == "putback" else 1)
        assert +got == +want, rec.name


def test_multi_unit_picks(aifi_runs: Runs) -> None:
    (twinkies,) = _truth(aifi_runs, "cps-test-12", 7)
    assert (twinkies.kind, twinkies.upc, twinkies.quantity) == ("pick", "888109010102", 2)
    assert set(twinkies.plates) <= {P("4.1.1"), P("4.1.2")}
    (gator,) = _truth(aifi_runs, "cps-test-12", 9)
    assert gator.quantity == 2
    red = [e for e in _truth(aifi_runs, "BASELINE-22", 1) if e.upc == "041364002323"]
    assert [e.quantity for e in red] == [3]
    assert set(red[0].plates) <= {P("1.2.10"), P("1.2.11"), P("1.2.12")}


def test_two_product_event_uses_both_hands_on_own_plates(aifi_runs: Runs, scenarios: dict[str, Scenario]) -> None:
    events = _truth(aifi_runs, "BASELINE-13", 1)
    by_upc = {e.upc: e for e in events}
    assert set(by_upc) == {"613008743734", "613008744120"}
    assert by_upc["613008743734"].plates == (P("1.4.4"),)
    assert by_upc["613008744120"].plates == (P("1.4.6"),)
    assert abs(events[0].t_start_s - events[1].t_start_s) <= 1.0
    assert abs(events[0].t_s - events[1].t_s) <= 1.5
    facings = {f.upc: f.plates for f in scenarios["BASELINE-13"].planogram}
    assert facings["613008743734"] == (P("1.4.4"),) and facings["613008744120"] == (P("1.4.6"),)


def test_misplaced_putbacks_and_later_picks_from_there(aifi_runs: Runs) -> None:
    (ok,) = _truth(aifi_runs, "cps-test-19", 2)
    assert ok.kind == "putback" and not ok.misplaced
    (moved,) = _truth(aifi_runs, "cps-test-19", 4)
    assert moved.kind == "putback" and moved.misplaced
    assert set(moved.plates) <= {P("5.5.6"), P("5.5.7")}
    (chips,) = _truth(aifi_runs, "ALL-SIMPLE-CHIP-1", 2)
    assert chips.misplaced and chips.plates == (P("2.6.1"), P("2.6.2"), P("2.6.3"))
    (dew_back,) = _truth(aifi_runs, "BASELINE-23", 4)
    (dew_again,) = _truth(aifi_runs, "BASELINE-23", 6)
    assert dew_back.misplaced and dew_back.plates == (P("3.2.12"),)
    assert dew_again.kind == "pick" and dew_again.plates == (P("3.2.12"),)  # the misplaced unit


def test_putback_of_an_item_not_held_is_skipped(store: Store) -> None:
    def ev(i: int, putback: bool, upc: str = "084114033000") -> LabelEvent:
        return LabelEvent(i, putback, 2, 6, (3, 4), (LabelProduct(upc, "x", None),), "t1")

    rec = LabelRecording("synthetic", "synthetic", 0, None, "", (ev(1, True), ev(2, False), ev(3, True), ev(4, True)))
    sc = aifi_scenario(rec, store)
    assert [e.label_event_id for e in sc.events] == [2, 3]
    assert [s.label_event_id for s in sc.skipped_labels] == [1, 4]
    assert all("does not hold" in s.reason for s in sc.skipped_labels)
    _, truth = simulate(sc, store, seed=1)
    assert [(e.kind, e.misplaced) for e in truth.events] == [("pick", False), ("putback", False)]


def test_recording_planogram(scenarios: dict[str, Scenario], store: Store, labels: tuple[LabelRecording, ...]) -> None:
    facings = {f.upc: f.plates for f in scenarios["cps-test-19"].planogram}
    assert facings["038000197352"] == (P("5.5.4"),)  # Rice Krispies and Caramel both first picked at [4, 5]
    assert facings["040000515166"] == (P("5.5.5"),)
    assert facings["634418523488"] == (P("5.4.4"), P("5.4.5"))
    for rec in labels:
        sc = scenarios[rec.name]
        plates = [p for f in sc.planogram for p in f.plates]
        assert len(plates) == len(set(plates)), rec.name
        picked = Counter(u for e in sc.events if e.kind == "pick" for u in e.upcs)
        for f in sc.planogram:
            assert f.count == f.capacity >= max(picked[f.upc], 1)
        assert {f.upc for f in sc.planogram} >= set(picked)
    untouched = {f.upc: f for f in store.planogram}
    sc = scenarios["TEAM-5-1"]  # no events: the store's own planogram
    assert {f.upc: f for f in sc.planogram} == untouched


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ([(4, 6), (4, 6)], [(4,), (6,)]),
        ([(4, 5), (4, 5)], [(4,), (5,)]),
        ([(4, 5), (5, 6)], [(4, 5), (6,)]),
        ([(1, 2, 3), (7, 8)], [(1, 2, 3), (7, 8)]),
        ([(4, 5), (4, 5), (4, 5)], [(4,), (5,), (3,)]),
        ([(1,), (1,)], [(1,), (2,)]),
    ],
)
def test_split_claims(claims: list[tuple[int, ...]], expected: list[tuple[int, ...]]) -> None:
    assert split_claims(claims, list(range(1, 10))) == expected


def test_split_claims_without_free_plates_shares() -> None:
    assert split_claims([(1,), (1,)], [1]) == [(1,), (1,)]


def test_shoppers_and_tokens(labels: tuple[LabelRecording, ...], aifi_runs: Runs) -> None:
    customers = [a.account_id for a in demo_accounts() if a.role == "customer"]
    for rec in labels:
        truth = aifi_runs[rec.name][1]
        keys = list(dict.fromkeys(e.target_id or "unlabelled" for e in rec.events)) or ["unlabelled"]
        assert [s.key for s in truth.shoppers] == keys
        assert [s.account_id for s in truth.shoppers] == customers[: len(keys)]
        assert all(s.token.startswith(f"WO2.{s.account_id}.") for s in truth.shoppers)  # the signed app token
        assert all(1.5 <= s.height_m <= 1.95 and s.role == "customer" for s in truth.shoppers)


def test_label_order_per_shopper_and_across_shoppers(
    labels: tuple[LabelRecording, ...], aifi_runs: Runs, scenarios: dict[str, Scenario]
) -> None:
    for rec in labels:
        truth = aifi_runs[rec.name][1]
        sc = scenarios[rec.name]
        for i, shopper in enumerate(sc.shoppers):
            want = [e.label_event_id for e in sc.events if e.shopper == i]
            got = [
                e.label_event_id for e in sorted(truth.events, key=lambda e: e.t_start_s) if e.shopper == shopper.key
            ]
            assert _dedup(got) == _dedup(want), rec.name
        for a in truth.events:
            for b in truth.events:
                shared = a.upc == b.upc or a.plates[0][:2] == b.plates[0][:2]
                if a.shopper != b.shopper and shared and a.label_event_id < b.label_event_id:
                    assert a.t_s < b.t_start_s, (rec.name, a, b)


def _dedup(ids: list[int | None]) -> list[int | None]:
    return [x for k, x in enumerate(ids) if k == 0 or ids[k - 1] != x]


def test_event_times_are_consistent(aifi_runs: Runs) -> None:
    for rec, truth in aifi_runs.values():
        by_key = {s.key: s for s in truth.shoppers}
        for e in truth.events:
            s = by_key[e.shopper]
            assert s.entry_t_s < e.t_start_s < e.t_s < s.exit_t_s < rec.meta.duration_s
            assert len({p[:2] for p in e.plates}) == 1 and all(p in rec.store.plate_index for p in e.plates)


def _label(events: list[tuple[int, bool, int, int, tuple[int, ...], tuple[str, ...]]]) -> LabelRecording:
    evs = tuple(
        LabelEvent(i, putback, g, s, plates, tuple(LabelProduct(u, u, None) for u in upcs), "t1")
        for i, putback, g, s, plates, upcs in events
    )
    return LabelRecording("synthetic", "synthetic", 0, None, "", evs)


@pytest.mark.parametrize(
    ("plates", "peach_rings_left"),
    [((5,), (P("1.1.6"),)), ((5, 6), None), ((4,), (P("1.1.5"), P("1.1.6")))],
)
def test_untouched_facings_lose_plates_a_moved_product_takes(
    store: Store, plates: tuple[int, ...], peach_rings_left: tuple[PlateId, ...] | None
) -> None:
    peach, kettle = "835144008984", "084114033000"
    assert {f.upc: f.plates for f in store.planogram}[peach] == (P("1.1.5"), P("1.1.6"))
    sc = aifi_scenario(_label([(1, False, 1, 1, plates, (kettle,))]), store)
    facings = {f.upc: f for f in sc.planogram}
    assert facings[kettle].plates == tuple(P(f"1.1.{p}") for p in plates)
    assert [f.upc for f in sc.planogram].count(kettle) == 1  # its old facing is gone
    if peach_rings_left is None:
        assert peach not in facings
    else:
        assert facings[peach].plates == peach_rings_left
        assert facings[peach].count == facings[peach].capacity == 4 * len(peach_rings_left)
    _, truth = simulate(sc, store, seed=2)
    assert truth.events[0].upc == kettle and set(truth.events[0].plates) <= set(facings[kettle].plates)


def test_capacity_covers_every_pick(store: Store) -> None:
    upc = "042238302556"  # one plate: 4 units
    sc = aifi_scenario(
        _label([(i, False, 1, 2, (9,), (upc,)) for i in range(1, 4)] + [(4, False, 1, 2, (9,), (upc,) * 3)]), store
    )
    (facing,) = [f for f in sc.planogram if f.upc == upc]
    assert facing.count == facing.capacity == 6
    _, truth = simulate(sc, store, seed=0)
    assert sum(e.quantity for e in truth.events) == 6
