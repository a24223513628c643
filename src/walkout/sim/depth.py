"""Simulated ceiling RGB-D units: depth and registered colour frames of the store and its shoppers.

:class:`SimDepthSource` implements :class:`~walkout.core.frames.DepthSource` for every camera of
kind ``"depth"`` of the store, at the :class:`~walkout.sim.params.DepthParams` resolution (the
calibrations' normalised intrinsics scaled by :func:`~walkout.core.camera.intrinsics_px`; depth
units have no lens distortion). Frames are rendered lazily while :meth:`SimDepthSource.chunks`
is iterated and never stored.

* **Static scene** (once per camera and process): rays of every pixel
  (:func:`~walkout.core.camera.pixel_rays`) against the floor plane z = 0 and the boxes of the
  gondolas (their backboards, ``Gondola.size_m``) and of the shelf boards (each shelf's footprint,
  ``shelf_board_m`` thick below its plate surface), by the slab test (Kay & Kajiya 1986, "Ray
  tracing complex scenes", SIGGRAPH). Colour: flat albedo per surface, shaded by the face's
  normal (tops brighter), floor tiles with darker joints.
* **People** (per frame): the body capsules of :mod:`walkout.sim.body`. Each capsule's outline
  in the image is the convex hull of its two end discs (radius / depth, in normalised image
  coordinates, so non-square pixels come out right), filled with OpenCV into a label image in
  painter's order (farthest capsule first). Each labelled pixel then gets the depth of the
  capsule's near surface along its ray: the axis point under the pixel (inverse depth linear in
  the image, as in perspective-correct interpolation) minus the half chord of the capsule's
  circular cross-section, and a colour shaded by the same chord. People are composited with the
  static scene per pixel (nearer wins), so shelves occlude hands reaching behind their boards.
* **Sensor model** (:class:`~walkout.sim.params.DepthParams`): Gaussian depth noise of sigma
  ``noise_k_per_m * z**2``; no return at depth edges (either side, probability
  ``edge_drop_prob``), in small holes (``hole_frac``) and out of range; colour noise; dropped
  frames (``valid`` False, every pixel 0). Colour is black wherever depth is 0, as RealSense
  ``align_to(depth)`` output. Every frame starts as a copy of one of a small bank of noisy
  empty-store frames per unit (picked at random per frame), so a frame with nobody in view costs
  one memory copy; people pixels draw their noise from a shared bank of standard normals at a
  random offset, and their edges are where the 3x3 morphological gradient of their depth exceeds
  ``edge_step_m``.

Randomness comes only from the generator passed to the constructor: it seeds the frame streams,
so iterating :meth:`SimDepthSource.chunks` twice (with any ``chunk_s``) yields identical frames.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from walkout.core.camera import camera_from_world, intrinsics_px, pixel_rays, project_points, world_from_camera
from walkout.core.frames import DepthFrames
from walkout.core.store import Camera, Store
from walkout.sim.body import BodyTruth, Physiques, body_truth, capsule_outlines, capsule_surface, capsules
from walkout.sim.params import SimParams
from walkout.sim.schedule import Timeline

#: depth (metres) of a ray that hits nothing (it reads 0: beyond ``max_range_m``)
NO_HIT_M = 1000.0
_FLOOR_RGB, _JOINT_RGB, _BACKBOARD_RGB, _BOARD_RGB = (176, 172, 160), (120, 118, 112), (222, 222, 216), (150, 156, 168)
_TILE_M, _JOINT_M = 0.6, 0.012
_NOISE_BANK = 1 << 20
_CROSS = _SMALL = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
_BIG = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
_RGB = np.dtype((np.void, 3))  # one pixel's three colour bytes: scatters (n, 3) uint8 rows in one go
_SHADES = 16  # shading levels of a capsule's colour, 0.7 (silhouette) to 1.0 (facing the camera)


def _shade_lut(rgb: NDArray[np.uint8]) -> NDArray[np.void]:
    """(p * _SHADES + 1,) colours (3 bytes) of p capsules at every shading level, then black."""
    shade = 0.7 + 0.3 * np.arange(_SHADES) / (_SHADES - 1)
    lut = np.zeros((len(rgb) * _SHADES + 1, 3), np.uint8)
    lut[:-1] = np.round(rgb[:, None, :] * shade[None, :, None]).reshape(-1, 3)
    return lut.reshape(-1).view(_RGB)


Box = tuple[tuple[float, ...], tuple[float, float, float], tuple[int, int, int]]


def scene_boxes(store: Store, board_m: float) -> tuple[Box, ...]:
    """The store's static boxes: gondola backboards and shelf boards.

    Args:
        store: the store.
        board_m: shelf board thickness, below the shelf frame's z = 0 (the plates' surface).

    Returns:
        Hashable ``(world_from_box (16 floats, row-major 4x4), size_m (x, y, z), rgb)`` per box;
        a box spans ``[0, size]`` along its local axes.
    """
    boxes: list[Box] = []
    for g in store.gondolas:
        boxes.append((tuple(g.pose.matrix().ravel()), g.size_m, _BACKBOARD_RGB))
    down = np.eye(4)
    down[2, 3] = -board_m
    for s in store.shelves:
        m = store.world_from_shelf(s.gondola, s.index) @ down
        boxes.append((tuple(m.ravel()), (s.size_m[0], s.size_m[1], board_m), _BOARD_RGB))
    return tuple(boxes)


def _floor_rgb(xy: NDArray[np.float64]) -> NDArray[np.float64]:
    """(n, 3) floor colour at world xy (n, 2): tiles of ``_TILE_M`` with darker joints."""
    off = np.abs((xy + 0.5 * _TILE_M) % _TILE_M - 0.5 * _TILE_M)
    joint = np.any(off > 0.5 * _TILE_M - _JOINT_M, axis=1)
    return np.where(joint[:, None], np.array(_JOINT_RGB, float), np.array(_FLOOR_RGB, float))


@functools.lru_cache(maxsize=64)
def static_background(
    camera: Camera, boxes: tuple[Box, ...], width_px: int, height_px: int
) -> tuple[NDArray[np.float32], NDArray[np.uint8]]:
    """Noise-free depth and colour of the empty store seen by one camera (cached per process).

    Args:
        camera: a calibrated depth camera.
        boxes: :func:`scene_boxes` of the store.
        width_px, height_px: image size.

    Returns:
        ``(depth_m, rgb)``: (H, W) float32 camera-frame z of the nearest surface in metres
        (:data:`NO_HIT_M` where the ray hits nothing) and (H, W, 3) uint8 shaded colour.
    """
    rays = pixel_rays(camera, width_px, height_px).reshape(-1, 2)
    m = world_from_camera(camera)
    org, dirs = m[:3, 3], np.c_[rays, np.ones(len(rays))] @ m[:3, :3].T  # ray(t) = org + t dirs, t = depth
    down = dirs[:, 2] < -1e-9
    best = np.where(down, -org[2] / np.where(down, dirs[:, 2], -1.0), NO_HIT_M)
    rgb = _floor_rgb(org[:2] + best[:, None] * dirs[:, :2]) * np.where(down, 1.0, 0.0)[:, None]
    for flat, size, colour in boxes:
        wb = np.array(flat).reshape(4, 4)
        px = _box_pixels(camera, wb, size, width_px, height_px)
        inv = np.linalg.inv(wb)
        o, d = inv[:3, :3] @ org + inv[:3, 3], dirs[px] @ inv[:3, :3].T
        d = np.where(np.abs(d) < 1e-12, 1e-12, d)
        t0, t1 = (0.0 - o) / d, (np.array(size) - o) / d
        near, far = np.minimum(t0, t1), np.maximum(t0, t1)
        tn, axis = near.max(axis=1), near.argmax(axis=1)
        hit = (tn <= far.min(axis=1)) & (tn > 0) & (tn < best[px])
        best[px[hit]] = tn[hit]
        shade = 0.6 + 0.4 * np.abs(wb[2, axis[hit]])  # the hit face's normal is the box axis
        rgb[px[hit]] = np.array(colour, float) * shade[:, None]
    depth = best.astype(np.float32).reshape(height_px, width_px)
    return depth, np.clip(np.round(rgb), 0, 255).astype(np.uint8).reshape(height_px, width_px, 3)


def _box_pixels(
    camera: Camera, world_from_box: NDArray[np.float64], size: tuple[float, float, float], width_px: int, height_px: int
) -> NDArray[np.intp]:
    """Flat indices of the pixels that may see a box: its corners' bounding box (all, if one is behind)."""
    corners = np.array([[x, y, z] for x in (0, size[0]) for y in (0, size[1]) for z in (0, size[2])])
    uv, z = project_points(camera, corners @ world_from_box[:3, :3].T + world_from_box[:3, 3], width_px, height_px)
    if np.any(z <= 0.01):
        return np.arange(width_px * height_px)
    u0, v0 = np.clip(np.floor(uv.min(axis=0)).astype(int), 0, [width_px, height_px])
    u1, v1 = np.clip(np.ceil(uv.max(axis=0)).astype(int) + 1, 0, [width_px, height_px])
    return (np.arange(v0, v1)[:, None] * width_px + np.arange(u0, u1)[None, :]).reshape(-1)


