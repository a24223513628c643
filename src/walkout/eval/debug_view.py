"""Vision debug view: depth and colour frames with what the locator and linker made of them.

Perception drops raw frames once processed (only tracks and keypoints leave it); this is the debug
option that does write frames, for a developer. A labelled recording of a ground-truth file is
simulated exactly as ``walkout replay FILE --seed N`` does (per-recording seed
:func:`~walkout.sim.pipeline.recording_seed`), :func:`~walkout.perception.people.vision.see_people`
runs over all of it, then the window's frames are rendered again (``DepthSource.chunks`` yields
identical frames on every pass) and drawn on. Each image (BGR uint8) is a title bar over two panels
of ``SCALE`` x the depth resolution:

* left the depth image (OpenCV Turbo colour map, near red, far blue, no return black), right the
  registered colour image;
* on both, the outlines of the locator's foreground blobs in that frame, recomputed with its
  per-camera background model (:func:`frame_blobs`): person blobs cyan, not-person blobs orange;
* per track row at that frame time: the track id at the projected head (green, or red with a ``T``
  when tangled), the stick figure head - shoulders - elbows - hands as lines and the traced hands
  as filled circles, in the same colour, projected with :func:`~walkout.core.camera.project_points`
  at the depth resolution (no occlusion: a track behind a gondola is drawn through it).

Output: ``DIR/<camera>/<frame:05d>.png`` (recording frame index, t = frame / fps) or
``DIR/<camera>.mp4`` (``mp4v``, :data:`MP4_FPS`), written to a hidden staging folder in ``DIR`` and
moved into place once every camera is complete: a failure leaves no partial output.
"""

from __future__ import annotations

import difflib
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

import cv2
import numpy as np
from numpy.typing import NDArray

from walkout.core.camera import project_points
from walkout.core.errors import GroundTruthError, WalkoutError
from walkout.core.frames import DepthSource
from walkout.core.store import Camera, Store
from walkout.io.recording import Recording
from walkout.perception.people.arms import KEYPOINTS
from walkout.perception.people.locator import CameraModel, LocatorParams, camera_blobs, camera_models
from walkout.perception.people.vision import VisionParams, VisionPeople, see_people
from walkout.sim.pipeline import load_aifi_scenarios, recording_seed, simulate

Format = Literal["png", "mp4"]
#: output magnification of the depth resolution (320 x 240 -> two 640 x 480 panels)
SCALE = 2
#: title bar height, output pixels
TITLE_PX = 28
#: depth colour range, millimetres: ``near`` and nearer is red, ``far`` and farther is blue
DEPTH_RANGE_MM = (500.0, 4500.0)
MP4_FOURCC = "mp4v"
MP4_FPS = 15.0
#: BGR colours
GREEN, RED, CYAN, ORANGE, WHITE, BLACK = (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 140, 255), (255, 255, 255), (0, 0, 0)
#: stick-figure segments, as pairs of ``KEYPOINTS`` indices
LIMBS = tuple(
    (KEYPOINTS.index(a), KEYPOINTS.index(b))
    for a, b in (("head", "left_shoulder"), ("head", "right_shoulder"), ("left_shoulder", "right_shoulder"),
                 ("left_shoulder", "left_elbow"), ("left_elbow", "left_hand"),
                 ("right_shoulder", "right_elbow"), ("right_elbow", "right_hand"))
)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


