"""Depth + RGB rendering: static scene, people, sensor faults, determinism, laziness."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from walkout.core.camera import backproject, pixel_rays, project_points
from walkout.core.frames import DepthFrames
from walkout.core.store import Camera, Store
from walkout.sim import DepthParams, Physiques, SimDepthSource, SimParams, random_scenario, simulate
from walkout.sim.depth import scene_boxes, static_background
from walkout.sim.pipeline import _streams, simulate_timeline
from walkout.sim.schedule import ShopperTrack, Timeline

DEPTH_IDS = ("21-depth", "22-depth", "23-depth", "25-depth", "26-depth", "w1-depth", "w2-depth", "w3-depth", "w4-depth")
SHIRT = (200, 40, 40)


def _camera(store: Store, cid: str) -> Camera:
    return next(c for c in store.cameras if c.id == cid)


def _standing(xy: tuple[float, float], face: tuple[float, float], height_m: float, duration_s: float = 1.0) -> Timeline:
    """One shopper standing still for the whole recording."""
    track = ShopperTrack(
        key="s0", account_id="demo-000", payer_key=None, role="customer", height_m=height_m, appear_t_s=0.0, scan_t_s=0.0, entry_t_s=0.0,
        exit_t_s=duration_s, disappear_t_s=duration_s, seg_t0_s=np.array([0.0]), seg_t1_s=np.array([duration_s]),
        seg_p0_m=np.array([xy], float), seg_p1_m=np.array([xy], float), seg_face_xy=np.array([face], float),
    )  # fmt: skip
    e, e2 = np.empty(0), np.empty((0, 2))
    return Timeline(
        shoppers=(track,), reach_shopper=np.empty(0, np.int64), reach_hand=np.empty(0, np.int64),
        reach_target_m=np.empty((0, 3)), reach_t_s=np.empty((0, 4)), change_plate=np.empty(0, np.int64),
        change_delta_g=e, change_t_s=e2, change_rest_t0_s=e, change_rest_frac=e, touch_plate=np.empty(0, np.int64),
        touch_t_s=e2, touch_g=e, events=(), duration_s=duration_s,
    )  # fmt: skip


def _physique() -> Physiques:
    c = lambda rgb: np.array([rgb], np.uint8)  # noqa: E731
    return Physiques(
        np.ones(1), np.zeros(1), c(SHIRT), c((40, 50, 160)), c((230, 190, 160)), c((30, 25, 20)), c((20, 20, 20)),
        np.zeros(1, bool),
    )  # fmt: skip


def _source(store: Store, tl: Timeline, seed: int = 0, **depth: float) -> SimDepthSource:
    params = SimParams(depth=DepthParams(**depth))
    return SimDepthSource(store, tl, _physique(), params, np.random.default_rng(seed))


def _all(src: SimDepthSource, chunk_s: float = 1.0) -> DepthFrames:
    parts = list(src.chunks(chunk_s))
    rgb = [p.rgb for p in parts]
    assert all(r is not None for r in rgb)
    return DepthFrames(
        src.camera_ids,
        np.concatenate([p.t_s for p in parts]),
        np.concatenate([p.depth_mm for p in parts], axis=1),
        np.concatenate(rgb, axis=1),  # type: ignore[arg-type]
        np.concatenate([p.valid for p in parts], axis=1),
    )


@pytest.fixture(scope="module")
def under(store: Store) -> tuple[SimDepthSource, DepthFrames]:
    """A 1.80 m shopper standing right under the downward unit w2-depth (2.5 m up)."""
    src = _source(store, _standing((1.3, -1.7), (0.0, 1.0), 1.80), drop_frame_prob=0.0)
    return src, _all(src)


@pytest.fixture(scope="module")
def beside(store: Store) -> tuple[SimDepthSource, DepthFrames]:
    """A 1.70 m shopper 1 m to the side of w2-depth, facing +y (left hand toward the unit)."""
    src = _source(store, _standing((2.3, -1.7), (0.0, 1.0), 1.70), drop_frame_prob=0.0)
    return src, _all(src)


def test_source_layout(store: Store, under: tuple[SimDepthSource, DepthFrames]) -> None:
    src, fr = under
    assert src.camera_ids == DEPTH_IDS and (src.width_px, src.height_px, src.fps) == (320, 240, 15.0)
    assert fr.depth_mm.shape == (9, 16, 240, 320) and fr.depth_mm.dtype == np.uint16
    assert fr.rgb is not None and fr.rgb.shape == (9, 16, 240, 320, 3)
    assert np.allclose(fr.t_s, np.arange(16) / 15.0)
    empty = src.empty_store()
    assert empty.depth_mm.shape == (9, 10, 240, 320) and empty.valid.all()
    with pytest.raises(ValueError, match="chunk_s"):
        next(src.chunks(0.0))


def test_empty_floor_reads_the_floor_distance(under: tuple[SimDepthSource, DepthFrames]) -> None:
    src, _ = under
    d = src.empty_store().depth_mm[DEPTH_IDS.index("w2-depth"), :, 140:, :].astype(float)  # toward -y: floor only
    d = d[d > 0]
    assert np.median(d) == pytest.approx(2500.0, abs=2.0)  # the unit is 2.5 m above the floor
    assert np.std(d) == pytest.approx(0.004 * 2.5**2 * 1000, rel=0.1)  # sigma = k z^2 = 25 mm


def test_static_scene_shows_the_shelf_tops(store: Store) -> None:
    boxes = scene_boxes(store, 0.03)
    checked = 0
    for cam in (c for c in store.cameras if c.kind == "depth"):
        depth_m, rgb = static_background(cam, boxes, 320, 240)
        assert depth_m.dtype == np.float32 and rgb.shape == (240, 320, 3)
        for sh in (s for s in store.shelves if s.index == 6):  # top shelves: nothing above them but backboards
            grid = np.stack(np.meshgrid(np.linspace(0.1, 0.9, 5), np.linspace(0.1, 0.9, 5)), -1).reshape(-1, 2)
            local = np.c_[grid * np.array(sh.size_m[:2]), np.zeros(len(grid)), np.ones(len(grid))]
            world = (local @ store.world_from_shelf(sh.gondola, sh.index).T)[:, :3]
            uv, z = project_points(cam, world, 320, 240)
            inside = np.all(np.isfinite(uv), axis=1) & np.all((uv >= 0) & (uv <= [319, 239]), axis=1)
            px = np.round(uv[inside]).astype(int)
            got = depth_m[px[:, 1], px[:, 0]]
            assert np.all(got <= z[inside] + 0.02)  # never the floor behind the board
            checked += int(np.sum(np.abs(got - z[inside]) < 0.02))
    assert checked > 50
    floor = static_background(_camera(store, "w2-depth"), boxes, 320, 240)[0]
    assert np.allclose(floor[140:], 2.5, atol=1e-4)


def test_person_under_a_unit_shows_the_head_top(under: tuple[SimDepthSource, DepthFrames]) -> None:
    src, fr = under
    ci = DEPTH_IDS.index("w2-depth")
    d = fr.depth_mm[ci].astype(float)
    near = (d > 0) & (d < 2500 - 300)
    assert near.sum(axis=(1, 2)).min() > 500  # a body's worth of pixels in every frame
    head = np.percentile(d[near].reshape(-1), 0.5)
    assert head == pytest.approx((2.5 - 1.80) * 1000, abs=30)  # head top at the stature


def test_hand_pixel_backprojects_to_the_true_hand(store: Store, beside: tuple[SimDepthSource, DepthFrames]) -> None:
    src, fr = beside
    cam = _camera(store, "w2-depth")
    ci = DEPTH_IDS.index("w2-depth")
    hand = src.body_truth().keypoint("left_hand")[:, 0]
    uv, _ = project_points(cam, hand, 320, 240)
    rays = pixel_rays(cam, 320, 240)
    errors = []
    for f in range(len(fr)):
        u, v = np.round(uv[f]).astype(int)
        dv, du = (g.reshape(-1) for g in np.mgrid[-1:2, -1:2])
        d = fr.depth_mm[ci, f, v + dv, u + du] / 1000.0
        if not d.any():
            continue  # all nine lost (edges, holes): rare
        k = np.flatnonzero(d)[np.argmin(np.hypot(v + dv - uv[f, 1], u + du - uv[f, 0])[d > 0])]
        point = backproject(cam, rays[v + dv[k], u + du[k]][None], d[k : k + 1])[0]
        errors.append(np.linalg.norm(point - hand[f]))
    assert len(errors) >= 0.8 * len(fr)
    assert max(errors) < 0.08 and np.median(errors) < 0.025 * 1.70 + 0.015  # the hand's surface, within noise


def test_rgb_shows_the_shirt_at_the_torso(store: Store, beside: tuple[SimDepthSource, DepthFrames]) -> None:
    src, fr = beside
    cam = _camera(store, "w2-depth")
    bt = src.body_truth()
    chest = 0.5 * (bt.keypoint("neck")[:, 0] + bt.keypoint("pelvis")[:, 0])
    uv, _ = project_points(cam, chest, 320, 240)
    assert fr.rgb is not None
    ci = DEPTH_IDS.index("w2-depth")
    for f in range(len(fr)):
        u, v = np.round(uv[f]).astype(int)
        patch = fr.rgb[ci, f, v - 1 : v + 2, u - 1 : u + 2].reshape(-1, 3)
        seen = fr.depth_mm[ci, f, v - 1 : v + 2, u - 1 : u + 2].reshape(-1) > 0
        ratio = np.median(patch[seen], axis=0) / np.array(SHIRT)
        assert np.all((ratio > 0.65) & (ratio < 1.02)), (f, ratio)  # the shirt, shaded 0.7-1.0
        assert np.ptp(ratio) < 0.1  # same hue


def _digests(src: SimDepthSource, chunk_s: float, n_frames: int) -> list[str]:
    """SHA-1 of every unit's depth, colour and validity, per frame, for the first ``n_frames`` frames."""
    out: list[str] = []
    for ch in src.chunks(chunk_s):
        assert ch.rgb is not None
        for f in range(len(ch)):
            out.append(
                hashlib.sha1(
                    ch.depth_mm[:, f].tobytes() + ch.rgb[:, f].tobytes() + ch.valid[:, f].tobytes()
                ).hexdigest()
            )
        if len(out) >= n_frames:
            break
    return out[:n_frames]


