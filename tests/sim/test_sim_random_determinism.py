"""Random scenarios, determinism (arrays and Parquet bytes), seeds, public API and parameters."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from collections import Counter
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

import walkout.sim
from walkout.core.store import PlateId, Store
from walkout.io import read_recording, write_recording
from walkout.sim import (
    LoadCellParams,
    PeopleParams,
    ShopperParams,
    SimParams,
    StockParams,
    random_scenario,
    recording_seed,
    simulate,
)
from walkout.sim.scenario import Scenario, ScenarioEvent, ScenarioShopper


def test_random_scenario_six_shoppers_three_minutes(store: Store) -> None:
    sc = random_scenario(store, 6, 180.0, seed=4)
    rec, truth = simulate(sc, store, seed=4)
    assert rec.meta.duration_s == pytest.approx(180.0)
    assert len(truth.shoppers) == 6 and len({s.token for s in truth.shoppers}) == 6
    entries = sorted(s.entry_t_s for s in truth.shoppers)
    assert entries[-1] - entries[0] > 20.0  # staggered
    assert all(s.exit_t_s < rec.meta.duration_s for s in truth.shoppers)
    assert len(truth.events) >= 18
    kinds = Counter(e.kind for e in truth.events)
    assert kinds["pick"] > kinds["putback"] > 0
    held: Counter[tuple[str, str]] = Counter()
    stock = Counter()
    for f in store.planogram:
        stock[f.upc] += f.count
    for e in truth.events:  # sorted by t_s: never put back what one does not hold, never over-pick
        held[(e.shopper, e.upc)] += e.quantity if e.kind == "pick" else -e.quantity
        stock[e.upc] += -e.quantity if e.kind == "pick" else e.quantity
        assert held[(e.shopper, e.upc)] >= 0 and stock[e.upc] >= 0


def test_random_scenarios_contain_every_behaviour(store: Store) -> None:
    seen: Counter[str] = Counter()
    for seed in range(6):
        sc = random_scenario(store, 6, 180.0, seed=seed)
        _, truth = simulate(sc, store, seed=seed)
        seen["multi-unit"] += sum(e.quantity > 1 for e in truth.events)
        seen["misplaced"] += sum(e.misplaced for e in truth.events)
        seen["two-product"] += sum(len(set(e.upcs)) > 1 for e in sc.events)
        facing = {f.upc: set(f.plates) for f in sc.planogram}
        seen["misplaced pick"] += sum(e.kind == "pick" and not set(e.plates) <= facing[e.upc] for e in truth.events)
        seen["other shelf"] += sum(
            e.plates[0][:2] != next(iter(facing[e.upc]))[:2] for e in truth.events if e.misplaced
        )
    assert all(seen[k] > 0 for k in ("multi-unit", "misplaced", "two-product", "misplaced pick", "other shelf")), seen


@pytest.mark.parametrize(
    ("n_shoppers", "duration_s", "error"),
    [(6, 180.0, None), (0, 60.0, None), (61, 180.0, "n_shoppers"), (-1, 180.0, "n_shoppers"), (2, 10.0, "too short")],
)
def test_random_scenario_arguments(store: Store, n_shoppers: int, duration_s: float, error: str | None) -> None:
    if error is None:
        sc = random_scenario(store, n_shoppers, duration_s, seed=0)
        assert len(sc.shoppers) == n_shoppers
        return
    with pytest.raises(ValueError, match=error):
        random_scenario(store, n_shoppers, duration_s, seed=0)


def test_random_scenario_is_seeded(store: Store) -> None:
    assert random_scenario(store, 4, 120.0, seed=9) == random_scenario(store, 4, 120.0, seed=9)
    assert random_scenario(store, 4, 120.0, seed=9) != random_scenario(store, 4, 120.0, seed=10)


def _arrays(rec) -> list[np.ndarray]:
    p, s, o = rec.plates, rec.scans, rec.people
    return [
        p.plate,
        p.t_s,
        p.mass_g,
        s.t_s,
        s.token,
        o.t_s,
        o.track_id,
        o.head_xyz_m,
        o.left_hand_xyz_m,
        o.right_hand_xyz_m,
    ]


def test_same_seed_gives_identical_arrays_and_bytes(
    store: Store, tmp_path: Path, scenarios: dict[str, Scenario]
) -> None:
    sc = scenarios["BASELINE-11"]  # three shoppers
    a, ta = simulate(sc, store, seed=42)
    b, tb = simulate(sc, store, seed=42)
    for x, y in zip(_arrays(a), _arrays(b), strict=True):
        assert np.array_equal(x, y, equal_nan=x.dtype != object)
    assert ta == tb and a.meta == b.meta
    write_recording(a, tmp_path / "a")
    write_recording(b, tmp_path / "b")
    for name in ("plates.parquet", "scans.parquet", "people.parquet", "recording.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    c, tc = simulate(sc, store, seed=43)
    assert not np.array_equal(a.plates.mass_g, c.plates.mass_g)
    assert len(a.people) != len(c.people) or not np.array_equal(a.people.head_xyz_m, c.people.head_xyz_m)
    assert ta.events != tc.events


def test_simulate_aifi_derives_one_seed_per_recording(aifi_runs, scenarios: dict[str, Scenario], store: Store) -> None:
    seeds = [t.seed for _, t in aifi_runs.values()]
    assert seeds == [recording_seed(0, i) for i in range(len(seeds))]
    assert len(set(seeds)) == len(seeds)
    rec, truth = aifi_runs["cps-test-10"]
    again, truth2 = simulate(scenarios["cps-test-10"], store, seed=truth.seed)
    assert truth2 == truth and np.array_equal(again.plates.mass_g, rec.plates.mass_g)
    assert rec.meta.name == "cps-test-10" and rec.meta.planogram == scenarios["cps-test-10"].planogram


def test_public_api_matches_all() -> None:
    public = {n for n, v in vars(walkout.sim).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)}
    assert public == set(walkout.sim.__all__)
    for name in walkout.sim.__all__:
        assert getattr(walkout.sim, name).__doc__


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: SimParams(), None),
        (lambda: LoadCellParams(rate_hz=0), "rate_hz"),
        (lambda: LoadCellParams(ring_freq_hz=(4.0, 1.0)), "ring_freq_hz"),
        (lambda: PeopleParams(drop_prob=1.5), "drop_prob"),
        (lambda: PeopleParams(hand_missing_run_frames=0.5), "hand_missing"),
        (lambda: ShopperParams(touch_prob=-0.1), "touch_prob"),
        (lambda: ShopperParams(speed_mps=(1.4, 0.8)), "speed_mps"),
        (lambda: StockParams(split_min_frac=0.5), "split_min_frac"),
    ],
)
def test_params_validate(build, error: str | None) -> None:
    if error is None:
        p = build()
        assert {f.name for f in fields(p)} == {"stock", "load_cell", "people", "shopper", "depth", "gate", "start_unix_s"}
        return
    with pytest.raises(ValueError, match=error):
        build()


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda P: ScenarioEvent(0, "pick", (), (P("1.1.1"),)), "upcs"),
        (lambda P: ScenarioEvent(0, "pick", ("x",), ()), "plates"),
        (lambda P: ScenarioEvent(0, "pick", ("x",), (P("1.1.1"), P("1.2.1"))), "one shelf"),
        (lambda P: ScenarioEvent(0, "grab", ("x",), (P("1.1.1"),)), "kind"),  # type: ignore[arg-type]
        (lambda P: Scenario("s", (), (), (ScenarioEvent(0, "pick", ("x",), (P("1.1.1"),)),)), "shopper 0"),
        (lambda P: Scenario("s", (), (ScenarioShopper("a", "t"), ScenarioShopper("a", "u")), ()), "not unique"),
    ],
)
def test_scenario_validation(make, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        make(PlateId.parse)


def test_simulate_rejects_impossible_scenarios(store: Store) -> None:
    shopper = (ScenarioShopper("a", "tok"),)
    back = Scenario(
        "s", store.planogram, shopper, (ScenarioEvent(0, "putback", ("084114033000",), (PlateId(2, 6, 3),)),)
    )
    with pytest.raises(ValueError, match="holds 0"):
        simulate(back, store, seed=0)
    ghost = Scenario("s", store.planogram, shopper, (ScenarioEvent(0, "pick", ("nope",), (PlateId(2, 6, 3),)),))
    with pytest.raises(ValueError, match="unknown plates/products"):
        simulate(ghost, store, seed=0)
    empty = Scenario("s", (), shopper, (ScenarioEvent(0, "pick", ("084114033000",), (PlateId(2, 6, 3),)),))
    with pytest.raises(ValueError, match="no unit of 084114033000"):
        simulate(empty, store, seed=0)


@pytest.mark.parametrize("n_shoppers", [0, 2])
def test_recordings_round_trip_through_the_reader_without_rejections(
    store: Store, tmp_path: Path, n_shoppers: int
) -> None:
    rec, truth = simulate(random_scenario(store, n_shoppers, 40.0, seed=3), store, seed=3)
    assert len(truth.shoppers) == n_shoppers and len(rec.scans) == n_shoppers
    back = read_recording(write_recording(rec, tmp_path / "rec"))
    assert back.rejections == {}
    assert back.meta == rec.meta
    for x, y in zip(_arrays(back), _arrays(rec), strict=True):
        assert np.array_equal(x, y, equal_nan=x.dtype != object)


_DIGEST = """
import hashlib, sys
import numpy as np
from walkout.io import load_embedded_store
from walkout.sim import random_scenario, simulate
store = load_embedded_store()
rec, truth = simulate(random_scenario(store, 3, 40.0, seed=8), store, seed=8)
h = hashlib.sha256()
for a in (rec.plates.mass_g, rec.people.track_id, rec.people.head_xyz_m, rec.people.left_hand_xyz_m):
    h.update(np.ascontiguousarray(a).tobytes())
h.update(truth.model_dump_json().encode())
sys.stdout.write(h.hexdigest())
"""


def test_same_seed_is_identical_across_processes_and_hash_seeds() -> None:
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", _DIGEST], env=env, capture_output=True, text=True, check=True)
        digests.add(out.stdout)
    assert len(digests) == 1 and len(next(iter(digests))) == 64