# ---- one frame -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FrameTracks:
    """The track rows of one frame time (m of them), world frame, metres.

    Attributes:
        track_id: (m,) int64 track ids.
        head_xyz_m: (m, 3) float32 head centres.
        hands_xyz_m: (m, 2, 3) float32 traced left/right hands, NaN where not extended.
        keypoints_xyz_m: (m, len(KEYPOINTS), 3) float32 stick figure, NaN where unknown.
        tangled: (m,) bool, the row was in a tangled state.
    """

    track_id: NDArray[np.int64]
    head_xyz_m: NDArray[np.float32]
    hands_xyz_m: NDArray[np.float32]
    keypoints_xyz_m: NDArray[np.float32]
    tangled: NDArray[np.bool_]

    def __post_init__(self) -> None:
        m = len(self.track_id)
        for name, shape in (("head_xyz_m", (m, 3)), ("hands_xyz_m", (m, 2, 3)),
                            ("keypoints_xyz_m", (m, len(KEYPOINTS), 3)), ("tangled", (m,))):
            if (got := getattr(self, name).shape) != shape:
                raise ValueError(f"FrameTracks.{name}: expected shape {shape}, got {got}")


def tracks_at(vision: VisionPeople, t_s: float, tol_s: float = 1e-6) -> FrameTracks:
    """The rows of ``vision`` at frame time ``t_s`` (seconds; rows within ``tol_s``)."""
    sel = np.flatnonzero(np.abs(vision.observations.t_s - t_s) <= tol_s)
    return FrameTracks(vision.observations.track_id[sel], vision.observations.head_xyz_m[sel],
                       vision.hands_xyz_m[sel], vision.keypoints_xyz_m[sel], vision.tangled[sel])


@dataclass(frozen=True)
class Blobs:
    """Foreground blobs of one camera frame on the locator's subsampled grid (every ``stride``-th pixel).

    Attributes:
        person: (h, w) bool pixels of person blobs.
        other: (h, w) bool pixels of not-person blobs (too small or too low).
    """

    person: NDArray[np.bool_]
    other: NDArray[np.bool_]


def frame_blobs(model: CameraModel, depth_mm: NDArray[np.uint16], params: LocatorParams) -> Blobs:
    """The locator's foreground blobs of one camera frame (:func:`~walkout.perception.people.locator.camera_blobs`).

    Args:
        model: the camera's background model (:func:`~walkout.perception.people.locator.camera_models`).
        depth_mm: (H, W) uint16 depth, millimetres along the optical axis, 0 = no return.
        params: the locator parameters the model was built with.

    Returns:
        The blob masks on the (H / stride, W / stride) grid.
    """
    b = camera_blobs(model, depth_mm[None], params)
    is_person = b.person[b.labels[0]] & b.fg[0]
    return Blobs(is_person, b.fg[0] & ~is_person)


def depth_colour(depth_mm: NDArray[np.uint16]) -> NDArray[np.uint8]:
    """(H, W, 3) uint8 BGR Turbo colour map of (H, W) uint16 depth in mm over :data:`DEPTH_RANGE_MM`; 0 is black."""
    near, far = DEPTH_RANGE_MM
    x = np.clip((far - depth_mm.astype(np.float32)) / (far - near), 0.0, 1.0)
    bgr = cv2.applyColorMap(np.round(x * 255.0).astype(np.uint8), cv2.COLORMAP_TURBO)
    bgr[depth_mm == 0] = 0
    return bgr


def _px(uv: NDArray[np.float64], scale: int) -> NDArray[np.float64]:
    """Depth-image pixel coordinates (centres at integers) -> output pixel coordinates."""
    return np.clip((uv + 0.5) * scale - 0.5, -1e4, 1e4)


