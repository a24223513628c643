"""Pinhole camera math for the store's calibrated cameras (world frame: metres, z up).

Camera frame: OpenCV's convention, x right, y down, z forward along the optical axis.
``Camera.world_from_camera`` maps camera-frame points to the world; ``Camera.k_norm`` is the
intrinsic matrix normalised by image width and height (the AiFi calibration convention), so the
same camera can be used at any resolution with the same field of view. Lens distortion follows
OpenCV's model (radial k1, k2, k3; tangential p1, p2), ``dist_coeffs = (k1, k2, p1, p2, k3)``.

Depth images follow the RealSense / Kinect convention: a pixel's depth is the point's z in the
camera frame (distance along the optical axis), not the ray length.

Sources: Hartley & Zisserman, *Multiple View Geometry* (2nd ed.), ch. 6; OpenCV ``calib3d``
documentation (distortion model).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from walkout.core.store import Camera


def intrinsics_px(camera: Camera, width_px: int | None = None, height_px: int | None = None) -> NDArray[np.float64]:
    """The 3x3 pixel intrinsic matrix of ``camera`` at a resolution (default: its own).

    Args:
        camera: a calibrated camera.
        width_px, height_px: image size in pixels.

    Returns:
        (3, 3) float64 ``K`` with fx, cx scaled by the width and fy, cy by the height.
    """
    w = camera.width_px if width_px is None else width_px
    h = camera.height_px if height_px is None else height_px
    k = np.array(camera.k_norm, dtype=np.float64)
    return np.diag([w, h, 1.0]) @ k


def world_from_camera(camera: Camera) -> NDArray[np.float64]:
    """(4, 4) float64 camera-to-world transform, translation in metres."""
    return np.array(camera.world_from_camera, dtype=np.float64)


def camera_from_world(camera: Camera) -> NDArray[np.float64]:
    """(4, 4) float64 world-to-camera transform (the inverse of :func:`world_from_camera`)."""
    m = world_from_camera(camera)
    r, t = m[:3, :3], m[:3, 3]
    out = np.eye(4)
    out[:3, :3] = r.T
    out[:3, 3] = -r.T @ t
    return out


def _distort(xn: NDArray[np.float64], yn: NDArray[np.float64], dist: tuple[float, ...]
             ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    k1, k2, p1, p2, k3 = (tuple(dist) + (0.0,) * 5)[:5]
    r2 = xn * xn + yn * yn
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = xn * radial + 2.0 * p1 * xn * yn + p2 * (r2 + 2.0 * xn * xn)
    yd = yn * radial + p1 * (r2 + 2.0 * yn * yn) + 2.0 * p2 * xn * yn
    return xd, yd


def project_points(
    camera: Camera,
    xyz_m: NDArray[np.float64],
    width_px: int | None = None,
    height_px: int | None = None,
    distort: bool = True,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Project world points into a camera image.

    Args:
        camera: a calibrated camera.
        xyz_m: (n, 3) world points, metres.
        width_px, height_px: image size (default: the camera's own).
        distort: apply the camera's lens distortion.

    Returns:
        ``(uv_px, z_m)``: (n, 2) float64 pixel coordinates (u right, v down; pixel centres at
        integers) and (n,) float64 depth along the optical axis. Points at or behind the camera
        (z <= 1 cm) get NaN pixel coordinates.

    Raises:
        ValueError: ``xyz_m`` is not of shape (n, 3).
    """
    p = np.asarray(xyz_m, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3:
        raise ValueError(f"xyz_m: expected shape (n, 3), got {p.shape}")
    m = camera_from_world(camera)
    pc = p @ m[:3, :3].T + m[:3, 3]
    z = pc[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        xn, yn = pc[:, 0] / z, pc[:, 1] / z
    if distort and camera.dist_coeffs:
        xn, yn = _distort(xn, yn, camera.dist_coeffs)
    k = intrinsics_px(camera, width_px, height_px)
    uv = np.stack([k[0, 0] * xn + k[0, 1] * yn + k[0, 2], k[1, 1] * yn + k[1, 2]], axis=1)
    uv[z <= 0.01] = np.nan
    return uv, z


def pixel_rays(camera: Camera, width_px: int, height_px: int) -> NDArray[np.float64]:
    """Normalised camera-frame rays ``(x/z, y/z)`` of every pixel centre (no distortion).

    Returns:
        (height_px, width_px, 2) float64; a pixel at depth ``d`` metres is the camera-frame point
        ``(x/z * d, y/z * d, d)``.
    """
    k = intrinsics_px(camera, width_px, height_px)
    u = np.arange(width_px, dtype=np.float64)
    v = np.arange(height_px, dtype=np.float64)
    yn = (v - k[1, 2]) / k[1, 1]
    xn = (u[None, :] - k[0, 2] - k[0, 1] * yn[:, None]) / k[0, 0]
    return np.stack([xn, np.broadcast_to(yn[:, None], xn.shape)], axis=-1)


def backproject(
    camera: Camera, rays: NDArray[np.float64], depth_m: NDArray[np.float64]
) -> NDArray[np.float64]:
    """World points of pixels with known depth (undistorted cameras, e.g. depth sensors).

    Args:
        camera: the camera the rays belong to.
        rays: (n, 2) normalised rays from :func:`pixel_rays`.
        depth_m: (n,) depth along the optical axis, metres.

    Returns:
        (n, 3) float64 world points, metres.
    """
    m = world_from_camera(camera)
    d = np.asarray(depth_m, dtype=np.float64)
    pc = np.stack([rays[:, 0] * d, rays[:, 1] * d, d], axis=1)
    return pc @ m[:3, :3].T + m[:3, 3]
