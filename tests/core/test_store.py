from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from walkout.core.geometry import rodrigues_to_matrix
from walkout.core.store import Facing, PlateId


def test_aifi_store_counts(store):
    assert len(store.gondolas) == 5
    assert len(store.shelves) == 30
    assert len(store.plates) == 306
    assert len(store.products) == 83
    real = {f"{i}-depth" for i in (21, 22, 23, 25, 26)}
    extra = {f"w{i}-depth" for i in (1, 2, 3, 4)}  # walkout's wide-angle units over the walkway
    assert {c.id for c in store.cameras if c.kind == "depth"} == real | extra
    assert all(p.price_cents > 0 for p in store.products)


def test_camera_translations_are_metres(store):
    heights = [c.world_from_camera[2][3] for c in store.cameras]
    assert all(2.3 < h < 2.6 for h in heights), heights


def test_plate_geometry_front_faces_aisle(store):
    # gondolas 1-4: shelves extend toward -y from the backboard at y=0.49; front edge at y~0.086
    front = store.plate_front_m(PlateId(2, 3, 4))
    center = store.plate_center_m(PlateId(2, 3, 4))
    assert front[1] == pytest.approx(0.0857, abs=1e-3)
    assert center[1] > front[1]
    # gondola 5 is rotated -90 deg: its front faces -x at x~4.51
    f5 = store.plate_front_m(PlateId(5, 2, 3))
    assert f5[0] == pytest.approx(4.914 - 0.4064, abs=1e-3)


@pytest.mark.parametrize(
    ("rvec", "vec", "expected"),
    [((0, 0, 0), (1, 0, 0), (1, 0, 0)), ((0, 0, np.pi / 2), (1, 0, 0), (0, 1, 0)), ((np.pi, 0, 0), (0, 1, 0), (0, -1, 0))],
)
def test_rodrigues(rvec, vec, expected):
    assert rodrigues_to_matrix(rvec) @ np.array(vec) == pytest.approx(np.array(expected), abs=1e-9)


@pytest.mark.parametrize(
    ("text", "ok"), [("1.2.3", True), ("1.2", False), ("a.b.c", False), ("0.1.1", False), ("1.2.3.4", False)]
)
def test_plate_id_parse(text, ok):
    if ok:
        assert str(PlateId.parse(text)) == text
    else:
        with pytest.raises(ValueError, match="plate id"):
            PlateId.parse(text)


def test_facing_validation():
    with pytest.raises(ValidationError, match="spans several shelves"):
        Facing(upc="1", plates=(PlateId(1, 1, 1), PlateId(1, 2, 1)), count=1, capacity=2)
    with pytest.raises(ValidationError, match="count 3 > capacity 2"):
        Facing(upc="1", plates=(PlateId(1, 1, 1),), count=3, capacity=2)


def test_store_rejects_unknown_product_in_planogram(store):
    bad = Facing(upc="nope", plates=(PlateId(1, 1, 1),), count=1, capacity=1)
    with pytest.raises(ValidationError, match="unknown product nope"):
        store.model_validate({**store.model_dump(), "planogram": [bad.model_dump()]})
