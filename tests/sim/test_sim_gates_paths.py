"""Gates (scan before entry, everybody exits) and walking paths (out of the gondolas)."""

from __future__ import annotations

import numpy as np
import pytest

from walkout.core.store import Store
from walkout.eval.truth import GroundTruth
from walkout.io import Recording
from walkout.io.store_file import embedded_store_dir
from walkout.sim import random_scenario
from walkout.sim.paths import PathPlanner, gondola_footprints
from walkout.sim.people import body_at
from walkout.sim.pipeline import simulate_timeline
from walkout.sim.schedule import Timeline


@pytest.fixture(scope="module")
def crowd(store: Store) -> tuple[Recording, GroundTruth, Timeline]:
    return simulate_timeline(random_scenario(store, 6, 180.0, seed=33), store, seed=33)


def test_every_shopper_scanned_before_crossing_the_entry(aifi_runs, crowd) -> None:
    runs = [*aifi_runs.values(), crowd[:2]]
    for rec, truth in runs:
        scans = rec.scans
        assert list(scans.gate_id) == ["entry"] * len(truth.shoppers)
        assert np.all(np.diff(scans.t_s) >= 0)
        for s in truth.shoppers:
            (k,) = np.flatnonzero(scans.token == s.token)
            assert 0.5 - 1e-9 <= s.entry_t_s - scans.t_s[k] <= 2.0 + 1e-9
            assert 0 < scans.t_s[k] < s.entry_t_s < s.exit_t_s < rec.meta.duration_s


def test_gate_crossings_in_the_body_paths(store: Store, crowd) -> None:
    _, truth, tl = crowd
    gates = {g.kind: g for g in store.gates}
    for s, tr in zip(truth.shoppers, tl.shoppers, strict=True):
        for t_cross, gate, sign in ((s.entry_t_s, gates["entry"], 1), (s.exit_t_s, gates["exit"], -1)):
            xy = body_at(tr, np.array([t_cross - 0.1, t_cross, t_cross + 0.1]))[0]
            assert xy[1, 1] == pytest.approx(gate.a_xy_m[1], abs=1e-9)
            assert gate.a_xy_m[0] <= xy[1, 0] <= gate.b_xy_m[0]
            assert sign * (xy[0, 1] - gate.a_xy_m[1]) < 0 < sign * (xy[2, 1] - gate.a_xy_m[1])
        start = body_at(tr, np.array([tr.appear_t_s, tr.disappear_t_s]))[0]
        assert np.allclose(start[:, 1], -2.6, atol=1e-6)
        assert 0.85 <= tr.disappear_t_s - s.exit_t_s <= 1.15


def test_people_streams_cover_each_visit(crowd) -> None:
    rec, truth, tl = crowd
    obs = rec.people
    assert obs.t_s.min() <= min(s.scan_t_s for s in tl.shoppers)
    for s in truth.shoppers:
        assert np.any(np.abs(obs.t_s - s.entry_t_s) < 0.2) and np.any(np.abs(obs.t_s - s.exit_t_s) < 0.2)
    outside = obs.head_xyz_m[:, 1] < -2.45
    assert outside.any()


def test_everybody_leaves_in_time_and_walks_between_gondolas(store: Store, crowd) -> None:
    _, truth, tl = crowd
    fps = gondola_footprints(store)
    x0, y0, x1, y1 = store.floor_ltrb_m
    for tr in tl.shoppers:
        t = np.arange(tr.appear_t_s, tr.disappear_t_s, 0.05)
        xy, face, _ = body_at(tr, t)
        assert np.min([fp.distance(xy) for fp in fps]) > 0.2
        assert np.all((xy[:, 0] > x0) & (xy[:, 0] < x1) & (xy[:, 1] > y0) & (xy[:, 1] < y1))
        assert np.allclose(np.hypot(*face.T), 1.0)
        moves = np.hypot(*np.diff(xy, axis=0).T) / 0.05
        assert moves.max() <= 1.4 + 1e-6
    assert max(s.exit_t_s for s in truth.shoppers) < tl.duration_s


def test_planner_detours_around_a_gondola(store: Store) -> None:
    planner = PathPlanner(store)
    straight = planner.path(np.array([-0.5, -2.0]), np.array([3.0, -0.4]))
    assert len(straight) == 2
    around = planner.path(np.array([4.7, -1.6]), np.array([4.7, 0.0]))  # gondola 5 is in between
    assert len(around) > 2
    fps = gondola_footprints(store)
    for a, b in zip(around[:-1], around[1:], strict=True):
        pts = a + np.linspace(0, 1, 50)[:, None] * (b - a)
        assert np.min([fp.distance(pts) for fp in fps]) >= 0.25 - 1e-6


def test_planner_walks_around_a_standing_person(store: Store) -> None:
    planner = PathPlanner(store)
    a, b, person = np.array([1.0, -0.35]), np.array([3.0, -0.35]), np.array([2.0, -0.38])
    assert len(planner.path(a, b)) == 2  # along the shelves, straight through where they stand
    around = planner.path(a, b, np.array([person]))
    pts = np.vstack([p + np.linspace(0, 1, 50)[:, None] * (q - p) for p, q in zip(around[:-1], around[1:], strict=True)])
    assert np.min(np.max(np.abs(pts - person), axis=1)) >= planner.person_m + planner.margin - 1e-6
    # setting off right next to somebody still finds a way past them
    close = planner.path(np.array([1.6, -0.35]), b, np.array([person]))
    assert np.min(np.hypot(*(np.vstack([close[1:-1], close[-1:]]) - person).T)) > 0.3