def test_same_seed_same_bytes_different_seed_differs(store: Store) -> None:
    sc = random_scenario(store, 2, 30.0, seed=5)
    a, _ = simulate(sc, store, seed=11)
    b, _ = simulate(sc, store, seed=11)
    c, _ = simulate(sc, store, seed=12)
    assert isinstance(a.depth, SimDepthSource) and isinstance(b.depth, SimDepthSource)
    assert isinstance(c.depth, SimDepthSource)
    n = 75  # five seconds: both shoppers come in
    da = _digests(a.depth, 1.0, n)
    assert da == _digests(b.depth, 1.0, n)
    assert da == _digests(a.depth, 2.7, n)  # iterating again, in other chunks: the same frames
    dc = _digests(c.depth, 1.0, n)
    assert sum(x != y for x, y in zip(da, dc, strict=True)) == n


def test_dropped_frames_are_zero_and_invalid(store: Store) -> None:
    src = _source(store, _standing((1.3, -1.7), (0.0, 1.0), 1.7, duration_s=3.0), drop_frame_prob=0.3)
    fr = _all(src)
    assert fr.rgb is not None
    assert 0.2 < (~fr.valid).mean() < 0.4
    assert not fr.depth_mm[~fr.valid].any() and not fr.rgb[~fr.valid].any()
    assert np.all(fr.depth_mm[fr.valid].reshape(int(fr.valid.sum()), -1).any(axis=1))


