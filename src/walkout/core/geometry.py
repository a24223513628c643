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


def segment_distance_m(xy: NDArray[np.float64], a: tuple[float, float], b: tuple[float, float]) -> NDArray[np.float64]:
    """Distance on the floor from points to the segment a-b.

    Args:
        xy: (n, 2) or (2,) float64 points, world frame, metres.
        a, b: the segment's ends, metres.

    Returns:
        (n,) float64 distances in metres (a scalar array for a single point).
    """
    p = np.asarray(xy, dtype=np.float64)
    a_, b_ = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    u = b_ - a_
    k = np.clip(((p - a_) @ u) / float(u @ u), 0.0, 1.0)
    return np.asarray(np.linalg.norm(p - (a_ + k[..., None] * u), axis=-1))


def segment_gap_m(a: NDArray[np.float64], b: NDArray[np.float64], c: NDArray[np.float64], d: NDArray[np.float64]) -> float:
    """Smallest floor distance (m) between the segments a-b and c-d, each end (2,) metres; 0 when
    they cross."""
    def turn(o: NDArray[np.float64], p: NDArray[np.float64], q: NDArray[np.float64]) -> float:
        return float((p[0] - o[0]) * (q[1] - o[1]) - (p[1] - o[1]) * (q[0] - o[0]))

    if turn(a, b, c) * turn(a, b, d) < 0 and turn(c, d, a) * turn(c, d, b) < 0:
        return 0.0
    if np.allclose(a, b) and np.allclose(c, d):
        return float(np.hypot(*(a - c)))
    ends = [(a, c, d), (b, c, d), (c, a, b), (d, a, b)]
    return min(float(segment_distance_m(p, tuple(s0), tuple(s1))) for p, s0, s1 in ends if not np.allclose(s0, s1))
