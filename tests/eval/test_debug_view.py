"""The vision debug view (``walkout render``): frames written, tracks drawn where they are, bad input.

One short dev recording (BASELINE-9, one shopper, 11 s) is simulated and seen once per module;
the window rendered is picked from the tracks (a second at which the shopper stands under one
depth unit), so the tests follow the simulator rather than hard-coded times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from walkout.cli import app
from walkout.core.camera import project_points
from walkout.core.frames import DepthFrames
from walkout.core.store import Camera, Store
from walkout.eval.debug_view import (
    GREEN,
    RED,
    SCALE,
    TITLE_PX,
    DebugViewJob,
    FrameTracks,
    draw_frame,
    frame_blobs,
    mp4_supported,
    plan_debug_view,
    tracks_at,
    write_debug_view,
)
from walkout.io.store_file import embedded_store_dir
from walkout.perception.people.arms import KEYPOINTS
from walkout.perception.people.locator import LocatorParams, camera_models
from walkout.perception.people.vision import VisionParams, VisionPeople, see_people

GT = embedded_store_dir() / "ground_truth_dev.json"
RECORDING = "BASELINE-9"
CAMERA = "26-depth"
W, H = 320, 240
runner = CliRunner()


@dataclass(frozen=True)
class Seen:
    job: DebugViewJob  # one second of CAMERA with the shopper under it
    vision: VisionPeople
    camera: Camera


def _inside(camera: Camera, xyz: np.ndarray, margin: float) -> np.ndarray:
    uv, _ = project_points(camera, xyz.astype(np.float64), W, H)
    return (uv[:, 0] > margin) & (uv[:, 0] < W - margin) & (uv[:, 1] > margin) & (uv[:, 1] < H - margin)


@pytest.fixture(scope="module")
def seen(store: Store, tmp_path_factory: pytest.TempPathFactory) -> Seen:
    out = tmp_path_factory.mktemp("plan") / "out"
    job = plan_debug_view(GT, RECORDING, store, 0, [CAMERA], 0.0, 1.0, "png", out)
    vision = see_people(job.source, store, VisionParams())
    camera = next(c for c in store.cameras if c.id == CAMERA)
    obs = vision.observations
    under = obs.t_s[_inside(camera, obs.head_xyz_m, 40.0) & (obs.t_s + 1.0 < job.recording.meta.duration_s)]
    assert len(under), "the shopper never stands under the test camera: pick another camera"
    start = float(under[len(under) // 2])
    job = plan_debug_view(GT, RECORDING, store, 0, [CAMERA], start, 1.0, "png", out)
    return Seen(job, vision, camera)


@pytest.fixture(scope="module")
def written(seen: Seen, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("png")
    write_debug_view(seen.job, out, vision=seen.vision)
    return out


def test_one_second_of_one_camera_is_15_pngs_of_the_panel_size(seen: Seen, written: Path) -> None:
    files = sorted((written / CAMERA).glob("*.png"))
    k0 = seen.job.frames[0]
    assert [f.name for f in files] == [f"{k:05d}.png" for k in range(k0, k0 + 15)]
    for f in files:
        img = cv2.imread(str(f))
        assert img is not None and img.shape == (TITLE_PX + H * SCALE, 2 * W * SCALE, 3)
    assert [p.name for p in written.iterdir()] == [CAMERA]  # no staging folder left


def _out_px(uv: np.ndarray) -> tuple[int, int]:
    """Depth-image pixel (centres at integers) -> (x, y) in the left panel of the output image."""
    return int(round((uv[0] + 0.5) * SCALE - 0.5)), int(round((uv[1] + 0.5) * SCALE - 0.5)) + TITLE_PX


def _green_near(img: np.ndarray, uv: np.ndarray, x_offset: int, radius: int = 24) -> int:
    """Pure-green pixels within ``radius`` output pixels of the depth-image point ``uv``."""
    x, y = _out_px(uv)
    x += x_offset
    win = img[max(0, y - radius): y + radius, max(0, x - radius): x + radius]
    return int(np.all(win == GREEN, axis=-1).sum())


def test_the_track_is_drawn_in_its_colour_at_its_projected_head(seen: Seen, written: Path) -> None:
    k = seen.job.frames[0] + 7
    rows = tracks_at(seen.vision, k / seen.job.source.fps)
    inside = _inside(seen.camera, rows.head_xyz_m, 40.0)
    assert inside.any() and not rows.tangled[inside].any()
    uv = project_points(seen.camera, rows.head_xyz_m[inside][:1].astype(np.float64), W, H)[0][0]
    img = cv2.imread(str(written / CAMERA / f"{k:05d}.png"))
    for panel in (0, W * SCALE):  # depth and colour panels
        assert _green_near(img, uv, panel) >= 10
    # the undrawn frame has no such colour there: the pixels come from the drawing
    frames = _frame(seen, k)
    bare = draw_frame(frames.depth_mm[0, 0], frames.rgb[0, 0], seen.camera, _no_tracks(), None, "")
    assert _green_near(bare, uv, 0) == 0 and _green_near(bare, uv, W * SCALE) == 0


def _frame(seen: Seen, k: int) -> DepthFrames:
    ci = seen.job.source.camera_ids.index(CAMERA)
    for chunk in seen.job.source.chunks(1.0):
        hit = np.flatnonzero(np.rint(chunk.t_s * seen.job.source.fps) == k)
        if len(hit):
            j = int(hit[0])
            rgb = chunk.rgb[ci : ci + 1, j : j + 1] if chunk.rgb is not None else None
            return DepthFrames((CAMERA,), chunk.t_s[j : j + 1], chunk.depth_mm[ci : ci + 1, j : j + 1], rgb,
                               chunk.valid[ci : ci + 1, j : j + 1])
    raise AssertionError(f"frame {k} not rendered")


def _no_tracks() -> FrameTracks:
    return FrameTracks(np.empty(0, np.int64), np.empty((0, 3), np.float32), np.empty((0, 2, 3), np.float32),
                       np.empty((0, len(KEYPOINTS), 3), np.float32), np.empty(0, bool))


def test_the_locator_blobs_are_recomputed_person_under_the_camera_none_in_the_empty_store(seen: Seen) -> None:
    params = LocatorParams()
    empty = seen.job.source.empty_store()
    model = camera_models(seen.job.recording.store, empty, params)[CAMERA]
    blobs = frame_blobs(model, _frame(seen, seen.job.frames[0] + 7).depth_mm[0, 0], params)
    assert blobs.person.sum() >= params.blob_min_px
    bg = frame_blobs(model, empty.depth_mm[empty.camera_ids.index(CAMERA), 0], params)
    assert not bg.person.any()


def _two_rows(camera: Camera) -> FrameTracks:
    """Two people 1 m in front of ``camera``, 0.6 m apart across the image; the second is tangled
    and reaches with its right hand (down the image)."""
    m = np.array(camera.world_from_camera)
    centre, across, down = m[:3, 3] + 1.0 * m[:3, 2], m[:3, 0], m[:3, 1]
    heads = np.array([centre - 0.3 * across, centre + 0.3 * across], np.float32)
    kp = np.full((2, len(KEYPOINTS), 3), np.nan, np.float32)
    kp[:, 0] = heads
    for name, d in (("right_shoulder", 0.1), ("right_elbow", 0.25), ("right_hand", 0.4)):
        kp[1, KEYPOINTS.index(name)] = heads[1] + d * down
    hands = np.full((2, 2, 3), np.nan, np.float32)
    hands[1, 1] = kp[1, KEYPOINTS.index("right_hand")]
    return FrameTracks(np.array([4, 7]), heads, hands, kp, np.array([False, True]))


def _colour_near(img: np.ndarray, uv: np.ndarray, colour: tuple[int, int, int], radius: int = 16) -> int:
    x, y = _out_px(uv)
    return int(np.all(img[y - radius: y + radius, x - radius: x + radius] == colour, axis=-1).sum())


def test_a_tangled_row_is_red_and_its_hand_a_filled_circle(store: Store) -> None:
    camera = next(c for c in store.cameras if c.id == CAMERA)
    rows = _two_rows(camera)
    depth = np.full((H, W), 2500, np.uint16)
    img = draw_frame(depth, np.zeros((H, W, 3), np.uint8), camera, rows, None, "test")
    uv = project_points(camera, np.concatenate([rows.head_xyz_m, rows.hands_xyz_m[1, 1:]]).astype(np.float64), W, H)[0]
    assert _colour_near(img, uv[0], GREEN) >= 10 and _colour_near(img, uv[0], RED) == 0
    assert _colour_near(img, uv[1], RED) >= 10 and _colour_near(img, uv[1], GREEN) == 0
    hx, hy = _out_px(uv[2])
    disc = [(hy + dy, hx + dx) for dy, dx in ((0, 0), (0, 2 * SCALE), (0, -2 * SCALE), (2 * SCALE, 0))]
    for panel in (0, W * SCALE):  # a filled disc (off the arm's line too), on both panels
        assert all(tuple(img[y, x + panel]) == RED for y, x in disc)
    untangled = FrameTracks(rows.track_id, rows.head_xyz_m, rows.hands_xyz_m, rows.keypoints_xyz_m,
                            np.zeros(2, bool))
    plain = draw_frame(depth, None, camera, untangled, None, "test")
    assert _colour_near(plain, uv[1], RED) == 0 and tuple(plain[hy, hx]) == GREEN


def test_frame_tracks_check_their_shapes() -> None:
    with pytest.raises(ValueError, match="keypoints_xyz_m: expected shape"):
        FrameTracks(np.zeros(1, np.int64), np.zeros((1, 3), np.float32), np.zeros((1, 2, 3), np.float32),
                    np.zeros((1, 3, 3), np.float32), np.zeros(1, bool))


def test_mp4_is_one_playable_video_per_camera(seen: Seen, tmp_path: Path) -> None:
    job = DebugViewJob(seen.job.recording, seen.job.source, seen.job.cameras, seen.job.frames,
                       seen.job.recording_frames, "mp4")
    (result,) = write_debug_view(job, tmp_path / "v", vision=seen.vision)
    assert result.path == tmp_path / "v" / f"{CAMERA}.mp4" and result.frames == 15
    assert result.path.stat().st_size > 0
    if mp4_supported():
        cap = cv2.VideoCapture(str(result.path))
        n = 0
        while cap.read()[0]:
            n += 1
        cap.release()
        assert n == 15


def test_a_failure_while_writing_leaves_nothing(seen: Seen, tmp_path: Path) -> None:
    def boom(n: int) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_debug_view(seen.job, tmp_path / "new" / "out", vision=seen.vision, on_frame=boom)
    assert list(tmp_path.iterdir()) == []


def test_cli_renders_and_prints_the_summary(tmp_path: Path) -> None:
    result = runner.invoke(app, ["render", RECORDING, "--out", str(tmp_path / "o"), "--camera", "w4",
                                 "--start", "10.8", "--duration", "5"])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "o" / "w4-depth").glob("*.png"))) == 10  # clipped at the end (11.46 s)
    assert "frames written" in result.output and "w4-depth" in result.output


BadArgs = Callable[[Path], list[str]]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: ["render", "BASELINE-99", "--out", str(d / "o")], "BASELINE-9"),
        (lambda d: ["render", RECORDING, "--out", str(d / "o"), "--camera", "99"], "w3-depth"),
        (lambda d: ["render", RECORDING, "--out", str(d / "o"), "--start", "60"], "beyond the end"),
        (lambda d: ["render", RECORDING, "--out", str(d / "o"), "--format", "gif"], "png or mp4"),
        (lambda d: ["render", RECORDING, "--out", str(d / "o"), "--duration", "0"], "duration > 0"),
        (lambda d: ["render", RECORDING, "--out", str(d / "o"), "--ground-truth", str(d / "no.json")], "no.json"),
        (lambda d: ["render", RECORDING, "--out", str(d / "file.txt" / "o")], "not a writable directory"),
        (lambda d: ["render", RECORDING, "--out", str(d / "file.txt")], "not a directory"),
    ],
    ids=["unknown-recording", "unknown-camera", "start-beyond-end", "bad-format", "zero-duration",
         "missing-ground-truth", "out-under-a-file", "out-is-a-file"],
)
def test_cli_bad_input_is_one_error_line_exit_2_and_nothing_written(make: BadArgs, message: str, tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    result = runner.invoke(app, make(tmp_path))
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]
