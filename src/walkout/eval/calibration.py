"""Calibration overlays: the store's gondolas, shelves and plates drawn into real camera frames.

Checks a store's camera calibration on real pixels. Every gondola box, shelf surface and plate
rectangle of the store (world frame: metres, z up, floor at z = 0) is projected with one camera's
calibration -- :func:`walkout.core.camera.project_points`, OpenCV lens distortion included -- into a
frame from that camera and drawn in one colour per gondola, with ``G.S`` labels at the shelf front
(aisle-side) edges, a legend and a title. Hand-measured shelf corners
(``tests/eval/data/calibration_points.json``) turn the picture into numbers:
:func:`point_errors_px` is the pixel distance between where the calibration puts a corner and where
it is in the frame. Method, measurements and findings: ``docs/calibration.md``.

Frames are files ``camera_<id>.png`` (or ``.jpg``); ``<id>`` names a camera of the store unless a
frame-to-camera map says otherwise. The real AiFi frames ``camera_3.png`` ... ``camera_8.png`` show
calibration cameras 5 ... 10 (:data:`AIFI_FRAME_CAMERAS`, measured; see the docs).

Lines are clipped in 3D at a near plane in front of the camera and dropped where the distortion
polynomial stops being monotonic or far outside the image, so nothing wraps around or folds back.

Sources: OpenCV ``calib3d`` documentation (pinhole model, Brown-Conrady distortion); AiFi / CMU
AutoCheckout (CPS-IoT Week 2020) ``store_meta`` and camera frames.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from walkout.core.camera import camera_from_world, project_points
from walkout.core.errors import WalkoutError
from walkout.core.geometry import apply_transform
from walkout.core.store import Camera, Store

#: ``camera_<id>.png`` / ``.jpg`` / ``.jpeg``.
FRAME_NAME = re.compile(r"^camera_(?P<id>[A-Za-z0-9-]+)\.(?:png|jpe?g)$", re.IGNORECASE)
#: AiFi Nanostore frame id -> calibration camera id, measured on the real frames (docs/calibration.md).
AIFI_FRAME_CAMERAS: Mapping[str, str] = {"1": "1", "2": "2", "3": "5", "4": "6", "5": "7", "6": "8", "7": "9", "8": "10"}
#: shelf-surface corners as fractions of the shelf's (x, y) size; x = 0 is the left end seen from the
#: aisle, y = 0 the front (aisle-side) edge (AiFi store_meta convention).
CORNERS: Mapping[str, tuple[float, float]] = {
    "front_left": (0.0, 0.0), "front_right": (1.0, 0.0), "back_left": (0.0, 1.0), "back_right": (1.0, 1.0),
}
KINDS = ("gondola", "shelf", "shelf_front", "plate")
#: one BGR colour per gondola id (cycled): red, green, blue, amber, magenta, cyan.
GONDOLA_COLOURS_BGR = ((60, 60, 235), (40, 200, 40), (240, 120, 30), (0, 200, 255), (220, 60, 220), (220, 220, 40))
NEAR_M = 0.05
SAMPLES = 48
R_CAP = 1.5  # normalised radius (56 degrees off-axis) beyond which distortion is never trusted
_FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class Segments:
    """A batch of 3D line segments of the store, one array per field (world frame, metres).

    Attributes:
        start_m, end_m: (n, 3) float64 end points.
        gondola: (n,) int64 gondola id of each segment.
        kind: (n,) str, one of :data:`KINDS`: ``gondola`` (box edge), ``shelf`` (shelf-surface
            outline), ``shelf_front`` (the aisle-side edge of a shelf surface), ``plate`` (plate edge).
        label: (n,) str, ``"G.S"`` on shelf front edges, ``""`` elsewhere.
    """

    start_m: NDArray[np.float64]
    end_m: NDArray[np.float64]
    gondola: NDArray[np.int64]
    kind: NDArray[np.str_]
    label: NDArray[np.str_]

    def __post_init__(self) -> None:
        n = len(self.start_m)
        for name, shape in (("start_m", (n, 3)), ("end_m", (n, 3)), ("gondola", (n,)), ("kind", (n,)), ("label", (n,))):
            actual = np.shape(getattr(self, name))
            if actual != shape:
                raise ValueError(f"Segments.{name}: expected shape {shape}, got {actual}")
        unknown = set(np.unique(self.kind)) - set(KINDS)
        if unknown:
            raise ValueError(f"Segments.kind: unknown kinds {sorted(unknown)}")


@dataclass(frozen=True)
class OverlayStats:
    """What one overlay shows: segments with a visible piece and the shelves whose front edge is in view."""

    segments_drawn: int
    shelves_in_view: tuple[str, ...]


@dataclass(frozen=True)
class FrameFile:
    """A frame file and the calibration camera it is projected with."""

    path: Path
    frame_id: str
    camera_id: str


@dataclass(frozen=True)
class OverlayResult:
    """One written overlay PNG."""

    frame: FrameFile
    out_path: Path
    size_px: tuple[int, int]
    stats: OverlayStats


@dataclass(frozen=True)
class CalibrationPoint:
    """A hand-measured store point: a shelf corner of ``gondola.shelf`` seen at pixel ``uv_px``.

    ``frame`` is the frame file, ``camera`` the calibration camera that took it, ``corner`` a key of
    :data:`CORNERS`; ``uv_px`` is (u right, v down) with pixel centres at integers.
    """

    frame: str
    camera: str
    gondola: int
    shelf: int
    corner: str
    uv_px: tuple[float, float]
    note: str = ""


# ---- store geometry -------------------------------------------------------------------------------

_BOX_EDGES = ((0, 1), (2, 3), (4, 5), (6, 7), (0, 2), (1, 3), (4, 6), (5, 7), (0, 4), (1, 5), (2, 6), (3, 7))


def _box_edges(world_from_local: NDArray[np.float64], size_m: Sequence[float]) -> tuple[NDArray, NDArray]:
    sx, sy, sz = size_m
    corners = np.array([[x, y, z] for x in (0.0, sx) for y in (0.0, sy) for z in (0.0, sz)])
    w = apply_transform(world_from_local, corners)
    idx = np.array(_BOX_EDGES)
    return w[idx[:, 0]], w[idx[:, 1]]


def _rect_edges(world_from_local: NDArray[np.float64], sx: float, sy: float) -> tuple[NDArray, NDArray]:
    """Edges front, right, back, left of the local rectangle [0, sx] x [0, sy] at z = 0."""
    c = apply_transform(world_from_local, np.array([[0.0, 0, 0], [sx, 0, 0], [sx, sy, 0], [0, sy, 0]]))
    return c, np.roll(c, -1, axis=0)


def store_segments(store: Store, plates: bool = True) -> Segments:
    """Every gondola box edge, shelf-surface outline and (optionally) plate edge of ``store``.

    Args:
        store: the store (gondola, shelf and plate poses and sizes in metres).
        plates: include the plate rectangles (4 segments per plate).

    Returns:
        :class:`Segments` in the world frame, metres.
    """
    starts, ends, gondola, kind, label = [], [], [], [], []

    def add(a: NDArray, b: NDArray, g: int, k: str, lab: Sequence[str] | None = None) -> None:
        starts.append(a)
        ends.append(b)
        gondola.extend([g] * len(a))
        kind.extend([k] * len(a))
        label.extend(lab if lab is not None else [""] * len(a))

    for g in store.gondolas:
        add(*_box_edges(g.pose.matrix(), g.size_m), g.id, "gondola")
    for s in store.shelves:
        a, b = _rect_edges(store.world_from_shelf(s.gondola, s.index), s.size_m[0], s.size_m[1])
        add(a[:1], b[:1], s.gondola, "shelf_front", [f"{s.gondola}.{s.index}"])
        add(a[1:], b[1:], s.gondola, "shelf")
    if plates:
        for p in store.plates:
            add(*_rect_edges(store.world_from_plate(p.id), p.size_m[0], p.size_m[1]), p.id.gondola, "plate")
    return Segments(
        start_m=np.concatenate(starts), end_m=np.concatenate(ends), gondola=np.array(gondola, dtype=np.int64),
        kind=np.array(kind, dtype=np.str_), label=np.array(label, dtype=np.str_),
    )


def shelf_corner_m(store: Store, gondola: int, shelf: int, corner: str) -> NDArray[np.float64]:
    """World position (3,) in metres of a corner of the shelf surface of ``gondola.shelf``.

    Raises:
        KeyError: unknown shelf or corner name (see :data:`CORNERS`).
    """
    if corner not in CORNERS:
        raise KeyError(f"unknown corner {corner!r}; expected one of {sorted(CORNERS)}")
    s = store.shelf(gondola, shelf)
    fx, fy = CORNERS[corner]
    local = np.array([fx * s.size_m[0], fy * s.size_m[1], 0.0])
    return apply_transform(store.world_from_shelf(gondola, shelf), local)


# ---- projection with clipping ---------------------------------------------------------------------


def distortion_limit(dist_coeffs: Sequence[float]) -> float:
    """Largest normalised radius ``r = |(x/z, y/z)|`` up to which the radial distortion is trusted.

    The OpenCV radial factor ``r * (1 + k1 r^2 + k2 r^4 + k3 r^6)`` must still grow with ``r``;
    beyond its first maximum points fold back toward the image centre. Capped at :data:`R_CAP`.
    """
    k1, k2, _, _, k3 = (tuple(float(c) for c in dist_coeffs) + (0.0,) * 5)[:5]
    r = np.linspace(0.0, R_CAP, 3001)
    r2 = r * r
    rd = r * (1.0 + r2 * (k1 + r2 * (k2 + r2 * k3)))
    falling = np.flatnonzero(np.diff(rd) <= 0.0)
    return float(r[falling[0]]) if len(falling) else R_CAP


def _near_clip(za: NDArray[np.float64], zb: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    """Parameter range [t0, t1] of each segment with camera depth >= NEAR_M (t0 >= t1: nothing)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        tc = (NEAR_M - za) / (zb - za)
    t0 = np.where(za >= NEAR_M, 0.0, tc)
    t1 = np.where(zb >= NEAR_M, 1.0, tc)
    behind = (za < NEAR_M) & (zb < NEAR_M)
    return np.where(behind, 1.0, t0), np.where(behind, 0.0, t1)


