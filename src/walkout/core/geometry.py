"""Rigid transforms in the store's world frame (metres, z up, floor at z = 0).

Rotations are Rodrigues vectors (axis * angle, radians), as in the AiFi store_meta files and
OpenCV's ``cv2.Rodrigues``; implemented here in numpy so core needs no OpenCV.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def rodrigues_to_matrix(rvec_rad: NDArray[np.float64] | tuple[float, float, float]) -> NDArray[np.float64]:
    """Rotation matrix of a Rodrigues vector.

    Args:
        rvec_rad: shape (3,), axis * angle in radians.

    Returns:
        shape (3, 3) float64 rotation matrix R with ``x_parent = R @ x_child``.

    Source: Rodrigues' rotation formula (as used by OpenCV ``cv2.Rodrigues``).
    """
    r = np.asarray(rvec_rad, dtype=np.float64).reshape(3)
    theta = float(np.linalg.norm(r))
    if theta < 1e-12:
        return np.eye(3)
    k = r / theta
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + np.sin(theta) * kx + (1.0 - np.cos(theta)) * (kx @ kx)


def make_transform(rotation: NDArray[np.float64], translation: NDArray[np.float64]) -> NDArray[np.float64]:
    """4x4 homogeneous transform from a (3, 3) rotation and a (3,) translation."""
    t = np.eye(4)
    t[:3, :3] = rotation
    t[:3, 3] = np.asarray(translation, dtype=np.float64).reshape(3)
    return t


def apply_transform(transform: NDArray[np.float64], points: NDArray[np.float64]) -> NDArray[np.float64]:
    """Apply a 4x4 transform to points of shape (..., 3); returns the same shape."""
    p = np.asarray(points, dtype=np.float64)
    return p @ transform[:3, :3].T + transform[:3, 3]