def _pt(p: NDArray[np.float64]) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def _draw_tracks(panel: NDArray[np.uint8], camera: Camera, tracks: FrameTracks, size: tuple[int, int], scale: int) -> None:
    """Draw every track row of ``tracks`` on ``panel`` (in place); ``size`` is the depth image (W, H)."""
    m, k = len(tracks.track_id), len(KEYPOINTS)
    if m == 0:
        return
    pts = np.concatenate([tracks.keypoints_xyz_m.reshape(-1, 3), tracks.hands_xyz_m.reshape(-1, 3),
                          tracks.head_xyz_m]).astype(np.float64)
    uv = _px(project_points(camera, pts, *size)[0], scale)
    kp, hands, heads = uv[: m * k].reshape(m, k, 2), uv[m * k: m * k + 2 * m].reshape(m, 2, 2), uv[m * k + 2 * m:]
    for i in range(m):
        colour = RED if tracks.tangled[i] else GREEN
        for a, b in LIMBS:
            if np.isfinite(kp[i, a]).all() and np.isfinite(kp[i, b]).all():
                cv2.line(panel, _pt(kp[i, a]), _pt(kp[i, b]), colour, max(1, scale), cv2.LINE_AA)
        for h in hands[i]:
            if np.isfinite(h).all():
                cv2.circle(panel, _pt(h), 3 * scale, colour, -1, cv2.LINE_8)
                cv2.circle(panel, _pt(h), 3 * scale, BLACK, 1, cv2.LINE_AA)
        if np.isfinite(heads[i]).all():
            centre = _pt(heads[i])
            cv2.circle(panel, centre, 4 * scale, colour, max(1, scale), cv2.LINE_8)
            label = f"{int(tracks.track_id[i])}{'T' if tracks.tangled[i] else ''}"
            _text(panel, label, (centre[0] + 5 * scale, centre[1] - 4 * scale), colour, 0.4 * scale)


def _text(img: NDArray[np.uint8], text: str, org: tuple[int, int], colour: tuple[int, int, int], size: float) -> None:
    """Text in ``colour`` with a black outline (readable on any background)."""
    thick = max(1, int(round(size * 2)))
    cv2.putText(img, text, org, _FONT, size, BLACK, thick + 2, cv2.LINE_AA)
    cv2.putText(img, text, org, _FONT, size, colour, thick, cv2.LINE_8)