def _runs(uv: NDArray[np.float64], ok: NDArray[np.bool_]) -> list[NDArray[np.float64]]:
    edges = np.flatnonzero(np.diff(np.r_[0, ok.astype(np.int8), 0]))
    return [uv[a:b] for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= 2]


def project_segments(
    camera: Camera, segments: Segments, width_px: int, height_px: int, samples: int = SAMPLES
) -> list[list[NDArray[np.float64]]]:
    """Project 3D segments into an image as distorted pixel polylines, clipped sensibly.

    Each segment is cut at the near plane (camera depth :data:`NEAR_M`), sampled at ``samples``
    points (straight lines bend under lens distortion) and projected with
    :func:`walkout.core.camera.project_points`. Samples beyond :func:`distortion_limit` or more than
    one image size outside the image are dropped; the rest is split into runs.

    Args:
        camera: the calibrated camera.
        segments: world-frame segments, metres.
        width_px, height_px: size of the frame the pixels refer to.
        samples: points per segment.

    Returns:
        One list per segment of (m, 2) float64 pixel polylines (u right, v down), m >= 2; empty
        where nothing of the segment is in front of the camera.
    """
    n = len(segments.start_m)
    m = camera_from_world(camera)
    a = segments.start_m @ m[:3, :3].T + m[:3, 3]
    b = segments.end_m @ m[:3, :3].T + m[:3, 3]
    t0, t1 = _near_clip(a[:, 2], b[:, 2])
    t = t0[:, None] + (t1 - t0)[:, None] * np.linspace(0.0, 1.0, samples)[None, :]
    cam = a[:, None, :] + t[..., None] * (b - a)[:, None, :]
    world = segments.start_m[:, None, :] + t[..., None] * (segments.end_m - segments.start_m)[:, None, :]
    uv, _ = project_points(camera, world.reshape(-1, 3), width_px, height_px)
    uv = uv.reshape(n, samples, 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        radius = np.hypot(cam[..., 0], cam[..., 1]) / cam[..., 2]
    inside = (uv[..., 0] > -width_px) & (uv[..., 0] < 2 * width_px) & (uv[..., 1] > -height_px) & (uv[..., 1] < 2 * height_px)
    ok = (t1 > t0)[:, None] & (cam[..., 2] >= NEAR_M - 1e-9) & (radius <= distortion_limit(camera.dist_coeffs))
    ok &= np.isfinite(uv).all(axis=-1) & inside
    return [_runs(uv[i], ok[i]) for i in range(n)]


# ---- drawing --------------------------------------------------------------------------------------


def gondola_colour(gondola: int) -> tuple[int, int, int]:
    """BGR colour of a gondola id in the overlays."""
    return GONDOLA_COLOURS_BGR[(gondola - 1) % len(GONDOLA_COLOURS_BGR)]


def _polyline(img: NDArray[np.uint8], line: NDArray[np.float64], colour: tuple[int, int, int], thickness: int) -> None:
    pts = np.round(line * 16.0).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(img, [pts], False, colour, thickness, cv2.LINE_AA, shift=4)


def _text(img: NDArray[np.uint8], text: str, org: tuple[int, int], colour: tuple[int, int, int], scale: float = 0.4) -> None:
    (w, h), base = cv2.getTextSize(text, _FONT, scale, 1)
    x, y = org
    cv2.rectangle(img, (x - 2, y - h - 2), (x + w + 2, y + base), (20, 20, 20), -1)
    cv2.putText(img, text, (x, y), _FONT, scale, colour, 1, cv2.LINE_AA)


def _draw_lines(canvas: NDArray[np.uint8], seg: Segments, lines: list[list[NDArray]]) -> int:
    """Plates and shelf outlines faint (blended), gondola boxes thin, shelf fronts thick."""
    faint = canvas.copy()
    drawn = 0
    styles = {"plate": (faint, 1), "shelf": (faint, 1), "gondola": (canvas, 1), "shelf_front": (canvas, 2)}
    for k in ("plate", "shelf", "gondola", "shelf_front"):
        if k == "gondola":
            cv2.addWeighted(faint, 0.55, canvas, 0.45, 0.0, dst=canvas)
        target, thickness = styles[k]
        for i in np.flatnonzero(seg.kind == k):
            for line in lines[i]:
                _polyline(target, line, gondola_colour(int(seg.gondola[i])), thickness)
            drawn += bool(lines[i])
    return drawn


def _draw_labels(canvas: NDArray[np.uint8], seg: Segments, lines: list[list[NDArray]]) -> tuple[str, ...]:
    h, w = canvas.shape[:2]
    shown = []
    for i in np.flatnonzero(seg.kind == "shelf_front"):
        points = [p for line in lines[i] for p in line if 0 <= p[0] < w and 0 <= p[1] < h]
        if points:
            u, v = points[0]
            _text(canvas, str(seg.label[i]), (int(min(u + 3, w - 30)), int(max(v - 4, 12))), gondola_colour(int(seg.gondola[i])))
            shown.append(str(seg.label[i]))
    return tuple(shown)


def _draw_legend(canvas: NDArray[np.uint8], gondolas: Sequence[int], title: str) -> None:
    h, w = canvas.shape[:2]
    _text(canvas, title, (6, 16), (255, 255, 255), 0.45)
    x0, y = w - 104, 30
    box = canvas[20 : y + 14 * len(gondolas) + 34, x0 - 6 : w - 4]
    box[:] = (box * 0.3).astype(np.uint8)  # darkened, still see-through
    for g in gondolas:
        cv2.line(canvas, (x0, y - 4), (x0 + 18, y - 4), gondola_colour(g), 2, cv2.LINE_AA)
        cv2.putText(canvas, f"gondola {g}", (x0 + 24, y), _FONT, 0.38, (255, 255, 255), 1, cv2.LINE_AA)
        y += 14
    for text in ("thick: shelf front", "faint: plates", "G.S: gondola.shelf"):
        cv2.putText(canvas, text, (x0, y + 2), _FONT, 0.3, (220, 220, 220), 1, cv2.LINE_AA)
        y += 11


def render_overlay(
    image_bgr: NDArray[np.uint8], camera: Camera, store: Store, title: str, plates: bool = True
) -> tuple[NDArray[np.uint8], OverlayStats]:
    """Draw the store's gondolas, shelves and plates as ``camera`` sees them onto a frame.

    Args:
        image_bgr: (h, w, 3) uint8 frame from ``camera`` (OpenCV BGR); not modified.
        camera: its calibration (normalised K, so any resolution of the same field of view works).
        store: the store whose geometry is drawn.
        title: text for the top-left corner.
        plates: draw plate rectangles too.

    Returns:
        ``(overlay, stats)``: a new (h, w, 3) uint8 image and what it shows.
    """
    h, w = image_bgr.shape[:2]
    seg = store_segments(store, plates=plates)
    lines = project_segments(camera, seg, w, h)
    canvas = image_bgr.copy()
    drawn = _draw_lines(canvas, seg, lines)
    shelves = _draw_labels(canvas, seg, lines)
    _draw_legend(canvas, [g.id for g in store.gondolas], title)
    return canvas, OverlayStats(segments_drawn=drawn, shelves_in_view=shelves)


def draw_point_errors(
    image_bgr: NDArray[np.uint8], measured_uv: NDArray[np.float64], projected_uv: NDArray[np.float64]
) -> NDArray[np.uint8]:
    """A copy of ``image_bgr`` with measured pixels (white circles), projections (white crosses) and
    the error between them (white line); ``measured_uv`` and ``projected_uv`` are (n, 2) float64."""
    out = image_bgr.copy()
    for m, p in zip(np.asarray(measured_uv, float), np.asarray(projected_uv, float), strict=True):
        cv2.circle(out, (int(round(m[0])), int(round(m[1]))), 4, (255, 255, 255), 1, cv2.LINE_AA)
        if np.isfinite(p).all() and np.all(np.abs(p) < 1e5):
            cv2.line(out, (int(round(m[0])), int(round(m[1]))), (int(round(p[0])), int(round(p[1]))),
                     (255, 255, 255), 1, cv2.LINE_AA)
            cv2.drawMarker(out, (int(round(p[0])), int(round(p[1]))), (255, 255, 255), cv2.MARKER_CROSS, 8, 1)
    return out


# ---- files ----------------------------------------------------------------------------------------


def find_frames(directory: Path, store: Store, camera_map: Mapping[str, str] | None = None) -> tuple[FrameFile, ...]:
    """The ``camera_<id>`` frames of a directory, each with the camera it is projected with.

    Args:
        directory: folder with ``camera_<id>.png`` / ``.jpg`` files (other files are ignored).
        store: the store whose cameras the ids must name.
        camera_map: frame id -> camera id (default: the frame id is the camera id).

    Raises:
        WalkoutError: the folder is missing or has no frames, or a frame names an unknown camera.
    """
    d = Path(directory)
    if not d.is_dir():
        raise WalkoutError(f"{d}: frames directory not found (pass --frames DIR)")
    matches = [(p, FRAME_NAME.match(p.name)) for p in d.iterdir() if p.is_file()]
    found = sorted(((p, m.group("id")) for p, m in matches if m), key=lambda x: (len(x[1]), x[1]))
    if not found:
        raise WalkoutError(f"{d}: no camera_<id>.png frames")
    known = {c.id for c in store.cameras}
    out = []
    for path, frame_id in found:
        camera_id = (camera_map or {}).get(frame_id, frame_id)
        if camera_id not in known:
            raise WalkoutError(f"{path}: unknown camera id {camera_id!r} (store {store.name} has {len(known)} cameras)")
        out.append(FrameFile(path=path, frame_id=frame_id, camera_id=camera_id))
    return tuple(out)


def read_frame(path: Path) -> NDArray[np.uint8]:
    """An image file as (h, w, 3) uint8 BGR; raises WalkoutError naming the file if it cannot be read."""
    try:
        data = np.frombuffer(Path(path).read_bytes(), dtype=np.uint8)
    except OSError as exc:
        raise WalkoutError(f"{path}: cannot read image: {exc.strerror or exc}") from exc
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise WalkoutError(f"{path}: cannot read image (not a PNG/JPEG file?)")
    return image


def write_overlays(
    frames_dir: Path, out_dir: Path, store: Store, camera_map: Mapping[str, str] | None = None, plates: bool = True
) -> tuple[OverlayResult, ...]:
    """Write ``OUT/camera_<id>_overlay.png`` for every frame of ``frames_dir``.

    All frames are read before anything is written, so bad input leaves no partial output.

    Raises:
        WalkoutError: naming the folder or file that is missing, unreadable or names an unknown camera.
    """
    frames = find_frames(frames_dir, store, camera_map)
    images = [read_frame(f.path) for f in frames]
    cameras = {c.id: c for c in store.cameras}
    try:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WalkoutError(f"{out_dir}: cannot create output directory: {exc.strerror or exc}") from exc
    results = []
    for frame, image in zip(frames, images, strict=True):
        title = f"{frame.path.name} -> camera {frame.camera_id} ({store.name} calibration)"
        overlay, stats = render_overlay(image, cameras[frame.camera_id], store, title, plates)
        out_path = Path(out_dir) / f"camera_{frame.frame_id}_overlay.png"
        ok, png = cv2.imencode(".png", overlay)
        try:
            if not ok:
                raise OSError("PNG encoding failed")
            out_path.write_bytes(png.tobytes())
        except OSError as exc:
            raise WalkoutError(f"{out_path}: cannot write overlay: {exc.strerror or exc}") from exc
        results.append(OverlayResult(frame=frame, out_path=out_path, size_px=(image.shape[1], image.shape[0]), stats=stats))
    return tuple(results)


# ---- hand-measured points -------------------------------------------------------------------------


def load_points(path: Path) -> tuple[CalibrationPoint, ...]:
    """Hand-measured points from a ``calibration_points.json`` file (``{"points": [...]}``).

    Raises:
        WalkoutError: naming the file and the point index that is missing a field or malformed.
    """
    try:
        doc = json.loads(Path(path).read_text())
        rows = doc["points"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WalkoutError(f"{path}: cannot read calibration points: {exc}") from exc
    points = []
    for i, r in enumerate(rows):
        try:
            points.append(CalibrationPoint(
                frame=str(r["frame"]), camera=str(r["camera"]), gondola=int(r["gondola"]), shelf=int(r["shelf"]),
                corner=str(r["corner"]), uv_px=(float(r["u_px"]), float(r["v_px"])), note=str(r.get("note", "")),
            ))
        except (KeyError, TypeError, ValueError) as exc:
            raise WalkoutError(f"{path}: points[{i}]: missing or invalid field {exc}") from exc
    return tuple(points)


def point_projections_px(
    store: Store, points: Sequence[CalibrationPoint], distort: bool = True, camera_of: Mapping[str, Camera] | None = None
) -> NDArray[np.float64]:
    """Where the calibration puts each point's shelf corner in its camera's image.

    Args:
        store: the store (shelf geometry and cameras).
        points: hand-measured points; ``point.camera`` names the camera.
        distort: apply lens distortion (``False`` only to show what ignoring it costs).
        camera_of: camera id -> Camera overriding the store's (e.g. a deliberately broken calibration).

    Returns:
        (n, 2) float64 pixels (u, v) at the camera's own resolution; NaN where the corner is not in
        front of the camera.
    """
    cameras = {c.id: c for c in store.cameras} | dict(camera_of or {})
    out = np.full((len(points), 2), np.nan)
    for i, p in enumerate(points):
        xyz = shelf_corner_m(store, p.gondola, p.shelf, p.corner)[None, :]
        out[i] = project_points(cameras[p.camera], xyz, distort=distort)[0][0]
    return out


def point_errors_px(
    store: Store, points: Sequence[CalibrationPoint], distort: bool = True, camera_of: Mapping[str, Camera] | None = None
) -> NDArray[np.float64]:
    """(n,) float64 pixel distance between each point's projection (:func:`point_projections_px`,
    same arguments) and its hand-measured pixel; NaN where the corner is behind the camera."""
    measured = np.array([p.uv_px for p in points], dtype=np.float64).reshape(-1, 2)
    diff = point_projections_px(store, points, distort, camera_of) - measured
    return np.hypot(diff[:, 0], diff[:, 1])