@dataclass(frozen=True)
class _Unit:
    """One depth camera's static data.

    Attributes:
        camera: the camera.
        pix: (H * W, 4) float32 per pixel (row-major): normalised ray x, y, the ray's cosine to
            the optical axis, the empty store's depth in metres.
        bg_m, bg_rgb, bg_edges: (H, W) empty-store depth (metres), colour, depth edges.
    """

    camera: Camera
    pix: NDArray[np.float32]
    bg_m: NDArray[np.float32]
    bg_rgb: NDArray[np.uint8]
    bg_edges: NDArray[np.bool_]


@dataclass(frozen=True)
class _Bank:
    """Noisy empty-store frames of one unit: (B, H, W) uint16, (B, H, W, 3) uint8, (B, H, W) bool holes."""

    depth_mm: NDArray[np.uint16]
    rgb: NDArray[np.uint8]
    holes: NDArray[np.bool_]


@dataclass(frozen=True)
class _Projected:
    """Body capsules of a chunk seen by every camera (c cameras, n frames, p capsules).

    Attributes:
        poly: (c, n, p, V, 2) int32 pixel outline of each capsule.
        par: (c, n, p, 8) float32 surface parameters (:func:`~walkout.sim.body.capsule_outlines`).
        order: (c, n, p) int64 capsules by decreasing depth, the visible ones first.
        count: (c, n) int64 visible capsules.
        roi: (c, n, 4) int64 v0, v1, u0, u1 bounding box of the visible capsules.
    """

    poly: NDArray[np.int32]
    par: NDArray[np.float32]
    order: NDArray[np.int64]
    count: NDArray[np.int64]
    roi: NDArray[np.int64]


