"""Person observations: layout, noise, drops, occluded hands, reaches, id swaps."""

from __future__ import annotations

import numpy as np
import pytest

from walkout.core.store import Store
from walkout.sim import PeopleParams, random_scenario
from walkout.sim.paths import gondola_footprints
from walkout.sim.people import PeopleRender, _markov_mask, _track_ids, body_at, render_people, swapped_ids
from walkout.sim.pipeline import simulate_timeline
from walkout.sim.schedule import Timeline


@pytest.fixture(scope="module")
def crowd(store: Store) -> Timeline:
    """Six shoppers over three minutes."""
    _, _, tl = simulate_timeline(random_scenario(store, 6, 180.0, seed=21), store, seed=21)
    return tl


def _render(store: Store, tl: Timeline, seed: int = 0, **kw: float) -> PeopleRender:
    return render_people(tl, gondola_footprints(store), PeopleParams(**kw), np.random.default_rng(seed))


def test_rows_sorted_and_typed(store: Store, crowd: Timeline) -> None:
    obs = _render(store, crowd).observations
    assert len(obs) > 2000
    order = np.lexsort((obs.track_id, obs.t_s))
    assert np.array_equal(order, np.arange(len(obs)))
    assert obs.head_xyz_m.dtype == np.float32 and obs.track_id.dtype == np.int64
    assert np.all(np.isfinite(obs.head_xyz_m))
    assert np.allclose(obs.t_s * 15.0, np.round(obs.t_s * 15.0))
    assert np.all(obs.track_id > 0)


def test_drop_rate_is_5_percent(store: Store, crowd: Timeline) -> None:
    r = _render(store, crowd)
    assert 1 - len(r.observations) / r.n_rows_before_drop == pytest.approx(0.05, abs=0.01)
    r0 = _render(store, crowd, drop_prob=0.0)
    assert len(r0.observations) == r0.n_rows_before_drop


def test_one_row_per_present_shopper_and_frame(store: Store, crowd: Timeline) -> None:
    r = _render(store, crowd, drop_prob=0.0)
    t = r.observations.t_s
    for i, tr in enumerate(crowd.shoppers):
        mine = t[r.shopper == i]
        want = np.arange(np.ceil(tr.appear_t_s * 15 - 1e-9), np.floor(tr.disappear_t_s * 15 + 1e-9) + 1) / 15.0
        assert np.allclose(mine, want)


def test_head_noise_and_height(store: Store, crowd: Timeline) -> None:
    r = _render(store, crowd)
    obs = r.observations
    resid = []
    for i, tr in enumerate(crowd.shoppers):
        rows = r.shopper == i
        xy, _, _ = body_at(tr, obs.t_s[rows])
        resid.append(obs.head_xyz_m[rows, :2] - xy)
        z = obs.head_xyz_m[rows, 2]
        assert abs(np.median(z) - (tr.height_m - 0.12)) < 0.01
    assert np.std(np.vstack(resid)) == pytest.approx(0.03, rel=0.1)


def test_hands_missing_near_shelves_in_runs(store: Store, crowd: Timeline) -> None:
    r = _render(store, crowd, drop_prob=0.0)
    obs = r.observations
    fps = gondola_footprints(store)
    near_all, nan_all, runs = [], [], []
    for i, tr in enumerate(crowd.shoppers):
        rows = r.shopper == i
        xy, _, _ = body_at(tr, obs.t_s[rows])
        near = np.min([fp.distance(xy) for fp in fps], axis=0) < 0.8
        miss = np.isnan(obs.left_hand_xyz_m[rows, 0])
        near_all.append(near)
        nan_all.append(miss)
        edges = np.diff(np.r_[0, miss.astype(int), 0])
        runs += list(np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1))
    near, miss = np.concatenate(near_all), np.concatenate(nan_all)
    assert not miss[~near].any()
    assert miss[near].mean() == pytest.approx(0.2, abs=0.05)
    assert np.mean(runs) > 2.0  # i.i.d. drops at 20% would give runs of 1.25 frames


def test_markov_mask_statistics() -> None:
    m = _markov_mask(200_000, 0.2, 4.0, np.random.default_rng(3))
    assert m.mean() == pytest.approx(0.2, abs=0.01)
    edges = np.diff(np.r_[0, m.astype(int), 0])
    assert np.mean(np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)) == pytest.approx(4.0, rel=0.05)
    assert not _markov_mask(100, 0.0, 4.0, np.random.default_rng(0)).any()