def _draw_blobs(panel: NDArray[np.uint8], blobs: Blobs) -> None:
    """Outline the blobs of ``blobs`` on ``panel`` (in place), upscaled to the panel's size."""
    h, w = panel.shape[:2]
    for mask, colour in ((blobs.other, ORANGE), (blobs.person, CYAN)):
        if not mask.any():
            continue
        big = cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
        contours, _ = cv2.findContours(big, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(panel, contours, -1, colour, 1, cv2.LINE_8)


def _title_bar(width: int, title: str, scale: int) -> NDArray[np.uint8]:
    """(TITLE_PX, width, 3) black bar with ``title`` left and the colour legend right."""
    bar = np.zeros((TITLE_PX, width, 3), np.uint8)
    size = 0.25 * scale
    y = TITLE_PX - 9
    cv2.putText(bar, title, (6, y), _FONT, size, WHITE, 1, cv2.LINE_AA)
    x = width - 6
    for text, colour in reversed((("person blob", CYAN), ("not-person blob", ORANGE), ("track", GREEN),
                                  ("tangled T", RED))):
        x -= cv2.getTextSize(text, _FONT, size, 1)[0][0] + 12
        cv2.putText(bar, text, (x, y), _FONT, size, colour, 1, cv2.LINE_AA)
    return bar


def draw_frame(
    depth_mm: NDArray[np.uint16], rgb: NDArray[np.uint8] | None, camera: Camera, tracks: FrameTracks,
    blobs: Blobs | None, title: str, scale: int = SCALE,
) -> NDArray[np.uint8]:  # fmt: skip
    """Draw one camera frame with its blobs and tracks (see the module docstring).

    Args:
        depth_mm: (H, W) uint16 depth, millimetres along the optical axis, 0 = no return.
        rgb: (H, W, 3) uint8 registered colour (RGB order), or None (a black panel).
        camera: the depth camera; tracks are projected with its calibration at (W, H).
        tracks: the track rows at this frame time (world frame, metres).
        blobs: the locator's blobs of this frame, or None to draw none.
        title: text of the title bar.
        scale: output pixels per depth pixel.

    Returns:
        (TITLE_PX + H * scale, 2 * W * scale, 3) uint8 BGR image.
    """
    h, w = depth_mm.shape
    colour = rgb[..., ::-1] if rgb is not None else np.zeros((h, w, 3), np.uint8)
    panels = []
    for img in (depth_colour(depth_mm), colour):
        big = cv2.resize(img, (w * scale, h * scale), interpolation=cv2.INTER_NEAREST)
        panel: NDArray[np.uint8] = np.ascontiguousarray(big, dtype=np.uint8)
        if blobs is not None:
            _draw_blobs(panel, blobs)
        _draw_tracks(panel, camera, tracks, (w, h), scale)
        panels.append(panel)
    return np.vstack([_title_bar(2 * w * scale, title, scale), np.hstack(panels)])


# ---- a recording -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DebugViewJob:
    """A validated request: what to render.

    Attributes:
        recording: the simulated recording (its ``depth`` source renders the frames).
        source: ``recording.depth``.
        cameras: depth camera ids to render, in the source's order.
        frames: (k0, k1) recording frame indices to render, ``k0 <= k < k1`` (t = k / fps).
        recording_frames: frames of the whole recording (the vision pipeline sees them all).
        fmt: ``"png"`` or ``"mp4"``.
    """

    recording: Recording
    source: DepthSource
    cameras: tuple[str, ...]
    frames: tuple[int, int]
    recording_frames: int
    fmt: Format

    @property
    def n_frames(self) -> int:
        """Frames per camera."""
        return self.frames[1] - self.frames[0]


@dataclass(frozen=True)
class RenderedCamera:
    """What was written for one camera: its id, the frame count and the output path."""

    camera_id: str
    frames: int
    path: Path


def find_recording(gt_path: Path, name: str, store: Store, seed: int) -> Recording:
    """Simulate the labelled recording ``name`` of a ground-truth file as ``walkout replay`` does.

    Raises:
        GroundTruthError: the file is invalid, or has no recording of that name (the message
            lists close matches and a few valid names).
    """
    scenarios = load_aifi_scenarios(gt_path, store)
    names = [s.name for s in scenarios]
    if name not in names:
        lower = {n.lower(): n for n in names}
        close = [lower[c] for c in difflib.get_close_matches(name.lower(), list(lower), n=3)]
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise GroundTruthError(f"{gt_path}: no recording {name!r}; {hint}recordings include "
                               f"{', '.join(names[:6])}{', ...' if len(names) > 6 else ''} ({len(names)} in all)")
    i = names.index(name)
    try:
        return simulate(scenarios[i], store, recording_seed(seed, i))[0]
    except ValueError as exc:
        raise GroundTruthError(f"{gt_path}: recording {name!r} cannot be simulated: {exc}") from exc


def _resolve_cameras(asked: Sequence[str], available: tuple[str, ...]) -> tuple[str, ...]:
    """Camera ids as given (or with ``-depth`` appended), in source order; all when none are asked."""
    chosen = set()
    for cid in asked:
        match = cid if cid in available else f"{cid}-depth" if f"{cid}-depth" in available else None
        if match is None:
            raise WalkoutError(f"--camera {cid!r}: not a depth camera of the store; depth cameras: "
                               f"{', '.join(available)}")
        chosen.add(match)
    return tuple(c for c in available if c in chosen) if chosen else available


def _first_missing(path: Path) -> Path | None:
    """The topmost folder of absolute ``path`` that does not exist yet (None: it all exists)."""
    top = None
    while not path.exists():
        top, path = path, path.parent
    return top


def _check_writable(out_dir: Path) -> None:
    """Raise WalkoutError when ``out_dir`` cannot be created or written (nothing is created)."""
    p = Path(out_dir).absolute()
    if p.exists() and not p.is_dir():
        raise WalkoutError(f"{out_dir}: output exists and is not a directory")
    top = _first_missing(p)
    parent = top.parent if top is not None else p
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise WalkoutError(f"{out_dir}: cannot write the debug view here ({parent} is not a writable directory)")


def plan_debug_view(
    gt_path: Path, name: str, store: Store, seed: int, cameras: Sequence[str], start_s: float, duration_s: float,
    fmt: str, out_dir: Path,
) -> DebugViewJob:  # fmt: skip
    """Validate a request before anything is written.

    Args:
        gt_path: AiFi ground-truth file; name: a recording in it; store: its store; seed: batch seed.
        cameras: depth camera ids (``"21-depth"`` or ``"21"``); empty = every depth camera.
        start_s, duration_s: the window, seconds since the recording's start (clipped at its end).
        fmt: ``"png"`` or ``"mp4"``.
        out_dir: where the output will go (must be creatable and writable).

    Raises:
        WalkoutError: naming the bad input (unknown recording or camera, window outside the
            recording, bad format, unwritable output).
    """
    if fmt not in ("png", "mp4"):
        raise WalkoutError(f"--format {fmt!r}: expected png or mp4")
    if not (math.isfinite(duration_s) and duration_s > 0) or not (math.isfinite(start_s) and start_s >= 0):
        raise WalkoutError(f"--start {start_s} / --duration {duration_s}: expected start >= 0 and duration > 0 seconds")
    _check_writable(out_dir)
    rec = find_recording(Path(gt_path), name, store, seed)
    if rec.depth is None:
        raise WalkoutError(f"recording {name!r} has no depth units")
    chosen = _resolve_cameras(cameras, rec.depth.camera_ids)
    fps = rec.depth.fps
    n = int(math.floor(rec.meta.duration_s * fps)) + 1
    k0 = math.ceil(start_s * fps - 1e-9)
    if k0 >= n:
        raise WalkoutError(f"--start {start_s:g} s is beyond the end of recording {name!r} ({rec.meta.duration_s:.1f} s)")
    k1 = min(n, math.ceil((start_s + duration_s) * fps - 1e-9))
    return DebugViewJob(rec, rec.depth, chosen, (k0, max(k1, k0 + 1)), n, cast(Format, fmt))


class _Output:
    """One camera's output being written: a folder of ``<frame:05d>.png`` or one ``mp4v`` video."""

    def __init__(self, path: Path, fmt: Format) -> None:
        self.path, self.fmt, self.count = path, fmt, 0
        self.video: cv2.VideoWriter | None = None
        if fmt == "png":
            path.mkdir()

    def write(self, k: int, image: NDArray[np.uint8]) -> None:
        self.count += 1
        if self.fmt == "png":
            ok, png = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 3])
            if not ok:
                raise WalkoutError(f"{self.path}: PNG encoding failed")
            (self.path / f"{k:05d}.png").write_bytes(png.tobytes())
            return
        if self.video is None:  # opened at the first frame, whose size it takes
            fourcc = cv2.VideoWriter.fourcc(*MP4_FOURCC)
            self.video = cv2.VideoWriter(str(self.path), fourcc, MP4_FPS, (image.shape[1], image.shape[0]))
            if not self.video.isOpened():
                raise WalkoutError(f"{self.path}: OpenCV cannot write {MP4_FOURCC} video here (use --format png)")
        self.video.write(image)

    def close(self) -> None:
        if self.video is not None:
            self.video.release()


