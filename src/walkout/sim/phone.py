"""The simulated app screen and the entry gate's scanner camera.

A shopper holds a phone showing the app's QR code (:func:`walkout.io.qr.qr_image`) in front of the
entry gate's scanner. :func:`photograph_screen` renders what the scanner's camera sees: the phone
(white screen, dark bezel, a few lines of app text) at a random distance, position, in-plane
rotation and out-of-plane tilt, projected with a pinhole camera (Hartley & Zisserman, *Multiple
View Geometry*, 2nd ed., ch. 6) and warped with a planar homography (``cv2.getPerspectiveTransform``
+ ``cv2.warpPerspective``), over a textured background, with exposure and contrast changes, a
little defocus blur, Gaussian sensor noise and an occasional glare blob on the glass.
:func:`scan_token` renders, photographs and decodes a token the way the gate does, re-trying when a
frame does not decode (the shopper holds the phone up again).

Randomness only comes from the ``np.random.Generator`` passed in: the same generator state gives a
byte-identical frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from walkout.io.qr import decode_qr, qr_image

__all__ = ["PhoneCameraParams", "photograph_screen", "scan_token"]


def _check_range(name: str, lo_hi: tuple[float, float], lo: float, hi: float) -> None:
    a, b = lo_hi
    if not lo <= a <= b <= hi:
        raise ValueError(f"{name} must be an interval (low, high) within [{lo}, {hi}], got {lo_hi}")


@dataclass(frozen=True)
class PhoneCameraParams:
    """How the gate's scanner camera sees a phone screen (ranges are drawn uniformly per frame).

    Attributes:
        frame_hw_px: camera frame (height, width), pixels; a VGA scanner camera by default.
        focal_px: pinhole focal length, pixels (550 px on a 640 px wide frame: ~60 deg horizontal FOV).
        qr_side_px: apparent side of the QR image (symbol and its quiet zone) in the frame before
            tilt, pixels; 110-230 px is a phone held 10-20 cm from the scanner. Sets the distance.
        max_roll_deg: in-plane rotation of the phone, drawn in [-max_roll_deg, max_roll_deg], deg.
        max_tilt_deg: out-of-plane tilt of the screen away from facing the camera, drawn in
            [0, max_tilt_deg] about a random in-plane axis, deg.
        screen_aspect: phone screen height / width.
        bezel_gray: grey level of the phone's bezel, 0-255.
        background_gray: mean grey level of the scene behind the phone, 0-255.
        contrast: gain about mid-grey (exposure / auto-contrast), dimensionless.
        brightness: offset added after the gain, grey levels.
        blur_sigma_px: Gaussian defocus blur, pixels (0 = sharp).
        noise_sigma: Gaussian sensor noise standard deviation, grey levels.
        glare_prob: probability of a glare blob (a light reflected on the screen glass) per frame.
        glare_peak: peak brightness added by the glare, grey levels.
        glare_sigma_frac: glare blob's Gaussian sigma as a fraction of the QR code's apparent side.
    """

    frame_hw_px: tuple[int, int] = (480, 640)
    focal_px: float = 550.0
    qr_side_px: tuple[float, float] = (110.0, 230.0)
    max_roll_deg: float = 35.0
    max_tilt_deg: float = 25.0
    screen_aspect: float = 1.9
    bezel_gray: int = 25
    background_gray: tuple[float, float] = (40.0, 190.0)
    contrast: tuple[float, float] = (0.55, 1.0)
    brightness: tuple[float, float] = (-30.0, 30.0)
    blur_sigma_px: tuple[float, float] = (0.0, 1.2)
    noise_sigma: tuple[float, float] = (2.0, 7.0)
    glare_prob: float = 0.15
    glare_peak: tuple[float, float] = (120.0, 260.0)
    glare_sigma_frac: tuple[float, float] = (0.1, 0.3)

    def __post_init__(self) -> None:
        h, w = self.frame_hw_px
        if h < 16 or w < 16:
            raise ValueError(f"frame_hw_px must be at least (16, 16), got {self.frame_hw_px}")
        if self.focal_px <= 0 or self.screen_aspect < 1.0 or not 0 <= self.bezel_gray <= 255:
            raise ValueError("focal_px must be > 0, screen_aspect >= 1 and bezel_gray in [0, 255]")
        if not 0 <= self.max_roll_deg <= 180 or not 0 <= self.max_tilt_deg < 90 or not 0 <= self.glare_prob <= 1:
            raise ValueError("need 0 <= max_roll_deg <= 180, 0 <= max_tilt_deg < 90 and 0 <= glare_prob <= 1")
        _check_range("qr_side_px", self.qr_side_px, 1.0, float(min(h, w)))
        _check_range("background_gray", self.background_gray, 0.0, 255.0)
        _check_range("contrast", self.contrast, 0.0, 4.0)
        _check_range("brightness", self.brightness, -255.0, 255.0)
        _check_range("blur_sigma_px", self.blur_sigma_px, 0.0, 50.0)
        _check_range("noise_sigma", self.noise_sigma, 0.0, 255.0)
        _check_range("glare_peak", self.glare_peak, 0.0, 1000.0)
        _check_range("glare_sigma_frac", self.glare_sigma_frac, 0.0, 10.0)


def _phone(qr: NDArray[np.uint8], p: PhoneCameraParams) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
    """The phone face image (bezel, white screen, QR, app text lines) and the QR's (x, y) top-left."""
    s = qr.shape[0]
    margin, bezel = round(0.08 * s), max(2, round(0.06 * s))
    screen_w = s + 2 * margin
    screen_h = round(screen_w * p.screen_aspect)
    img = np.full((screen_h + 2 * bezel, screen_w + 2 * bezel), float(p.bezel_gray), dtype=np.float32)
    img[bezel : bezel + screen_h, bezel : bezel + screen_w] = 255.0
    x0, y0 = bezel + margin, bezel + round(0.25 * (screen_h - s))
    img[y0 : y0 + s, x0 : x0 + qr.shape[1]] = qr
    line_h = max(2, s // 16)
    for k, frac in enumerate((0.8, 0.55, 0.65)):  # name, countdown, hint: dark text lines under the QR
        y = y0 + s + (2 * k + 1) * line_h
        if y + line_h < bezel + screen_h - margin:
            img[y : y + line_h, x0 : x0 + round(frac * s)] = 60.0
    return img, np.array([x0, y0], dtype=np.float64)


def _rotation(roll_rad: float, tilt_rad: float, axis_rad: float) -> NDArray[np.float64]:
    """Roll about the optical axis after a tilt about the in-plane axis at angle ``axis_rad`` (Rodrigues)."""
    a = np.array([np.cos(axis_rad), np.sin(axis_rad), 0.0])
    k = np.array([[0.0, -a[2], a[1]], [a[2], 0.0, -a[0]], [-a[1], a[0], 0.0]])
    tilt = np.eye(3) * np.cos(tilt_rad) + np.sin(tilt_rad) * k + (1.0 - np.cos(tilt_rad)) * np.outer(a, a)
    c, s = np.cos(roll_rad), np.sin(roll_rad)
    roll = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return roll @ tilt


def _project(xy: NDArray[np.float64], rot: NDArray[np.float64], scale: float, focal_px: float) -> NDArray[np.float64]:
    """Pinhole projection of phone-plane points (N, 2), phone pixels about the QR centre -> frame px (N, 2)."""
    pts = np.column_stack([xy, np.zeros(len(xy))]) @ rot.T
    depth = focal_px / scale + pts[:, 2]  # the QR centre sits focal/scale phone-pixels from the camera
    return focal_px * pts[:, :2] / depth[:, None]


def _background(hw: tuple[int, int], rng: np.random.Generator, p: PhoneCameraParams) -> NDArray[np.float32]:
    h, w = hw
    level = rng.uniform(*p.background_gray)
    coarse = rng.normal(0.0, 25.0, size=(h // 32 + 2, w // 32 + 2)).astype(np.float32)
    texture = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    slope = rng.normal(0.0, 0.05, size=2)
    ramp = np.add.outer(slope[1] * (np.arange(h) - h / 2), slope[0] * (np.arange(w) - w / 2)).astype(np.float32)
    return np.asarray(texture + ramp + np.float32(level), dtype=np.float32)


def _homography(
    phone_hw: tuple[int, int], qr_xy: NDArray[np.float64], qr_side: int, rng: np.random.Generator, p: PhoneCameraParams
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The phone-image -> frame homography (3, 3) and the QR's projected corners in the frame (4, 2), px."""
    scale = rng.uniform(*p.qr_side_px) / qr_side
    roll_rad = np.deg2rad(rng.uniform(-p.max_roll_deg, p.max_roll_deg))
    tilt_rad = np.deg2rad(rng.uniform(0.0, p.max_tilt_deg))
    rot = _rotation(float(roll_rad), float(tilt_rad), float(rng.uniform(0.0, 2.0 * np.pi)))
    centre = qr_xy + qr_side / 2.0
    h, w = phone_hw
    phone_corners = np.array([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]])
    qr_corners = qr_xy + np.array([[0.0, 0.0], [qr_side, 0.0], [qr_side, qr_side], [0.0, qr_side]])
    dst_phone = _project(phone_corners - centre, rot, scale, p.focal_px)
    dst_qr = _project(qr_corners - centre, rot, scale, p.focal_px)
    frame_wh = np.array(p.frame_hw_px[::-1], dtype=np.float64)
    lo, hi = -dst_qr.min(axis=0), frame_wh - dst_qr.max(axis=0)  # keep the whole QR in the frame
    shift = np.asarray(np.where(lo <= hi, lo + rng.uniform(size=2) * (hi - lo), (lo + hi) / 2.0), dtype=np.float64)
    m = cv2.getPerspectiveTransform(phone_corners.astype(np.float32), (dst_phone + shift).astype(np.float32))
    return np.asarray(m, dtype=np.float64), dst_qr + shift


def _glare(
    qr_quad: NDArray[np.float64], mask: NDArray[np.float32], rng: np.random.Generator, p: PhoneCameraParams
) -> NDArray[np.float32] | float:
    """Light reflected on the screen glass: a Gaussian blob centred over the QR code (or 0.0, no glare)."""
    glare = rng.uniform() < p.glare_prob
    peak, sigma_frac = rng.uniform(*p.glare_peak), rng.uniform(*p.glare_sigma_frac)
    centre = qr_quad.min(axis=0) + rng.uniform(size=2) * np.ptp(qr_quad, axis=0)
    if not glare:
        return 0.0
    sigma = max(1e-3, sigma_frac * float(np.ptp(qr_quad, axis=0).mean()))
    h, w = mask.shape
    r2 = np.add.outer(
        (np.arange(h, dtype=np.float32) - centre[1]) ** 2, (np.arange(w, dtype=np.float32) - centre[0]) ** 2
    )
    return np.asarray(mask * np.float32(peak) * np.exp(-r2 / np.float32(2.0 * sigma**2)), dtype=np.float32)


def photograph_screen(
    qr: NDArray[np.uint8], rng: np.random.Generator, params: PhoneCameraParams = PhoneCameraParams()
) -> NDArray[np.uint8]:
    """Render the gate scanner's camera frame of a phone showing ``qr``.

    Args:
        qr: the QR code image, uint8 grey (S, S) as made by :func:`walkout.io.qr.qr_image`.
        rng: the only source of randomness; the same state gives a byte-identical frame.
        params: camera and handling parameters (defaults documented in :class:`PhoneCameraParams`).

    Returns:
        uint8 grey frame of shape ``params.frame_hw_px`` (480, 640 by default); the whole QR code
        lies inside it unless ``qr_side_px`` is larger than the frame.

    Raises:
        ValueError: ``qr`` is not a square uint8 2-D image of side >= 8.
    """
    if not isinstance(qr, np.ndarray) or qr.dtype != np.uint8 or qr.ndim != 2 or qr.shape[0] != qr.shape[1]:
        shape = getattr(qr, "shape", None)
        raise ValueError(
            f"qr must be a square uint8 (S, S) image, got shape {shape} dtype {getattr(qr, 'dtype', None)}"
        )
    if qr.shape[0] < 8:
        raise ValueError(f"qr must be at least 8 x 8 pixels, got {qr.shape}")
    h, w = params.frame_hw_px
    phone, qr_xy = _phone(qr, params)
    m, qr_quad = _homography(phone.shape, qr_xy, qr.shape[0], rng, params)
    background = _background((h, w), rng, params)
    face = cv2.warpPerspective(phone, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    mask = np.asarray(
        cv2.warpPerspective(np.ones_like(phone), m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT),
        dtype=np.float32,
    )
    frame = background * (1.0 - mask) + face * mask
    contrast, brightness = rng.uniform(*params.contrast), rng.uniform(*params.brightness)
    blur, noise = rng.uniform(*params.blur_sigma_px), rng.uniform(*params.noise_sigma)
    frame = frame + _glare(qr_quad, mask, rng, params)
    frame = (frame - 128.0) * np.float32(contrast) + np.float32(128.0 + brightness)
    if blur > 0.05:
        frame = cv2.GaussianBlur(frame, (0, 0), sigmaX=float(blur))
    frame = frame + np.float32(noise) * rng.standard_normal(size=(h, w), dtype=np.float32)
    return np.clip(np.rint(frame), 0, 255).astype(np.uint8)


def scan_token(
    token: str,
    rng: np.random.Generator,
    params: PhoneCameraParams = PhoneCameraParams(),
    *,
    max_attempts: int = 5,
    scale_px: int = 4,
) -> tuple[str | None, int]:
    """Scan an app token at the entry gate: render its QR, photograph the phone, decode; retry on failure.

    Each failed decode is followed by a new photograph (the shopper holds the phone up again).

    Args:
        token: the text the app's QR code carries (e.g. from
            :func:`walkout.carts.entry.issue_entry_token`).
        rng: the only source of randomness.
        params: camera and handling parameters.
        max_attempts: photographs before giving up (>= 1).
        scale_px: module side of the app's QR rendering, pixels.

    Returns:
        ``(decoded text or None, photographs taken)``; the text can differ from ``token`` only if
        zxing-cpp misdecodes (the entry desk then refuses it as forged).

    Raises:
        ValueError: ``max_attempts`` < 1, or an empty / overlong token.
    """
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
    qr = qr_image(token, scale_px=scale_px)
    for attempt in range(1, max_attempts + 1):
        text = decode_qr(photograph_screen(qr, rng, params))
        if text is not None:
            return text, attempt
    return None, max_attempts