def test_reaching_hand_goes_to_the_plate(store: Store, crowd: Timeline) -> None:
    r = _render(store, crowd, hand_sigma_m=0.0, drop_prob=0.0, hand_missing_frac=0.0)
    obs = r.observations
    for k in range(len(crowd.reach_shopper)):
        i, hand = int(crowd.reach_shopper[k]), int(crowd.reach_hand[k])
        go, contact, release, back = crowd.reach_t_s[k]
        rows = (r.shopper == i) & (obs.t_s >= contact) & (obs.t_s <= release)
        pos = (obs.right_hand_xyz_m if hand == 1 else obs.left_hand_xyz_m)[rows]
        assert np.allclose(pos, crowd.reach_target_m[k], atol=1e-4)
    busy = np.zeros(len(obs), dtype=bool)
    for k in range(len(crowd.reach_shopper)):
        go, _, _, back = crowd.reach_t_s[k]
        busy |= (r.shopper == crowd.reach_shopper[k]) & (obs.t_s >= go) & (obs.t_s <= back)
    for h in (obs.left_hand_xyz_m, obs.right_hand_xyz_m):
        assert np.allclose(h[~busy, 2], 0.8, atol=1e-5)
        assert np.all(np.hypot(*(h[~busy, :2] - obs.head_xyz_m[~busy, :2]).T) < 0.4)


def test_swaps_only_at_close_encounters() -> None:
    # two shoppers whose distance dips below 0.6 m at frames 10, 30 and 50
    n = 60
    d = np.full(n, 2.0)
    d[10:13] = d[30:31] = d[50:55] = 0.4
    pos = np.zeros((n, 3, 2))
    pos[:, 1, 0] = d
    pos[:, 2, 0] = 100.0  # far away
    pos[:5, 2] = np.nan  # absent at first
    base = np.array([11, 22, 33], dtype=np.int64)
    always = swapped_ids(pos, base, PeopleParams(swap_prob=1.0), np.random.default_rng(0))
    changes = np.flatnonzero(np.any(always[1:] != always[:-1], axis=1)) + 1
    assert changes.tolist() == [10, 30, 50]
    assert np.all(always[:, 2] == 33)
    never = swapped_ids(pos, base, PeopleParams(swap_prob=0.0), np.random.default_rng(0))
    assert np.all(never == base)


def test_swap_probability_per_encounter() -> None:
    n = 4000
    d = np.where((np.arange(n) // 5) % 2 == 0, 2.0, 0.3)  # 400 encounters
    pos = np.zeros((n, 2, 2))
    pos[:, 1, 0] = d
    ids = swapped_ids(pos, np.array([1, 2], dtype=np.int64), PeopleParams(), np.random.default_rng(5))
    swaps = int(np.count_nonzero(ids[1:, 0] != ids[:-1, 0]))
    assert swaps / 400 == pytest.approx(0.3, abs=0.07)


def test_swaps_in_a_crowd_follow_encounters(store: Store, crowd: Timeline) -> None:
    r = _render(store, crowd, swap_prob=1.0, drop_prob=0.0)
    obs = r.observations
    swaps = 0
    for tid in np.unique(obs.track_id):
        rows = np.flatnonzero(obs.track_id == tid)
        who = r.shopper[rows]
        for k in np.flatnonzero(who[1:] != who[:-1]) + 1:
            t = obs.t_s[rows[k]]
            a, b = crowd.shoppers[who[k - 1]], crowd.shoppers[who[k]]
            gap = np.hypot(*(body_at(a, np.array([t]))[0] - body_at(b, np.array([t]))[0])[0])
            assert gap < 0.6
            swaps += 1
    assert swaps > 0


def test_track_ids_are_exact_random_int64_per_shopper(store: Store, crowd: Timeline) -> None:
    r = _render(store, crowd, seed=7, swap_prob=0.0)
    expected = _track_ids(len(crowd.shoppers), np.random.default_rng(7))
    assert set(r.observations.track_id.tolist()) == set(expected.tolist())
    for i in range(len(crowd.shoppers)):
        assert np.unique(r.observations.track_id[r.shopper == i]).tolist() == [expected[i]]