def mp4_supported() -> bool:
    """Whether this OpenCV build writes ``mp4v`` MP4 files that read back (probed in a temp dir)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = _Output(Path(tmp) / "probe.mp4", "mp4")
        try:
            for i in range(3):
                out.write(i, np.full((48, 64, 3), 60 * i, np.uint8))
        except WalkoutError:
            return False
        out.close()
        cap = cv2.VideoCapture(str(out.path))
        ok = cap.isOpened() and cap.read()[0]
        cap.release()
        return bool(ok)


def _output_name(camera_id: str, fmt: Format) -> str:
    return camera_id.replace("/", "_").replace("\\", "_") + (".mp4" if fmt == "mp4" else "")


def _render(job: DebugViewJob, vision: VisionPeople, writers: dict[str, _Output], params: LocatorParams,
            on_frame: Callable[[int], None] | None) -> None:
    """Render the job's window a second time and feed every camera's drawn frames to its writer."""
    source, store = job.source, job.recording.store
    models = camera_models(store, source.empty_store(), params)
    cams = {c.id: c for c in store.cameras}
    index = {cid: source.camera_ids.index(cid) for cid in job.cameras}
    k0, k1 = job.frames
    for frames in source.chunks(1.0):
        ks = np.rint(frames.t_s * source.fps).astype(np.int64)
        if len(ks) == 0 or ks[-1] < k0:
            continue
        if ks[0] >= k1:
            break
        for j in np.flatnonzero((ks >= k0) & (ks < k1)):
            t = float(frames.t_s[j])
            tracks = tracks_at(vision, t)
            for cid in job.cameras:
                ci = index[cid]
                valid = bool(frames.valid[ci, j])
                depth = frames.depth_mm[ci, j]
                blobs = frame_blobs(models[cid], depth, params) if valid else None
                title = (f"{job.recording.meta.name}  camera {cid}  t {t:6.2f} s  frame {int(ks[j])}  "
                         f"{len(tracks.track_id)} track(s){'' if valid else '  DROPPED'}")
                rgb = frames.rgb[ci, j] if frames.rgb is not None else None
                writers[cid].write(int(ks[j]), draw_frame(depth, rgb, cams[cid], tracks, blobs, title))
            if on_frame is not None:
                on_frame(len(job.cameras))


def _publish(writers: dict[str, _Output], out_dir: Path) -> tuple[RenderedCamera, ...]:
    """Move every camera's finished output into ``out_dir`` (replacing an older one of the same name)."""
    done = []
    for cid, w in writers.items():
        final = Path(out_dir) / w.path.name
        if final.is_dir():
            shutil.rmtree(final)
        elif final.exists():
            final.unlink()
        os.replace(w.path, final)
        done.append(RenderedCamera(cid, w.count, final))
    return tuple(done)