def test_missing_pixels_within_the_documented_range(store: Store) -> None:
    rec, _, _ = simulate_timeline(random_scenario(store, 3, 30.0, seed=2), store, seed=2)
    assert isinstance(rec.depth, SimDepthSource)
    missing = []
    for i, ch in enumerate(rec.depth.chunks(1.0)):
        if i % 5 == 0:
            assert ch.rgb is not None
            d = ch.depth_mm[ch.valid]
            missing.append((d == 0).mean(axis=(1, 2)))
            assert not ch.rgb[ch.valid][d == 0].any()  # colour registered to depth: black without a return
    share = np.concatenate(missing)
    assert 0.02 <= share.mean() <= 0.05 and np.percentile(share, 95) <= 0.06
    empty = rec.depth.empty_store().depth_mm
    assert 0.02 <= (empty == 0).mean() <= 0.05


def test_pipeline_attaches_a_lazy_source_and_keeps_the_other_streams(store: Store) -> None:
    rec, _ = simulate(random_scenario(store, 1, 30.0, seed=1), store, seed=1)
    assert isinstance(rec.depth, SimDepthSource) and rec.depth.camera_ids == DEPTH_IDS
    old = np.random.SeedSequence(7).spawn(5)
    new = _streams(7)
    for name, ss in zip(("stock", "resolve", "schedule", "loadcell", "people"), old, strict=True):
        assert new[name].integers(2**62) == np.random.default_rng(ss).integers(2**62)
