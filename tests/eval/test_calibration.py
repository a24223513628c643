"""The real AiFi calibration checked on real pixels, and ``walkout calibration-overlay``.

``data/calibration_points.json`` holds 19 shelf corners hand-measured in four real 640x360 AiFi
frames (cameras 2, 6, 8, 10). The calibration puts them 22-169 px from where they are (median
99 px, docs/calibration.md): the tolerance below states that honestly, a strict xfail records the
12 px a usable calibration would reach, and deliberately broken variants (translations left in
inches, the frame file's number taken as the camera id, no lens distortion) must do worse.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from walkout.cli import app
from walkout.core.store import Camera, Store
from walkout.eval.calibration import (
    AIFI_FRAME_CAMERAS,
    CORNERS,
    R_CAP,
    CalibrationPoint,
    Segments,
    distortion_limit,
    draw_point_errors,
    load_points,
    point_errors_px,
    project_segments,
    render_overlay,
)
from walkout.io.aifi import INCH_M

POINTS_FILE = Path(__file__).parent / "data" / "calibration_points.json"
REAL_FRAMES = Path(__file__).resolve().parents[3] / "shared" / "data" / "aifi-nanostore" / "camera_frames"
#: just above the largest error measured (168.9 px): the calibration is this far off today.
TOLERANCE_PX = 175.0
#: what a usable calibration would reach at 640x360 (2 px measurement + ~10 px store_meta geometry).
TARGET_PX = 12.0
#: the errors measured when this test was written (docs/calibration.md), in file order.
RECORDED_ERRORS_PX = (89.1, 89.2, 90.1, 92.5, 95.6, 98.6, 49.8, 55.2, 29.6, 22.5,
                      102.6, 104.2, 105.7, 118.3, 122.2, 127.3, 168.9, 166.8, 163.8)

runner = CliRunner()
POINTS = load_points(POINTS_FILE)


def _id(p: CalibrationPoint) -> str:
    return f"cam{p.camera}-{p.gondola}.{p.shelf}-{p.corner}"


def test_points_file_covers_enough_cameras_and_is_well_formed(store: Store) -> None:
    cameras = {c.id: c for c in store.cameras}
    assert len(POINTS) >= 8 and len({p.camera for p in POINTS}) >= 4
    for p in POINTS:
        assert p.corner in CORNERS and p.camera in cameras
        store.shelf(p.gondola, p.shelf)
        w, h = cameras[p.camera].width_px, cameras[p.camera].height_px
        assert 0 <= p.uv_px[0] < w and 0 <= p.uv_px[1] < h, p
        assert AIFI_FRAME_CAMERAS[p.frame.removeprefix("camera_").removesuffix(".png")] == p.camera


@pytest.mark.parametrize("point", POINTS, ids=_id)
def test_calibration_puts_each_corner_within_the_stated_tolerance(store: Store, point: CalibrationPoint) -> None:
    error = point_errors_px(store, [point])[0]
    assert error <= TOLERANCE_PX, f"{_id(point)}: {error:.1f} px > {TOLERANCE_PX} px"


def test_errors_match_the_documented_measurement(store: Store) -> None:
    errors = point_errors_px(store, POINTS)
    np.testing.assert_allclose(errors, RECORDED_ERRORS_PX, atol=1.5,
                               err_msg="projection changed: re-measure and update docs/calibration.md")


@pytest.mark.xfail(strict=True, reason="the AiFi calibration is misregistered with store_meta (docs/calibration.md)")
def test_calibration_reaches_the_target_accuracy(store: Store) -> None:
    assert np.nanmax(point_errors_px(store, POINTS)) <= TARGET_PX


def test_frame_number_as_camera_id_puts_the_corners_far_off(store: Store) -> None:
    relabelled = [p for p in POINTS if p.frame != f"camera_{p.camera}.png"]
    as_named = [CalibrationPoint(p.frame, p.frame.removeprefix("camera_").removesuffix(".png"), p.gondola, p.shelf,
                                 p.corner, p.uv_px) for p in relabelled]
    errors = point_errors_px(store, as_named)
    assert len(relabelled) >= 9
    assert np.all(np.isnan(errors) | (errors > TOLERANCE_PX)), errors


def _in_inches(camera: Camera) -> Camera:
    m = np.array(camera.world_from_camera, dtype=np.float64)
    m[:3, 3] /= INCH_M
    return camera.model_copy(update={"world_from_camera": tuple(tuple(row) for row in m)})


def test_translations_left_in_inches_put_the_corners_far_off(store: Store) -> None:
    broken = {c.id: _in_inches(c) for c in store.cameras}
    errors = point_errors_px(store, POINTS, camera_of=broken)
    good = point_errors_px(store, POINTS)
    assert np.median(errors) > 2 * np.median(good)
    assert np.nanmax(errors) > 10 * TOLERANCE_PX


def test_ignoring_lens_distortion_is_worse(store: Store) -> None:
    plain = point_errors_px(store, POINTS, distort=False)
    good = point_errors_px(store, POINTS)
    assert plain.mean() > good.mean() + 10
    assert np.max(plain - good) > 100  # a corner near the image edge moves by > 100 px


# ---- clipping and drawing ---------------------------------------------------------------------------


def test_distortion_limit_stops_where_the_polynomial_folds_back() -> None:
    r = distortion_limit((-0.483463, 0.0766268, 0, 0, 0))  # AiFi camera 5
    assert 0.94 < r < 0.96
    assert distortion_limit((-0.502934, 0.238446, 0, 0, 0)) == R_CAP  # camera 6: monotonic
    assert distortion_limit(()) == R_CAP


def test_segment_through_the_camera_is_clipped_to_the_part_in_front(store: Store) -> None:
    camera = next(c for c in store.cameras if c.id == "6")
    m = np.array(camera.world_from_camera)
    centre, forward = m[:3, 3], m[:3, 2]
    seg = Segments(start_m=np.array([centre - 2 * forward]), end_m=np.array([centre + 3 * forward + [0, 0, -0.5]]),
                   gondola=np.array([1]), kind=np.array(["shelf"]), label=np.array([""]))
    (runs,) = project_segments(camera, seg, 640, 360)
    assert len(runs) == 1 and np.isfinite(runs[0]).all()
    assert np.all((runs[0] > [-640, -360]) & (runs[0] < [1280, 720]))
    behind = Segments(start_m=np.array([centre - 2 * forward]), end_m=np.array([centre - forward]),
                      gondola=np.array([1]), kind=np.array(["shelf"]), label=np.array([""]))
    assert project_segments(camera, behind, 640, 360) == [[]]


def test_segments_quote_the_expected_shape() -> None:
    with pytest.raises(ValueError, match=r"Segments.end_m: expected shape \(1, 3\), got \(2, 3\)"):
        Segments(start_m=np.zeros((1, 3)), end_m=np.zeros((2, 3)), gondola=np.array([1]),
                 kind=np.array(["shelf"]), label=np.array([""]))


def test_render_overlay_draws_shelves_and_leaves_the_frame_alone(store: Store) -> None:
    frame = np.full((360, 640, 3), 128, dtype=np.uint8)
    camera = next(c for c in store.cameras if c.id == "6")
    overlay, stats = render_overlay(frame, camera, store, "test")
    assert overlay.shape == frame.shape and np.all(frame == 128)
    assert np.count_nonzero(np.any(overlay != frame, axis=-1)) > 5000
    assert "1.6" in stats.shelves_in_view and stats.segments_drawn > 100


def test_draw_point_errors_marks_measured_and_projected_pixels() -> None:
    frame = np.zeros((360, 640, 3), dtype=np.uint8)
    out = draw_point_errors(frame, np.array([[100.0, 100.0], [50.0, 50.0]]), np.array([[200.0, 150.0], [np.nan, np.nan]]))
    assert np.all(frame == 0) and out[150, 200].any() and out[125, 150].any()
    assert out[46, 50].any()  # the circle of a point without a projection is still drawn


# ---- the CLI ------------------------------------------------------------------------------------------


def _frames(tmp_path: Path, *names: str) -> Path:
    d = tmp_path / "frames"
    d.mkdir()
    for name in names:
        if name.endswith(".png"):
            cv2.imwrite(str(d / name), np.full((360, 640, 3), 90, dtype=np.uint8))
        else:
            (d / name).write_text("not a frame\n")
    return d


def test_cli_writes_one_overlay_per_frame(tmp_path: Path) -> None:
    frames = _frames(tmp_path, "camera_2.png", "camera_4.png", "notes.txt")
    out = tmp_path / "out"
    result = runner.invoke(app, ["calibration-overlay", "--frames", str(frames), "--out", str(out),
                                 "--camera-map", "4=6"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["camera_2_overlay.png", "camera_4_overlay.png"]
    assert cv2.imread(str(out / "camera_4_overlay.png")).shape == (360, 640, 3)
    assert "wrote 2 overlay(s)" in result.output


@pytest.mark.skipif(not REAL_FRAMES.is_dir(), reason="real AiFi frames not checked out next to the repo")
def test_cli_on_the_real_aifi_frames(tmp_path: Path) -> None:
    result = runner.invoke(app, ["calibration-overlay", "--frames", str(REAL_FRAMES), "--out", str(tmp_path),
                                 "--camera-map", "aifi"])
    assert result.exit_code == 0, result.output
    assert len(list(tmp_path.glob("camera_*_overlay.png"))) == 8


@pytest.mark.parametrize(
    ("names", "args", "named"),
    [
        ((), ["--frames", "{tmp}/missing"], "missing"),
        (("camera_2.png",), ["--camera-map", "2-6"], "2-6"),
        (("camera_99.png",), [], "camera_99.png"),
        (("camera_2.png",), ["--camera-map", "2=77"], "camera_2.png"),
        (("camera_2.png", "camera_3.png"), ["--frames", "{tmp}/frames/camera_2.png"], "camera_2.png"),
        (("notes.txt",), [], "frames"),
    ],
    ids=["missing-dir", "bad-map", "unknown-camera", "unknown-mapped-camera", "file-not-dir", "no-frames"],
)
def test_cli_bad_input_exits_2_with_one_error_line(tmp_path: Path, names: tuple[str, ...], args: list[str],
                                                    named: str) -> None:
    frames = _frames(tmp_path, *names)
    argv = ["calibration-overlay", "--frames", str(frames), "--out", str(tmp_path / "out")]
    argv += [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and named in lines[0], result.output
    assert not (tmp_path / "out").exists()


def test_cli_unreadable_image_names_the_file(tmp_path: Path) -> None:
    frames = _frames(tmp_path, "camera_2.png")
    (frames / "camera_6.png").write_bytes(b"not a png at all")
    result = runner.invoke(app, ["calibration-overlay", "--frames", str(frames), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error:") and "camera_6.png" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()
