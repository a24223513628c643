"""QR rendering (segno) and decoding (zxing-cpp) round-trip."""

from __future__ import annotations

import numpy as np
import pytest

from walkout.carts.entry import account_key, issue_entry_token, issue_staff_badge
from walkout.io.qr import decode_qr, qr_image

SECRET = b"store-secret-for-tests-0123456789"
ENTRY_TOKEN = issue_entry_token(account_key(SECRET, "demo-000"), "demo-000", 1_700_000_000, bytes(range(8)))
LONGEST_TOKEN = issue_entry_token(account_key(SECRET, "z" * 64), "z" * 64, 9_999_999_999, bytes(16))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(ENTRY_TOKEN, id="entry-token"),
        pytest.param(LONGEST_TOKEN, id="longest-entry-token"),
        pytest.param(issue_staff_badge(SECRET, "demo-060"), id="staff-badge"),
        pytest.param("WO1.70caa5b999847e8ee2fa5e68", id="old-static-token"),
        pytest.param("x", id="one-char"),
        pytest.param("ünïcødé ✓", id="unicode"),
    ],
)
@pytest.mark.parametrize(("scale_px", "border_modules"), [(4, 4), (1, 4), (3, 0), (7, 2)])
def test_round_trip(text, scale_px, border_modules):
    img = qr_image(text, scale_px=scale_px, border_modules=border_modules)
    assert img.dtype == np.uint8 and img.ndim == 2 and img.shape[0] == img.shape[1]
    assert set(np.unique(img)) == {0, 255}
    assert img.shape[0] % scale_px == 0
    assert decode_qr(img) == text
    assert decode_qr(np.repeat(img[:, :, None], 3, axis=2)) == text  # RGB


def test_image_geometry():
    img = qr_image(ENTRY_TOKEN, scale_px=4, border_modules=4)
    assert img.shape == ((33 + 8) * 4,) * 2  # version 4: 33 x 33 modules, plus the quiet zone
    assert (img[:16] == 255).all() and (img[:, :16] == 255).all()  # the quiet zone is white
    assert (img[16:20, 16:44] == 0).all()  # the top of the top-left finder pattern (7 modules)
    no_border = qr_image(ENTRY_TOKEN, scale_px=1, border_modules=0)
    assert no_border.shape == (33, 33)
    assert (no_border[0, :7] == 0).all() and no_border[0, 7] == 255


def test_error_correction_is_at_least_m():
    """Level M restores ~15 % damaged codewords: wipe a block of data modules and it still decodes."""
    img = qr_image(ENTRY_TOKEN, scale_px=4, border_modules=4)
    damaged = img.copy()
    damaged[16 + 4 * 14 : 16 + 4 * 17, 16 + 4 * 14 : 16 + 4 * 17] = 255  # 3 x 3 modules in the middle
    assert decode_qr(damaged) == ENTRY_TOKEN
    ruined = img.copy()
    ruined[16 + 4 * 9 : 16 + 4 * 24, 16 + 4 * 9 : 16 + 4 * 24] = 255  # 15 x 15 of 33 x 33 modules: too much
    assert decode_qr(ruined) is None


@pytest.mark.parametrize(
    "image",
    [
        np.full((480, 640), 255, np.uint8),
        np.zeros((480, 640), np.uint8),
        np.random.default_rng(0).integers(0, 256, (480, 640)).astype(np.uint8),
        np.full((1, 1), 128, np.uint8),
        np.full((200, 300, 3), 200, np.uint8),
    ],
)
def test_no_qr_code_gives_none(image):
    assert decode_qr(image) is None


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (np.zeros((10, 10), np.float32), "dtype uint8, got float32"),
        (np.zeros((10, 10), np.int64), "dtype uint8, got int64"),
        (np.zeros((10, 10, 4), np.uint8), r"shape \(H, W\) or \(H, W, 3\), got \(10, 10, 4\)"),
        (np.zeros((10,), np.uint8), r"got \(10,\)"),
        (np.zeros((2, 10, 10, 3), np.uint8), r"got \(2, 10, 10, 3\)"),
        (np.zeros((0, 10), np.uint8), r"got \(0, 10\)"),
        ([[0, 255]], "numpy array, got list"),
    ],
)
def test_decode_rejects_bad_input(image, match):
    with pytest.raises(ValueError, match=match):
        decode_qr(image)


def test_decode_accepts_non_contiguous_views():
    img = qr_image(ENTRY_TOKEN)
    view = np.pad(img, 10, constant_values=255)[5:-5, 5:-5]
    assert not view.flags.c_contiguous
    assert decode_qr(view) == ENTRY_TOKEN
    assert decode_qr(np.asfortranarray(img)) == ENTRY_TOKEN
    rgb_view = np.repeat(img[:, :, None], 4, axis=2)[:, :, :3]  # an RGBA buffer without its alpha
    assert decode_qr(rgb_view) == ENTRY_TOKEN


@pytest.mark.parametrize(
    ("text", "kwargs", "match"),
    [
        ("", {}, "non-empty"),
        pytest.param("x" * 3000, {}, "Data too large", id="beyond-version-40-at-level-M"),
        ("x", {"scale_px": 0}, "scale_px"),
        ("x", {"scale_px": 2.0}, "scale_px"),
        ("x", {"border_modules": -1}, "border_modules"),
    ],
)
def test_qr_image_rejects_bad_input(text, kwargs, match):
    with pytest.raises(ValueError, match=match):
        qr_image(text, **kwargs)
