"""Locator: ceiling depth frames -> people on the floor, with their 3D points.

Per camera (vectorised over a chunk of frames):

1. **Background model** of the empty store: the per-pixel median of frames captured with nobody
   in it (:meth:`DepthSource.empty_store`); pixels with no return there are never foreground.
2. **Foreground**: pixels at least ``max(fg_min_mm, fg_rel * background)`` nearer than the
   background (people stand in front of the floor and the shelves), on a grid subsampled by
   ``stride`` to bound the cost.
3. **Blobs**: 8-connected foreground components per frame (``scipy.ndimage.label``); each blob
   is back-projected to world points and labelled *person* when it has at least ``blob_min_px``
   pixels and its highest point is at least ``person_min_top_m`` above the floor; smaller or
   lower blobs (a product moved on a shelf, sensor speckle, a bag on the floor) are *not-person*
   and counted.

Then per frame, across cameras (the fusion step): the person points of every camera are
rasterised into a top-view height map (the highest point per ``cell_m`` floor cell, as in
overhead depth people counting, e.g. Bondi et al. 2014, "Real-time people counting from depth
imagery of crowded environments", AVSS). Heads are the local maxima above ``head_min_m`` after
non-maximum suppression within ``head_nms_m``; every point within ``assign_m`` of a head on the
floor plane goes to the nearest head. Two people whose blobs merge in one camera (a *tangled*
state) stay two detections as long as their heads are apart.

Each detection carries an appearance kept for re-identification: head-top height, build (the
spread of torso points) and a hue/saturation histogram of the torso's RGB pixels. No face or
other biometric template is formed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from walkout.core.camera import pixel_rays, world_from_camera
from walkout.core.frames import DepthFrames
from walkout.core.store import Camera, Store


def _pairwise(xy: NDArray[np.float64]) -> NDArray[np.float64]:
    """Distances between distinct rows of (k, 2) points (inf on the diagonal)."""
    d = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=2)
    np.fill_diagonal(d, np.inf)
    return d


#: hue x saturation bins of the clothing colour histogram
HIST_BINS = (12, 3)


@dataclass(frozen=True)
class LocatorParams:
    """Locator parameters (millimetres for depth, metres for the world).

    Attributes:
        stride: foreground is evaluated on every ``stride``-th row and column.
        fg_min_mm, fg_rel: a pixel is foreground when it is nearer than the background by at
            least ``max(fg_min_mm, fg_rel * background_mm)``.
        blob_min_px: smallest person blob (subsampled pixels).
        person_min_top_m: a blob is a person when its highest point is at least this high.
        cell_m: top-view height-map cell size.
        head_min_m: lowest head top accepted.
        head_nms_m: two heads are at least this far apart on the floor plane.
        merge_m, prominence_m: a lower height-map peak within ``merge_m`` of a higher one is a
            head of its own only if the map dips by ``prominence_m`` below it between the two.
        assign_m: points within this floor distance of a head belong to that person.
        head_band_m: points within this of the head top (and 0.15 m of its axis) form the head.
        min_head_points: a head needs at least this many points.
        min_body_points: a head needs at least this many points of a body under it (within
            ``body_radius_m`` on the floor plane, between 30% and 70% of its height): a hand
            raised to a high shelf is a local maximum too, but nothing stands under it.
        body_radius_m, body_offset_m: see ``min_body_points``.
        geodesic_m, occupied_m: when two heads are closer than ``geodesic_m``, points go to the
            head nearest through the body (top-view cells with a point above ``occupied_m``).
    """

    stride: int = 2
    fg_min_mm: float = 80.0
    fg_rel: float = 0.05
    blob_min_px: int = 15
    person_min_top_m: float = 0.9
    cell_m: float = 0.05
    head_min_m: float = 0.95
    head_nms_m: float = 0.2
    merge_m: float = 0.5
    prominence_m: float = 0.1
    assign_m: float = 0.85
    head_band_m: float = 0.12
    min_head_points: int = 6
    min_body_points: int = 20
    body_radius_m: float = 0.3
    body_offset_m: float = 0.15
    geodesic_m: float = 1.6
    occupied_m: float = 0.3


@dataclass(frozen=True)
class CameraModel:
    """What the locator precomputes for one depth camera.

    Attributes:
        camera: the calibrated camera.
        rays: (h, w, 2) float32 normalised rays of the subsampled grid.
        rotation, translation: world-from-camera rotation (3, 3) and translation (3,) metres.
        threshold_mm: (h, w) float32 foreground threshold: a depth below it is foreground
            (0 where the background had no return: never foreground).
    """

    camera: Camera
    rays: NDArray[np.float32]
    rotation: NDArray[np.float32]
    translation: NDArray[np.float32]
    threshold_mm: NDArray[np.float32]


@dataclass(frozen=True)
class PersonPoints:
    """Person-blob points of a chunk from all cameras.

    Attributes:
        frame: (m,) int32 frame index within the chunk.
        xyz_m: (m, 3) float32 world points, metres.
        rgb: (m, 3) uint8 colour of each point (zeros if the units send no RGB).
        n_blobs: person blobs found; n_rejected: blobs labelled not-person.
    """

    frame: NDArray[np.int32]
    xyz_m: NDArray[np.float32]
    rgb: NDArray[np.uint8]
    n_blobs: int
    n_rejected: int


def camera_models(store: Store, frames: DepthFrames, params: LocatorParams) -> dict[str, CameraModel]:
    """Background models of every camera from frames of the empty store.

    Args:
        store: the store (its cameras are looked up by id).
        frames: empty-store frames (:meth:`DepthSource.empty_store`).
        params: locator parameters.

    Returns:
        camera id -> :class:`CameraModel`.

    Raises:
        KeyError: a camera id of ``frames`` is not a camera of the store.
    """
    cams = {c.id: c for c in store.cameras}
    s = params.stride
    h, w = frames.depth_mm.shape[2:]
    out = {}
    for ci, cid in enumerate(frames.camera_ids):
        cam = cams[cid]
        d = frames.depth_mm[ci][frames.valid[ci]][:, ::s, ::s].astype(np.float32)
        d[d == 0] = np.nan
        with warnings.catch_warnings():  # pixels with no return in any empty frame: no background
            warnings.simplefilter("ignore", RuntimeWarning)
            bg = np.nan_to_num(np.nanmedian(d, axis=0) if len(d) else np.full(d.shape[1:], np.nan), nan=0.0)
        thr = np.where(bg > 0, bg - np.maximum(params.fg_min_mm, params.fg_rel * bg), 0.0)
        m = world_from_camera(cam)
        rays = pixel_rays(cam, w, h)[::s, ::s]
        out[cid] = CameraModel(cam, rays.astype(np.float32), m[:3, :3].astype(np.float32),
                               m[:3, 3].astype(np.float32), thr.astype(np.float32))
    return out


_STRUCTURE = np.zeros((3, 3, 3), dtype=bool)
_STRUCTURE[1] = True  # 8-connected within a frame, never across frames


@dataclass(frozen=True)
class CameraBlobs:
    """Foreground blobs of one camera over n frames, on the locator's subsampled grid.

    Attributes:
        fg: (n, h, w) bool foreground.
        labels: (n, h, w) int32 blob label per pixel, 0 for background; labels never span frames.
        person: (labels + 1,) bool, the blob is a person blob (index 0, background, is False).
        frame, v, u: (m,) int64 indices of the foreground pixels, in ``np.nonzero(fg)`` order.
        xyz_m: (m, 3) float32 world point of each foreground pixel, metres.
        n_person, n_rejected: person and not-person blob counts.
    """

    fg: NDArray[np.bool_]
    labels: NDArray[np.int32]
    person: NDArray[np.bool_]
    frame: NDArray[np.int64]
    v: NDArray[np.int64]
    u: NDArray[np.int64]
    xyz_m: NDArray[np.float32]
    n_person: int
    n_rejected: int


def camera_blobs(model: CameraModel, depth: NDArray[np.uint16], params: LocatorParams) -> CameraBlobs:
    """Foreground -> 8-connected blobs -> person / not-person, for one camera (see the module docstring).

    Args:
        model: the camera's background model (:func:`camera_models`).
        depth: (n, H, W) uint16 depth, millimetres along the optical axis, 0 = no return.
        params: locator parameters (``stride``, ``blob_min_px``, ``person_min_top_m``).
    """
    d = depth[:, ::params.stride, ::params.stride]
    fg = (d > 0) & (d < model.threshold_mm)
    if not fg.any():  # most frames of most cameras: nobody in view
        none = np.empty(0, np.int64)
        return CameraBlobs(fg, np.zeros(fg.shape, np.int32), np.zeros(1, bool), none, none, none,
                           np.empty((0, 3), np.float32), 0, 0)
    labels, n = ndimage.label(fg, structure=_STRUCTURE)
    k, v, u = np.nonzero(fg)
    lab = labels[k, v, u]
    z_cam = d[k, v, u].astype(np.float32) * np.float32(0.001)
    r = model.rays[v, u]
    pc = np.stack([r[:, 0] * z_cam, r[:, 1] * z_cam, z_cam], axis=1)
    xyz = pc @ model.rotation.T + model.translation
    count = np.bincount(lab, minlength=n + 1)
    top = np.full(n + 1, -np.inf, dtype=np.float32)
    np.maximum.at(top, lab, xyz[:, 2])
    person = (count >= params.blob_min_px) & (top >= params.person_min_top_m)
    person[0] = False
    n_rejected = int(((count > 0) & ~person).sum()) - int(count[0] > 0)
    return CameraBlobs(fg, labels, person, k, v, u, xyz, int(person.sum()), n_rejected)


def _camera_points(model: CameraModel, depth: NDArray[np.uint16], rgb: NDArray[np.uint8] | None,
                   params: LocatorParams) -> tuple[NDArray[np.int32], NDArray[np.float32], NDArray[np.uint8], int, int]:
    """Person points of one camera over a chunk: (frame, xyz, rgb, n_person_blobs, n_rejected)."""
    s = params.stride
    b = camera_blobs(model, depth, params)
    keep = b.person[b.labels[b.frame, b.v, b.u]]
    k, v, u = b.frame[keep], b.v[keep], b.u[keep]
    colours = rgb[k, v * s, u * s] if rgb is not None else np.zeros((len(k), 3), np.uint8)
    return k.astype(np.int32), b.xyz_m[keep], colours, b.n_person, b.n_rejected


def person_points(frames: DepthFrames, models: dict[str, CameraModel], params: LocatorParams) -> PersonPoints:
    """Foreground -> blobs -> person / not-person -> world points, for every camera of a chunk.

    Args:
        frames: a chunk of synchronised frames (c cameras, n frames).
        models: background models from :func:`camera_models`.
        params: locator parameters.

    Returns:
        The person points of all cameras (dropped frames contribute nothing).
    """
    parts = []
    n_blobs = n_rej = 0
    for ci, cid in enumerate(frames.camera_ids):
        rgb = frames.rgb[ci] if frames.rgb is not None else None
        k, xyz, col, nb, nr = _camera_points(models[cid], frames.depth_mm[ci], rgb, params)
        parts.append((k, xyz, col))
        n_blobs += nb
        n_rej += nr
    if not parts:
        return PersonPoints(np.empty(0, np.int32), np.empty((0, 3), np.float32), np.empty((0, 3), np.uint8), 0, 0)
    return PersonPoints(
        frame=np.concatenate([p[0] for p in parts]),
        xyz_m=np.concatenate([p[1] for p in parts]),
        rgb=np.concatenate([p[2] for p in parts]),
        n_blobs=n_blobs,
        n_rejected=n_rej,
    )


@dataclass(frozen=True)
class Detections:
    """People located on the floor in a chunk, one row per (frame, person).

    Attributes:
        frame: (d,) int32 frame index within the chunk.
        head_xyz_m: (d, 3) float32 head centre (head top minus 0.12 m), world frame.
        top_m: (d,) float32 head-top height above the floor.
        body_xy_m: (d, 2) float32 torso centre on the floor plane.
        build_m: (d,) float32 torso half-width (RMS floor distance of torso points to its centre).
        hist: (d, B) float32 normalised hue x saturation histogram of the torso's colour.
        n_points: (d,) int32 points assigned to the person.
        point_index: list of d arrays, the rows of the chunk's :class:`PersonPoints` of each person.
    """

    frame: NDArray[np.int32]
    head_xyz_m: NDArray[np.float32]
    top_m: NDArray[np.float32]
    body_xy_m: NDArray[np.float32]
    build_m: NDArray[np.float32]
    hist: NDArray[np.float32]
    n_points: NDArray[np.int32]
    point_index: list[NDArray[np.int64]]

    def __len__(self) -> int:
        return int(self.frame.shape[0])


def _height_map(points: PersonPoints, n_frames: int, origin: NDArray[np.float64], shape: tuple[int, int],
                cell_m: float) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """(n_frames, gy, gx) highest point per floor cell, and each point's flat cell index (-1 outside)."""
    gy, gx = shape
    ij = np.floor((points.xyz_m[:, :2] - origin) / cell_m).astype(np.int64)
    inside = (ij[:, 0] >= 0) & (ij[:, 0] < gx) & (ij[:, 1] >= 0) & (ij[:, 1] < gy)
    flat = np.where(inside, (points.frame.astype(np.int64) * gy + ij[:, 1]) * gx + ij[:, 0], -1)
    hmap = np.zeros(n_frames * gy * gx, dtype=np.float32)
    np.maximum.at(hmap, flat[inside], points.xyz_m[inside, 2])
    return hmap.reshape(n_frames, gy, gx), flat


