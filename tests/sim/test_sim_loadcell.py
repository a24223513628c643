"""Load-cell signals: layout, noise, drift, weight steps, splits, ringing, rests, touches, speed."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from walkout.core.store import Store
from walkout.sim import LoadCellParams, ShopperParams, SimParams, StockParams, random_scenario
from walkout.sim.loadcell import _drift, plate_signals
from walkout.sim.pipeline import simulate_timeline
from walkout.sim.scenario import Scenario
from walkout.sim.world import plate_loads_g, stock_units

QUIET = LoadCellParams(noise_sigma_g=0.0, drift_max_g_per_10min=0.0)


@pytest.fixture(scope="module")
def busy(store: Store) -> Scenario:
    return random_scenario(store, 3, 90.0, seed=5)


def _matrix(rec, store: Store) -> tuple[np.ndarray, np.ndarray]:
    n = len(store.plates)
    return rec.plates.t_s[::n], rec.plates.mass_g.reshape(-1, n)


def test_time_major_layout(store: Store, busy: Scenario) -> None:
    rec, _, tl = simulate_timeline(busy, store, seed=3)
    n = len(store.plates)
    ps = rec.plates
    assert ps.plate_ids == tuple(p.id for p in store.plates)
    assert ps.mass_g.dtype == np.float32 and ps.t_s.dtype == np.float64 and ps.plate.dtype == np.int32
    assert len(ps) % n == 0
    ticks = len(ps) // n
    assert ticks == int(np.floor(tl.duration_s * 60.0)) + 1
    assert np.array_equal(ps.plate, np.tile(np.arange(n, dtype=np.int32), ticks))
    t = ps.t_s.reshape(ticks, n)
    assert np.all(t == t[:, :1]) and np.allclose(np.diff(t[:, 0]), 1 / 60.0)
    assert t[0, 0] == 0.0


def test_idle_plate_noise_is_1_5_g(store: Store, busy: Scenario) -> None:
    rec, _, tl = simulate_timeline(busy, store, seed=4)
    _, m = _matrix(rec, store)
    touched = set(tl.change_plate.tolist()) | set(tl.touch_plate.tolist())
    idle = [i for i in range(len(store.plates)) if i not in touched]
    assert len(idle) > 200
    diffs = np.diff(m[:, idle].astype(np.float64), axis=0)
    assert np.std(diffs) / np.sqrt(2) == pytest.approx(1.5, rel=0.03)
    assert np.std(m[:, idle] - m[:, idle].mean(axis=0)) == pytest.approx(1.5, rel=0.1)


def test_drift_is_tared_and_bounded() -> None:
    t = np.arange(0, 3600.0, 1.0)
    d = _drift(t, 306, LoadCellParams(), np.random.default_rng(0))
    assert np.all(d[0] == 0.0)
    change_10min = np.abs(d[600:] - d[:-600])
    assert change_10min.max() <= 3.0 + 1e-9
    assert change_10min.max() > 1.0  # it does drift


def _quiet_window(tl, plates: set[int], t0: float, t1: float, skip: set[int]) -> bool:
    """No weight change other than ``skip`` on these plates overlaps [t0, t1]."""
    for k, p in enumerate(tl.change_plate):
        if k not in skip and int(p) in plates and tl.change_t_s[k, 1] > t0 and tl.change_t_s[k, 0] < t1:
            return False
    return True


def test_pick_changes_settled_level_by_item_mass(store: Store, busy: Scenario) -> None:
    params = SimParams(shopper=ShopperParams(rest_prob=0.0, touch_prob=0.0))
    rec, truth, tl = simulate_timeline(busy, store, seed=6, params=params)
    t, m = _matrix(rec, store)
    checked = 0
    for e in truth.events:
        idx = {store.plate_index[p] for p in e.plates}
        k = [i for i in range(len(tl.change_plate)) if int(tl.change_plate[i]) in idx and tl.change_t_s[i, 1] == e.t_s]
        if not _quiet_window(tl, idx, e.t_start_s - 1.5, e.t_s + 3.5, set(k)):
            continue
        before = (t > e.t_start_s - 1.0) & (t < e.t_start_s - 0.1)
        after = (t > e.t_s + 2.5) & (t < e.t_s + 3.4)
        cols = sorted(idx)
        step = m[after][:, cols].mean(axis=0) - m[before][:, cols].mean(axis=0)
        want = {int(tl.change_plate[i]): tl.change_delta_g[i] for i in k}
        assert step == pytest.approx([want[c] for c in cols], abs=2.0)
        nominal = store.product_by_upc[e.upc].mass_g * e.quantity
        sign = -1 if e.kind == "pick" else 1
        assert sign * step.sum() == pytest.approx(nominal, rel=0.05, abs=3.0)
        checked += 1
    assert checked >= 10


def test_units_split_across_plates_sum_to_the_item(store: Store) -> None:
    units = stock_units(store, store.planogram, StockParams(), np.random.default_rng(1))
    assert len(units.mass_g) == sum(f.count for f in store.planogram)
    on = units.plates >= 0
    assert np.allclose(units.frac.sum(axis=1), 1.0)
    assert np.all(units.frac[on] >= 0.2 - 1e-12) and np.all(units.frac[~on] == 0.0)
    spanning = on.sum(axis=1) == 2
    assert 0.3 < spanning.mean() < 0.6
    nums = np.array([p.id.plate for p in store.plates])
    rows = units.plates[spanning]
    assert np.all(np.abs(nums[rows[:, 1]] - nums[rows[:, 0]]) == 1)
    nominal = np.array([store.product_by_upc[u].mass_g for u in units.upc])
    assert np.all(np.abs(units.mass_g / nominal - 1) <= 3 * 0.015 + 1e-12)
    assert np.std(units.mass_g / nominal - 1) == pytest.approx(0.015, rel=0.15)
    loads = plate_loads_g(units, len(store.plates))
    assert loads.sum() == pytest.approx(units.mass_g.sum())


def test_ringing_decays_and_is_bounded(store: Store, busy: Scenario) -> None:
    params = SimParams(load_cell=QUIET, shopper=ShopperParams(rest_prob=0.0, touch_prob=0.0))
    rec, _, tl = simulate_timeline(busy, store, seed=8, params=params)
    t, m = _matrix(rec, store)
    rang = 0
    for k, (plate, delta) in enumerate(zip(tl.change_plate, tl.change_delta_g, strict=True)):
        t1 = tl.change_t_s[k, 1]
        if not _quiet_window(tl, {int(plate)}, t1 - 0.5, t1 + 3.2, {k}):
            continue
        win = (t >= t1) & (t < t1 + 3.0)
        settled = m[(t > t1 + 3.05) & (t < t1 + 3.2), plate]
        assert np.ptp(settled) < 1e-3  # exactly flat once rung out (no noise, no drift)
        dev = np.abs(m[win, plate] - settled[0])
        assert dev.max() <= 0.4 * abs(delta) + 1e-3
        rang += dev.max() > 0.02 * abs(delta)
    assert rang >= 5


def test_resting_item_keeps_part_of_its_weight(store: Store, busy: Scenario) -> None:
    params = SimParams(load_cell=QUIET, shopper=ShopperParams(rest_prob=1.0, touch_prob=0.0, two_product_prob=0.0))
    rec, truth, tl = simulate_timeline(busy, store, seed=9, params=params)
    t, m = _matrix(rec, store)
    rests = np.flatnonzero(np.isfinite(tl.change_rest_t0_s))
    assert len(rests) > 5
    for k in rests:
        plate, delta = int(tl.change_plate[k]), tl.change_delta_g[k]
        r0, (ramp0, _) = tl.change_rest_t0_s[k], tl.change_t_s[k]
        assert 2.0 <= ramp0 - r0 <= 6.0
        if not _quiet_window(tl, {plate}, r0 - 0.5, ramp0, {int(k)}):
            continue
        base = m[(t > r0 - 0.4) & (t < r0), plate].mean()
        during = m[(t > r0 + 0.5) & (t < ramp0 - 0.1), plate] - base
        carried = 1.0 - during / delta  # share of the item still on the plate
        assert carried.min() >= 0.2 - 1e-3 and carried.max() <= 1.0 + 1e-3
    picks = [e for e in truth.events if e.kind == "pick"]
    assert all(e.t_s - e.t_start_s >= 2.0 for e in picks)


def test_leaning_hand_adds_weight(store: Store, busy: Scenario) -> None:
    params = SimParams(load_cell=QUIET, shopper=ShopperParams(touch_prob=1.0))
    _, _, tl = simulate_timeline(busy, store, seed=10, params=params)
    assert len(tl.touch_plate) > 5
    init = np.zeros(len(store.plates))
    _, with_touch, _ = plate_signals(init, tl, QUIET, np.random.default_rng(0))
    no = replace(tl, touch_plate=tl.touch_plate[:0], touch_t_s=tl.touch_t_s[:0], touch_g=tl.touch_g[:0])
    _, without, _ = plate_signals(init, no, QUIET, np.random.default_rng(0))
    extra = with_touch.astype(np.float64) - without
    t = np.arange(extra.shape[0]) / 60.0
    for plate, (t0, t1), g in zip(tl.touch_plate, tl.touch_t_s, tl.touch_g, strict=True):
        assert 50.0 <= g <= 800.0 and 0.2 <= t1 - t0 <= 3.0
        mid = np.argmin(np.abs(t - (t0 + t1) / 2))
        assert extra[mid, plate] >= 0.7 * g
    outside = np.ones_like(extra, dtype=bool)
    for plate, (t0, t1) in zip(tl.touch_plate, tl.touch_t_s, strict=True):
        outside[(t >= t0 - 0.02) & (t <= t1 + 0.02), plate] = False
    assert np.abs(extra[outside]).max() < 1e-3


def test_no_reading_a_recording_reader_would_reject(aifi_runs) -> None:
    for rec, _ in aifi_runs.values():
        assert rec.plates.mass_g.min() > -50.0
        assert np.isfinite(rec.plates.mass_g).all()


def test_all_plates_of_a_120_s_recording_render_fast(store: Store) -> None:
    sc = random_scenario(store, 4, 120.0, seed=2)
    _, _, tl = simulate_timeline(sc, store, seed=2)
    assert tl.duration_s >= 120.0
    init = np.zeros(len(store.plates))
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        plate_signals(init, tl, LoadCellParams(), np.random.default_rng(0))
        best = min(best, time.perf_counter() - t0)
    assert best < 0.5


def test_truth_dates_when_each_event_settled(store: Store, busy: Scenario) -> None:
    params = SimParams(shopper=ShopperParams(touch_prob=0.5))
    _, truth, tl = simulate_timeline(busy, store, seed=11, params=params)
    lag = np.array([e.t_settled_s - e.t_s for e in truth.events])
    assert np.all(lag >= 0.3 - 1e-9)  # the oscillation takes at least 0.3 s to decay
    leaned = [e for e in truth.events if e.t_settled_s > e.t_s + 1.5 + 1e-9]
    assert leaned  # only a hand leaning past the oscillation makes it later than 1.5 s
    for e in leaned:
        assert any(abs(t1 - e.t_settled_s) < 1e-9 for t1 in tl.touch_t_s[:, 1])