def write_debug_view(
    job: DebugViewJob, out_dir: Path, params: VisionParams = VisionParams(),
    on_vision: Callable[[float], None] | None = None, on_frame: Callable[[int], None] | None = None,
    vision: VisionPeople | None = None,
) -> tuple[RenderedCamera, ...]:  # fmt: skip
    """Run the vision pipeline over the job's recording and write the debug view of its window.

    Args:
        job: a request validated by :func:`plan_debug_view`.
        out_dir: output folder (created if needed).
        params: vision parameters (the engine's defaults, as ``walkout replay --people vision``).
        on_vision: called with the last frame time (seconds) the vision pipeline processed.
        on_frame: called with the number of images just written.
        vision: the tracks, if already computed with ``params`` over the same recording (else
            the pipeline is run here).

    Returns:
        One :class:`RenderedCamera` per camera, in the job's order.

    Raises:
        WalkoutError: the output cannot be written (nothing is left behind).
    """
    created, staging = _first_missing(Path(out_dir).absolute()), None
    try:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".render-", dir=out_dir))
        if vision is None:
            vision = see_people(job.source, job.recording.store, params, progress=on_vision)
        writers = {cid: _Output(staging / _output_name(cid, job.fmt), job.fmt) for cid in job.cameras}
        try:
            _render(job, vision, writers, params.locator, on_frame)
        finally:
            for w in writers.values():
                w.close()
        return _publish(writers, out_dir)
    except BaseException as exc:
        if created is not None:  # this run created the output folder: remove it again
            shutil.rmtree(created, ignore_errors=True)
        if isinstance(exc, OSError):
            raise WalkoutError(f"{out_dir}: cannot write the debug view: {exc.strerror or exc}") from exc
        raise
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