def colour_histogram(rgb: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Normalised hue x saturation histogram of (m, 3) RGB colours (OpenCV HSV, hue 0..179)."""
    if len(rgb) == 0:
        return np.zeros(HIST_BINS[0] * HIST_BINS[1], np.float32)
    hsv = cv2.cvtColor(rgb.reshape(-1, 1, 3), cv2.COLOR_RGB2HSV).reshape(-1, 3)
    hb = np.minimum(hsv[:, 0].astype(np.int64) * HIST_BINS[0] // 180, HIST_BINS[0] - 1)
    sb = np.minimum(hsv[:, 1].astype(np.int64) * HIST_BINS[1] // 256, HIST_BINS[1] - 1)
    h = np.bincount(hb * HIST_BINS[1] + sb, minlength=HIST_BINS[0] * HIST_BINS[1]).astype(np.float32)
    return h / max(float(h.sum()), 1.0)


class Locator:
    """Locates people in chunks of depth frames (see the module docstring).

    Args:
        store: the store (cameras, floor extent).
        empty: frames of the empty store, for the background models.
        params: locator parameters.
    """

    def __init__(self, store: Store, empty: DepthFrames, params: LocatorParams = LocatorParams()) -> None:
        self.params = params
        self.models = camera_models(store, empty, params)
        x0, y0, x1, y1 = store.floor_ltrb_m
        self.origin = np.array([x0 - 0.5, y0 - 0.5])
        self.shape = (int(np.ceil((y1 - y0 + 1.0) / params.cell_m)), int(np.ceil((x1 - x0 + 1.0) / params.cell_m)))
        r = max(1, int(round(0.5 * params.head_nms_m / params.cell_m)))
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
        self.kernel = (yy**2 + xx**2 <= r * r).astype(np.uint8)

    def locate(self, frames: DepthFrames) -> tuple[PersonPoints, Detections]:
        """Person points and detections of one chunk (frame indices relative to the chunk)."""
        pts = person_points(frames, self.models, self.params)
        return pts, self._detect(pts, len(frames))

    def _heads(self, pts: PersonPoints, hmap: NDArray[np.float32]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        p = self.params
        n_frames = hmap.shape[0]
        dil = np.empty_like(hmap)
        for f in range(n_frames):  # OpenCV's dilation is a fast 2D maximum filter
            dil[f] = cv2.dilate(hmap[f], self.kernel)
        peak = (hmap >= p.head_min_m) & (hmap == dil)
        k, iy, ix = np.nonzero(peak)
        xy = self.origin + (np.stack([ix, iy], axis=1) + 0.5) * p.cell_m
        keep = np.ones(len(k), dtype=bool)
        order = np.lexsort((-hmap[k, iy, ix], k))  # per frame, highest first
        for a_pos, a in enumerate(order):
            for b in order[:a_pos][::-1]:
                if k[b] != k[a]:
                    break
                if keep[b] and not self._separate(hmap[k[a]], (iy[a], ix[a]), (iy[b], ix[b])):
                    keep[a] = False
                    break
        return k[keep], xy[keep]

    def _separate(self, hmap: NDArray[np.float32], low: tuple[int, int], high: tuple[int, int]) -> bool:
        """Is the lower peak a head of its own, not a shoulder or arm of the higher one?

        Two heads are at least ``head_nms_m`` apart and, within ``merge_m``, the height map dips
        by at least ``prominence_m`` below the lower peak somewhere between them (a neck, a gap);
        a shoulder rises to its head without such a dip (topographic prominence).
        """
        p = self.params
        d_m = float(np.hypot(low[0] - high[0], low[1] - high[1])) * p.cell_m
        if d_m < p.head_nms_m:
            return False
        if d_m > p.merge_m:
            return True
        n = max(2, int(d_m / p.cell_m) + 1)
        ys = np.rint(np.linspace(low[0], high[0], n)).astype(np.int64)
        xs = np.rint(np.linspace(low[1], high[1], n)).astype(np.int64)
        return bool(hmap[ys, xs].min() < hmap[low] - p.prominence_m)

    def _detect(self, pts: PersonPoints, n_frames: int) -> Detections:
        p = self.params
        rows: list[tuple[int, NDArray[np.int64], NDArray[np.float64]]] = []
        if len(pts.frame):
            hmap, flat = _height_map(pts, n_frames, self.origin, self.shape, p.cell_m)
            head_k, head_xy = self._heads(pts, hmap)
            order = np.argsort(pts.frame, kind="stable")
            bounds = np.searchsorted(pts.frame[order], np.arange(n_frames + 1))
            for f in np.unique(head_k):
                idx = order[bounds[f]:bounds[f + 1]]
                cand = head_xy[head_k == f]
                d = np.linalg.norm(pts.xyz_m[idx, None, :2] - cand[None, :, :], axis=2)
                standing = self._standing(pts.xyz_m[idx], cand, d)
                if not standing.any():
                    continue
                heads, d = cand[standing], d[:, standing]
                who = np.argmin(d, axis=1)
                near = d[np.arange(len(idx)), who] < p.assign_m
                if len(heads) > 1 and float(_pairwise(heads).min()) < p.geodesic_m:
                    who, near = self._geodesic(hmap[f], flat[idx] - f * hmap[f].size, heads, who, near)
                for h in range(len(heads)):
                    mine = idx[near & (who == h)]
                    if len(mine):
                        rows.append((int(f), mine, heads[h]))
        return self._describe(pts, rows)

    def _geodesic(self, hmap: NDArray[np.float32], cell: NDArray[np.int64], heads: NDArray[np.float64],
                  who: NDArray[np.int64], near: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """Assign points to the head nearest *through the body*: the shortest path over occupied
        top-view cells (8-connected, Dijkstra, ``scipy.sparse.csgraph``), where a step between
        cells costs its length plus the height difference (the gap between two people is a drop). An arm reaching past a
        neighbour is connected to its owner's shoulder, not to the neighbour's chest. Points whose
        cell no head reaches keep their nearest-head assignment."""
        gy, gx = hmap.shape
        occ = hmap > self.params.occupied_m
        ids = np.full(hmap.size, -1, dtype=np.int64)
        on = np.flatnonzero(occ.ravel())
        ids[on] = np.arange(len(on))
        iy, ix = np.divmod(on, gx)
        rows, cols, w = [], [], []
        for dy, dx, cost in ((0, 1, 1.0), (1, 0, 1.0), (1, 1, 1.414), (1, -1, 1.414)):
            y2, x2 = iy + dy, ix + dx
            ok = (y2 < gy) & (x2 >= 0) & (x2 < gx)
            nb = np.full(len(on), -1, dtype=np.int64)
            nb[ok] = ids[y2[ok] * gx + x2[ok]]
            m = nb >= 0
            rows.append(np.flatnonzero(m))
            cols.append(nb[m])
            dz = np.abs(hmap.ravel()[on[m]] - hmap.ravel()[on[nb[m]]])
            w.append(cost + dz / self.params.cell_m)  # a step up or down costs like its length
        graph = coo_matrix((np.concatenate(w), (np.concatenate(rows), np.concatenate(cols))), shape=(len(on), len(on)))
        hc = np.floor((heads - self.origin) / self.params.cell_m).astype(np.int64)
        src = ids[np.clip(hc[:, 1], 0, gy - 1) * gx + np.clip(hc[:, 0], 0, gx - 1)]
        if (src < 0).any():
            return who, near
        dist, _pred, sources = dijkstra(graph.tocsr(), directed=False, indices=src, min_only=True, return_predecessors=True)
        owner = np.full(len(on), -1, dtype=np.int64)
        reach = np.isfinite(dist) & (dist * self.params.cell_m < self.params.assign_m * 3.0)
        lookup = np.full(len(on), -1, dtype=np.int64)
        lookup[src] = np.arange(len(src))
        owner[reach] = lookup[sources[reach]]
        pc = np.where(cell >= 0, ids[np.clip(cell, 0, hmap.size - 1)], -1)
        got = (pc >= 0) & (owner[np.maximum(pc, 0)] >= 0)
        who = np.where(got, owner[np.maximum(pc, 0)], who)
        return who, near | got

    def _standing(self, xyz: NDArray[np.float32], heads: NDArray[np.float64], d: NDArray[np.float64]
                  ) -> NDArray[np.bool_]:
        """Which head candidates have a body under them (see ``LocatorParams.min_body_points``):
        enough points between 30% and 70% of the candidate's height within ``body_radius_m``, and
        centred under it within ``body_offset_m`` (a hand held out over a shelf has the body to
        one side). ``d`` is the (m, k) floor distance of every point to every candidate."""
        p = self.params
        keep = np.zeros(len(heads), dtype=bool)
        for h in range(len(heads)):
            top = float(xyz[d[:, h] < 0.15, 2].max(initial=0.0))
            under = (d[:, h] < p.body_radius_m) & (xyz[:, 2] > 0.3 * top) & (xyz[:, 2] < 0.7 * top)
            if under.sum() >= p.min_body_points:
                keep[h] = np.linalg.norm(xyz[under, :2].mean(axis=0) - heads[h]) < p.body_offset_m
        return keep

    def _describe(self, pts: PersonPoints, rows: list[tuple[int, NDArray[np.int64], NDArray[np.float64]]]) -> Detections:
        p = self.params
        cols: dict[str, list[object]] = {k: [] for k in ("frame", "head", "top", "body", "build", "hist", "n", "idx")}
        for f, idx, head_xy in rows:
            xyz = pts.xyz_m[idx]
            top = float(np.max(xyz[:, 2]))
            axis_d = np.linalg.norm(xyz[:, :2] - head_xy, axis=1)
            head = (xyz[:, 2] > top - p.head_band_m) & (axis_d < 0.15)
            if head.sum() < p.min_head_points:
                continue
            top = float(np.percentile(xyz[head, 2], 90))
            hc = xyz[head, :2].mean(axis=0)
            torso = (xyz[:, 2] > 0.5 * top) & (xyz[:, 2] < 0.8 * top) & (np.linalg.norm(xyz[:, :2] - hc, axis=1) < 0.3)
            body = xyz[torso, :2].mean(axis=0) if torso.sum() >= 5 else hc
            build = float(np.sqrt(np.mean(np.sum((xyz[torso, :2] - body) ** 2, axis=1)))) if torso.sum() >= 5 else np.nan
            for key, val in zip(cols, (f, (*hc, top - 0.12), top, body, build, colour_histogram(pts.rgb[idx[torso]]), len(idx), idx),
                                strict=True):
                cols[key].append(val)
        nb = HIST_BINS[0] * HIST_BINS[1]
        return Detections(
            frame=np.array(cols["frame"], dtype=np.int32).reshape(-1),
            head_xyz_m=np.array(cols["head"], dtype=np.float32).reshape(-1, 3),
            top_m=np.array(cols["top"], dtype=np.float32).reshape(-1),
            body_xy_m=np.array(cols["body"], dtype=np.float32).reshape(-1, 2),
            build_m=np.array(cols["build"], dtype=np.float32).reshape(-1),
            hist=np.array(cols["hist"], dtype=np.float32).reshape(-1, nb),
            n_points=np.array(cols["n"], dtype=np.int32).reshape(-1),
            point_index=cols["idx"],  # type: ignore[arg-type]
        )
