"""QR codes: render a text as a QR code image (segno) and decode QR codes in camera frames (zxing-cpp).

This is the device adapter of the entry gate's scanner: the app's screen is drawn with
:func:`qr_image` (also used by the simulator) and the scanner's camera frames go through
:func:`decode_qr`. QR codes are ISO/IEC 18004; segno encodes, zxing-cpp (a C++ port of ZXing)
locates and decodes, including rotated, perspective-warped, blurred and noisy symbols.
"""

from __future__ import annotations

import numpy as np
import segno
import zxingcpp
from numpy.typing import NDArray

__all__ = ["decode_qr", "qr_image"]

_LUMA_RGB = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601 luma weights


def qr_image(text: str, *, scale_px: int = 4, border_modules: int = 4) -> NDArray[np.uint8]:
    """Render ``text`` as a QR code (ISO/IEC 18004, error correction at least level M).

    segno picks the smallest version that holds the text at level M and raises the level for free
    when the same version has room for it (``boost_error``); Micro QR is never used (phone scanners
    and gate scanners expect full QR codes).

    Args:
        text: the payload (e.g. an entry token), non-empty.
        scale_px: side of one module, pixels (>= 1).
        border_modules: quiet zone around the symbol, modules (ISO/IEC 18004 asks for 4).

    Returns:
        uint8 grayscale image (H, W) with H == W == (modules + 2 * border_modules) * scale_px;
        0 is a dark module, 255 a light one.

    Raises:
        ValueError: empty text, a text too long for any QR version, or bad scale / border.
    """
    if not isinstance(text, str) or not text:
        raise ValueError("text must be a non-empty str")
    if isinstance(scale_px, bool) or not isinstance(scale_px, int) or scale_px < 1:
        raise ValueError(f"scale_px must be an int >= 1, got {scale_px!r}")
    if isinstance(border_modules, bool) or not isinstance(border_modules, int) or border_modules < 0:
        raise ValueError(f"border_modules must be an int >= 0, got {border_modules!r}")
    symbol = segno.make(text, error="m", micro=False)  # DataOverflowError is a ValueError
    dark = np.array(symbol.matrix, dtype=bool)
    dark = np.pad(dark, border_modules, constant_values=False)
    dark = np.repeat(np.repeat(dark, scale_px, axis=0), scale_px, axis=1)
    return np.where(dark, np.uint8(0), np.uint8(255)).astype(np.uint8)


def decode_qr(image: NDArray[np.uint8]) -> str | None:
    """Find and decode a QR code in a camera frame with zxing-cpp.

    Args:
        image: uint8 grayscale (H, W) or RGB (H, W, 3) frame; RGB is reduced to luma (ITU-R BT.601).

    Returns:
        The text of the first QR code found (zxing-cpp's order), or None if no QR code decodes.

    Raises:
        ValueError: the array is not uint8 of shape (H, W) or (H, W, 3) with H, W >= 1.
    """
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must have dtype uint8, got {image.dtype}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)) or 0 in image.shape[:2]:
        raise ValueError(f"image must have shape (H, W) or (H, W, 3), got {image.shape}")
    if image.ndim == 3:
        luma = image.astype(np.float32) @ _LUMA_RGB
        gray = np.clip(np.rint(luma), 0, 255).astype(np.uint8)
    else:
        gray = np.ascontiguousarray(image)
    # a BarcodeFormats set made per call: one kept at module level is reported leaked at exit (nanobind)
    for barcode in zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)):
        if barcode.valid:
            return str(barcode.text)
    return None