def test_people_do_not_walk_through_each_other(store: Store) -> None:
    """Shoppers route around those standing at shelves and take turns at a spot: in busy 2-minute
    scenarios, two people are rarely closer than 0.3 m (the scheduler that ignored others let
    them pass through each other 190-340 frames in each of seeds 0, 1 and 3; routing around them
    brought seeds 0-7 to 1,614 frames in all, not reaching across each other to about 980)."""
    close = [_close_frames(store, 120.0, seed, 0.3) for seed in range(8)]
    assert sum(close) < 1200, close


def _close_frames(store: Store, duration_s: float, seed: int, within_m: float) -> int:
    """(pair, 15 Hz frame) counts of two shoppers' bodies within ``within_m`` on the floor plane,
    in the random 6-shopper scenario of ``seed``."""
    _, _, tl = simulate_timeline(random_scenario(store, 6, duration_s, seed), store, seed)
    t = np.arange(0.0, tl.duration_s, 1.0 / 15.0)
    xy = np.stack([np.where(((t >= s.appear_t_s) & (t <= s.disappear_t_s))[:, None], body_at(s, t)[0], np.nan)
                   for s in tl.shoppers], axis=1)
    d = np.hypot(*(xy[:, :, None, :] - xy[:, None, :, :]).transpose(3, 0, 1, 2))
    return int(np.sum(np.triu(d < within_m, k=1)))


def _arm_over_head_frames(rec: Recording) -> int:
    """Frames in which a shopper's extended arm (shoulder to hand, floor plane, longer than 0.25 m)
    passes within 0.15 m of another shopper's head."""
    body = rec.depth.body_truth()
    names, kp = body.keypoint_names, body.keypoints_xyz_m[..., :2]
    head = kp[:, :, names.index("head")]
    n = 0
    for side in ("left", "right"):
        a, b = kp[:, :, names.index(f"{side}_shoulder")], kp[:, :, names.index(f"{side}_hand")]
        ab = b - a
        for o in range(kp.shape[1]):
            f = np.clip(np.sum((head[:, None, o] - a) * ab, axis=2) / np.maximum(np.sum(ab * ab, axis=2), 1e-12), 0, 1)
            d = np.linalg.norm(a + f[..., None] * ab - head[:, None, o], axis=2)
            over = (d < 0.15) & (np.linalg.norm(ab, axis=2) > 0.25)
            over[:, o] = False
            n += int(np.sum(np.nan_to_num(over)))
    return n


def test_shoppers_do_not_reach_across_each_other(store: Store) -> None:
    """Nobody reaches across a neighbour who is reaching (the arm would go through the other's
    head). In the AiFi replay where it happened (BASELINE-8, batch seeds 0 and 2: 22 and 13 frames
    with the scheduler that ignored the neighbour's reach), no arm passes over another shopper's
    head. In busy 2-minute scenarios a shopper whose every spot stays taken still takes the least
    crowded one, so it still happens, less often (seeds 0-5: 378 frames before, about 140 now)."""
    from walkout.sim.pipeline import load_aifi_scenarios, recording_seed, simulate

    scen = {s.name: (k, s) for k, s in enumerate(load_aifi_scenarios(embedded_store_dir() / "ground_truth_dev.json", store))}
    k, baseline8 = scen["BASELINE-8"]
    runs = [simulate(baseline8, store, recording_seed(seed, k))[0] for seed in (0, 2)]
    assert [_arm_over_head_frames(rec) for rec in runs] == [0, 0]
    crowded = [_arm_over_head_frames(simulate_timeline(random_scenario(store, 6, 120.0, seed), store, seed)[0])
               for seed in range(6)]
    assert sum(crowded) < 200, crowded


def test_nobody_stands_on_a_spot_taken_while_its_shopper_waits_for_the_shelf(store: Store) -> None:
    """A shopper who stands at a spot until the shelf is free (another shopper's event there) keeps
    that spot for the whole wait, and one who waits where they are for a spot is seen there: in
    busy 3-minute scenarios (seeds 0-4) two people are rarely within 0.05 m of each other (78
    frames when the spot was kept only for the first 6 s: a second shopper stepped onto it for
    5 s at seed 2)."""
    inside = sum(_close_frames(store, 180.0, seed, 0.05) for seed in range(5))
    assert inside < 30, inside


def test_store_layout_is_built_once_per_store_and_read_only(store: Store) -> None:
    from walkout.sim.schedule import plate_geometry, store_layout

    geo, planner = store_layout(store)
    again = store_layout(store)
    assert again[0] is geo and again[1] is planner
    assert np.array_equal(geo.front_m, plate_geometry(store).front_m)
    with pytest.raises(ValueError, match="read-only"):
        geo.front_m[0, 0] = 0.0