class SimDepthSource:
    """The simulated store's ceiling RGB-D units (a :class:`~walkout.core.frames.DepthSource`).

    Args:
        store: the store; its cameras of kind ``"depth"`` are rendered, in store order.
        timeline: the recording's shoppers and reaches.
        physiques: the shoppers' builds, colours and gait phases (:func:`~walkout.sim.body.draw_physiques`).
        params: simulator parameters (``depth`` for the sensors, ``people`` for the body motion).
        rng: random generator; a few words are drawn from it to seed every frame stream.

    Attributes:
        camera_ids, width_px, height_px, fps: as in :class:`~walkout.core.frames.DepthSource`.
        t_s: (N,) float64 frame times ``k / fps`` covering the recording.
        physiques: the per-shopper variation the renderer uses.
    """

    def __init__(
        self,
        store: Store,
        timeline: Timeline,
        physiques: Physiques,
        params: SimParams,
        rng: np.random.Generator,
    ) -> None:
        p = params.depth
        self.cameras = tuple(c for c in store.cameras if c.kind == "depth")
        self.camera_ids = tuple(c.id for c in self.cameras)
        self.width_px, self.height_px, self.fps = p.width_px, p.height_px, p.fps
        self.timeline, self.physiques, self.params = timeline, physiques, params
        self.t_s = np.arange(int(np.floor(timeline.duration_s * p.fps)) + 1) / p.fps
        self._boxes = scene_boxes(store, p.shelf_board_m)
        self._entropy = [int(x) for x in rng.integers(0, 2**63 - 1, size=4)]

    # ---- public
    def body_truth(self, t_s: NDArray[np.float64] | None = None) -> BodyTruth:
        """Ground-truth keypoints of the rendered bodies at ``t_s`` (default: every frame time)."""
        t = self.t_s if t_s is None else np.asarray(t_s, dtype=np.float64)
        return body_truth(self.timeline, self.physiques, t, self.params.people)

    def empty_store(self) -> DepthFrames:
        """``empty_store_frames`` fresh noisy frames per unit of the empty store (none dropped).

        Their times are ``k / fps`` of the calibration capture, not of the recording.
        """
        units, n = self._units(), self.params.depth.empty_store_frames
        rng = self._rng(2)
        normal = rng.standard_normal(_NOISE_BANK, dtype=np.float32)
        banks = [self._bank(u, n, normal, rng) for u in units]
        return DepthFrames(
            camera_ids=self.camera_ids,
            t_s=np.arange(n) / self.fps,
            depth_mm=np.stack([b.depth_mm for b in banks]),
            rgb=np.stack([b.rgb for b in banks]),
            valid=np.ones((len(units), n), dtype=bool),
        )

    def chunks(self, chunk_s: float) -> Iterator[DepthFrames]:
        """Render the recording's frames in consecutive chunks of ``round(chunk_s * fps)`` frames (>= 1).

        Raises:
            ValueError: ``chunk_s`` is not positive.
        """
        if not chunk_s > 0:
            raise ValueError(f"chunk_s: expected > 0, got {chunk_s}")
        return self._chunks(max(1, int(round(chunk_s * self.fps))))

    # ---- internals
    def _rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(self._entropy, spawn_key=(stream,)))

    def _units(self) -> list[_Unit]:
        w, h = self.width_px, self.height_px
        units = []
        for cam in self.cameras:
            rays = pixel_rays(cam, w, h).reshape(-1, 2)
            bg_m, bg_rgb = static_background(cam, self._boxes, w, h)
            cos = 1.0 / np.sqrt(1.0 + (rays * rays).sum(axis=1))
            pix = np.stack([rays[:, 0], rays[:, 1], cos, bg_m.ravel()], axis=1).astype(np.float32)
            edges = cv2.morphologyEx(bg_m, cv2.MORPH_GRADIENT, _CROSS) > self.params.depth.edge_step_m
            units.append(_Unit(cam, pix, bg_m, bg_rgb, edges))
        return units

    def _bank(self, unit: _Unit, count: int, normal: NDArray[np.float32], rng: np.random.Generator) -> _Bank:
        """``count`` noisy frames of the empty store seen by ``unit``."""
        p = self.params.depth
        h, w = unit.bg_m.shape
        hw = h * w
        depth = np.empty((count, h, w), np.uint16)
        rgb = np.empty((count, h, w, 3), np.uint8)
        holes = np.empty((count, h, w), bool)
        z = unit.bg_m
        for i in range(count):
            o = rng.integers(0, len(normal) - 3 * hw, size=2)
            noisy = z + p.noise_k_per_m * z * z * normal[o[0] : o[0] + hw].reshape(h, w)
            holes[i] = self._speckle(h, w, rng)
            lost = holes[i] | (unit.bg_edges & (rng.random((h, w), dtype=np.float32) < p.edge_drop_prob))
            lost |= (z < p.min_range_m) | (z > p.max_range_m)
            depth[i] = np.where(lost, 0, np.round(noisy * 1000.0)).astype(np.uint16)
            col = unit.bg_rgb + p.rgb_sigma * normal[o[1] : o[1] + 3 * hw].reshape(h, w, 3)
            rgb[i] = np.clip(np.round(col), 0, 255).astype(np.uint8) * (depth[i] > 0)[:, :, None]
        return _Bank(depth, rgb, holes)

    def _speckle(self, h: int, w: int, rng: np.random.Generator) -> NDArray[np.bool_]:
        """(h, w) bool small holes: 2/3 of ``hole_frac`` as 3x3 crosses (5 px), 1/3 as 5x5 discs (17 px)."""
        frac = self.params.depth.hole_frac
        u = rng.random((h, w), dtype=np.float32)
        small = cv2.dilate((u < frac * 2 / 3 / _SMALL.sum()).astype(np.uint8), _SMALL)
        big = cv2.dilate((u > 1.0 - frac / 3 / _BIG.sum()).astype(np.uint8), _BIG)
        return np.logical_or(small, big)

    def _setup(self) -> _Pass:
        """Everything one pass over the recording needs: units, noise banks, per-frame draws, bodies."""
        p = self.params.depth
        units = self._units()
        rng_bank, rng_frames = self._rng(0), self._rng(1)
        normal = rng_bank.standard_normal(_NOISE_BANK, dtype=np.float32)
        uniform = rng_bank.random(_NOISE_BANK, dtype=np.float32)
        banks = [self._bank(u, p.bank_frames, normal, rng_bank) for u in units]
        c, n = len(units), len(self.t_s)
        draws = _FrameDraws(
            bank=rng_frames.integers(0, p.bank_frames, size=(c, n)),
            dropped=rng_frames.random((c, n)) < p.drop_frame_prob,
            offset=rng_frames.integers(0, _NOISE_BANK - self.width_px * self.height_px, size=(c, n, 2)),
        )
        return _Pass(
            units=units,
            banks=banks,
            draws=draws,
            truth=self.body_truth(),
            heights=np.array([s.height_m for s in self.timeline.shoppers], dtype=np.float64),
            noise=(normal * np.float32(1000.0 * p.noise_k_per_m), uniform),  # people: mm = z (1000 + z k n)
            label=np.zeros((self.height_px, self.width_px), np.uint16),
        )

    def _chunks(self, step: int) -> Iterator[DepthFrames]:
        run = self._setup()
        n = len(self.t_s)
        for k0 in range(0, n, step):
            yield self._render(k0, min(k0 + step, n), run)

    def _render(self, k0: int, k1: int, run: _Pass) -> DepthFrames:
        """Frames ``k0 .. k1 - 1`` of every unit."""
        c, n, h, w = len(run.units), k1 - k0, self.height_px, self.width_px
        depth = np.empty((c, n, h, w), np.uint16)
        rgb = np.empty((c, n, h, w, 3), np.uint8)
        who = np.flatnonzero(run.truth.present[k0:k1].any(axis=0))
        proj, lut = None, np.zeros(1, _RGB)
        if len(who):
            kp = run.truth.keypoints_xyz_m[k0:k1, who]
            ends, radius, cap_rgb = capsules(kp, self._subset(who), run.heights[who])
            proj = self._project(run.units, ends, radius)
            lut = _shade_lut(cap_rgb.reshape(-1, 3))
        for ci in range(c):
            self._render_unit(ci, k0, depth[ci], rgb[ci], run, proj, lut)
        return DepthFrames(self.camera_ids, self.t_s[k0:k1].copy(), depth, rgb, ~run.draws.dropped[:, k0:k1])

    def _render_unit(
        self, ci: int, k0: int, depth: NDArray[np.uint16], rgb: NDArray[np.uint8], run: _Pass,
        proj: _Projected | None, lut: NDArray[np.void],
    ) -> None:  # fmt: skip
        """Fill (n, H, W) ``depth`` and (n, H, W, 3) ``rgb`` of unit ``ci`` from frame ``k0`` on."""
        bank = run.banks[ci]
        for f in range(depth.shape[0]):
            if run.draws.dropped[ci, k0 + f]:
                depth[f] = 0
                rgb[f] = 0
                continue
            b = int(run.draws.bank[ci, k0 + f])
            depth[f] = bank.depth_mm[b]
            rgb[f] = bank.rgb[b]
            if proj is not None and proj.count[ci, f]:
                frame = _Frame(depth[f], rgb[f], bank, b, run.draws.offset[ci, k0 + f])
                self._people(run.units[ci], frame, proj, ci, f, lut, run.label, run.noise)

    def _subset(self, who: NDArray[np.int64]) -> Physiques:
        ph = self.physiques
        return Physiques(
            ph.build[who], ph.gait_phase_rad[who], ph.shirt_rgb[who], ph.trousers_rgb[who], ph.skin_rgb[who],
            ph.hair_rgb[who], ph.shoes_rgb[who], ph.long_sleeves[who],
        )  # fmt: skip

    def _project(self, units: list[_Unit], ends: NDArray[np.float64], radius: NDArray[np.float64]) -> _Projected:
        """Project a chunk's capsules (n, s, Q, 2, 3) with radii (s, Q) into every unit."""
        n, s, q = ends.shape[:3]
        cfw = np.stack([camera_from_world(u.camera) for u in units])  # (c, 4, 4)
        k = np.stack([intrinsics_px(u.camera, self.width_px, self.height_px) for u in units])
        pc = ends.reshape(1, -1, 3) @ cfw[:, :3, :3].transpose(0, 2, 1) + cfw[:, None, :3, 3]
        pc = pc.reshape(len(units), n, s * q, 2, 3)
        r = np.broadcast_to(radius.reshape(1, 1, s * q), pc.shape[:3])
        with np.errstate(invalid="ignore", divide="ignore"):
            z = pc[..., 2]
            ok = np.all(z > 0.1, axis=-1)
            z = np.where(ok[..., None], z, 1.0)
            xy = np.where(ok[..., None, None], pc[..., :2] / z[..., None], 0.0)
            poly, par = capsule_outlines(xy, z, r)
        uv_f = poly @ k[:, None, None, :2, :2].transpose(0, 1, 2, 4, 3) + k[:, None, None, None, :2, 2]
        lim = 4.0 * max(self.width_px, self.height_px)
        uv = np.rint(np.clip(uv_f, -lim, lim, out=uv_f), out=uv_f).astype(np.int32)
        box = self._boxes_px(k, xy, 1.05 * r[..., None] / z)  # (4, c, n, p) v0, v1, u0, u1; outlines are 1.04 r
        w, h = self.width_px, self.height_px
        vis = ok & (box[1] > 0) & (box[0] < h) & (box[3] > 0) & (box[2] < w)
        order = np.argsort(np.where(vis, -z.mean(axis=-1), np.inf), axis=-1, kind="stable")
        big = np.iinfo(np.int64).max
        roi = np.stack(
            [
                np.clip(np.where(vis, box[0], big).min(axis=-1), 0, h),
                np.clip(np.where(vis, box[1], -big).max(axis=-1), 0, h),
                np.clip(np.where(vis, box[2], big).min(axis=-1), 0, w),
                np.clip(np.where(vis, box[3], -big).max(axis=-1), 0, w),
            ],
            axis=-1,
        )
        return _Projected(uv, par, order, vis.sum(axis=-1), roi)

    @staticmethod
    def _boxes_px(k: NDArray[np.float64], xy: NDArray[np.float64], rad: NDArray[np.float64]) -> NDArray[np.int64]:
        """(4, c, n, p) int64 pixel rows v0..v1 and columns u0..u1 (exclusive ends, 1 px margin)
        covering both end discs of each capsule, from their normalised centres ``xy``
        (c, n, p, 2, 2) and radii ``rad`` (c, n, p, 2) with intrinsics ``k`` (c, 3, 3)."""
        kk = k[:, None, None, None]
        cu = kk[..., 0, 0] * xy[..., 0] + kk[..., 0, 1] * xy[..., 1] + kk[..., 0, 2]
        cv = kk[..., 1, 1] * xy[..., 1] + kk[..., 1, 2]
        hu, hv = rad * np.hypot(kk[..., 0, 0], kk[..., 0, 1]), rad * kk[..., 1, 1]
        lim = 1e6
        return np.clip(
            np.stack(
                [
                    np.floor(np.minimum.reduce(cv - hv, axis=-1)) - 1,
                    np.ceil(np.maximum.reduce(cv + hv, axis=-1)) + 2,
                    np.floor(np.minimum.reduce(cu - hu, axis=-1)) - 1,
                    np.ceil(np.maximum.reduce(cu + hu, axis=-1)) + 2,
                ]
            ),
            -lim,
            lim,
        ).astype(np.int64)

    def _people(
        self, unit: _Unit, frame: _Frame, proj: _Projected, ci: int, f: int, lut: NDArray[np.void],
        label: NDArray[np.uint16], noise: tuple[NDArray[np.float32], ...],
    ) -> None:  # fmt: skip
        """Draw the visible capsules of camera ``ci``, frame ``f`` over ``frame`` (in place)."""
        p = self.params.depth
        polys = proj.poly[ci, f]
        for q in proj.order[ci, f, : proj.count[ci, f]].tolist():
            cv2.fillConvexPoly(label, polys[q], q + 1)
        v0, v1, u0, u1 = proj.roi[ci, f].tolist()
        lab = label[v0:v1, u0:u1].copy()
        label[v0:v1, u0:u1] = 0
        sel = np.flatnonzero(lab != 0)
        cap = lab.ravel()[sel].astype(np.intp) - 1
        gp = sel + (sel // (u1 - u0)) * (self.width_px - u1 + u0) + (v0 * self.width_px + u0)
        pix = np.take(unit.pix, gp, axis=0).T
        z, ratio = capsule_surface(pix, np.take(proj.par[ci, f], cap, axis=0).T)
        kn, uniform = noise
        o1, o2 = frame.offset.tolist()
        mm = z * kn[o1 : o1 + len(z)]
        mm += 1000.0
        mm *= z
        mm += 0.5
        lost = frame.bank.holes[frame.b].ravel()[gp] | (z < p.min_range_m)
        mm[lost] = 0.0
        idx = cap * _SHADES + (ratio * (_SHADES - 1) + 0.5).astype(np.intp)
        idx[lost] = len(lut) - 1
        out_d, out_rgb = frame.depth_mm.reshape(-1), frame.rgb.reshape(-1).view(_RGB)
        out_d[gp], out_rgb[gp] = mm.astype(np.uint16), lut[idx]
        roi_m = np.full(lab.shape, NO_HIT_M, np.float32)
        roi_m.ravel()[sel] = z
        hidden = np.flatnonzero(z >= pix[3])  # behind the shelves: the empty store shows
        if len(hidden):
            gh = gp[hidden]
            out_d[gh] = frame.bank.depth_mm[frame.b].ravel()[gh]
            out_rgb[gh] = frame.bank.rgb[frame.b].reshape(-1).view(_RGB)[gh]
            roi_m.ravel()[sel[hidden]] = NO_HIT_M
        self._edge_drop(frame, roi_m, (v0, v1, u0, u1), uniform[o2 : o2 + roi_m.size].reshape(roi_m.shape))

    def _edge_drop(
        self, frame: _Frame, roi_m: NDArray[np.float32], roi: tuple[int, int, int, int], u: NDArray[np.float32]
    ) -> None:
        """Zero the pixels at the people's depth edges (both sides) with probability ``edge_drop_prob``.

        Args:
            frame: the frame being drawn (its depth and colour are changed in place).
            roi_m: (h, w) float32 people depth in the region, :data:`NO_HIT_M` elsewhere.
            roi: v0, v1, u0, u1 of the region in the image.
            u: (h, w) float32 uniform draws.
        """
        p = self.params.depth
        drop = cv2.morphologyEx(roi_m, cv2.MORPH_GRADIENT, _CROSS) > p.edge_step_m
        drop &= u < p.edge_drop_prob
        v0, v1, u0, u1 = roi
        e = np.flatnonzero(drop)
        e += (e // (u1 - u0)) * (self.width_px - u1 + u0) + (v0 * self.width_px + u0)
        frame.depth_mm.reshape(-1)[e] = 0
        frame.rgb.reshape(-1).view(_RGB)[e] = np.zeros(1, _RGB)


@dataclass(frozen=True)
class _Pass:
    """One pass over a recording: units, their banks, the per-frame draws, the bodies, noise banks,
    and an (H, W) uint16 label image (scratch, zero between frames)."""

    units: list[_Unit]
    banks: list[_Bank]
    draws: _FrameDraws
    truth: BodyTruth
    heights: NDArray[np.float64]
    noise: tuple[NDArray[np.float32], ...]
    label: NDArray[np.uint16]


@dataclass(frozen=True)
class _FrameDraws:
    """Per (camera, frame) random draws of a whole recording: bank frame, dropped, noise offsets."""

    bank: NDArray[np.int64]
    dropped: NDArray[np.bool_]
    offset: NDArray[np.int64]


@dataclass(frozen=True)
class _Frame:
    """One camera frame being drawn: (H, W) uint16 and (H, W, 3) uint8 views, its bank frame, offsets."""

    depth_mm: NDArray[np.uint16]
    rgb: NDArray[np.uint8]
    bank: _Bank
    b: int
    offset: NDArray[np.int64]
