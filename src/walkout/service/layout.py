"""The store map for drawing: boxes of the store layout projected onto the floor plane.

World frame, metres, z up, the floor at z = 0 (:mod:`walkout.core.store`). A gondola, shelf or
plate is a box whose ``translation`` is its minimum corner in the parent frame; its outline seen
from above is the bottom face's four corners, mapped to the world by the parent chain's
transforms, in the order (0, 0), (x, 0), (x, y), (0, y) of the box frame.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from walkout.core.geometry import apply_transform
from walkout.core.store import Store
from walkout.service.schemas import (
    CameraPublic,
    FacingPublic,
    GatePublic,
    GondolaPublic,
    PlatePublic,
    ProductPublic,
    ShelfPublic,
    StoreLayoutPublic,
)

_ROUND = 4  # decimals kept (0.1 mm)


def _outline(world_from_box: NDArray[np.float64], size_m: tuple[float, float, float]) -> list[tuple[float, float]]:
    sx, sy = size_m[0], size_m[1]
    corners = np.array([[0.0, 0.0, 0.0], [sx, 0.0, 0.0], [sx, sy, 0.0], [0.0, sy, 0.0]])
    world = apply_transform(world_from_box, corners)
    return [(round(float(x), _ROUND), round(float(y), _ROUND)) for x, y in world[:, :2]]


def _z(world_from_box: NDArray[np.float64]) -> float:
    return round(float(apply_transform(world_from_box, np.zeros(3))[2]), _ROUND)


def store_layout(store: Store) -> StoreLayoutPublic:
    """The store's floor, gondolas, shelves, plates (with the UPCs of their facings), gates and
    cameras as floor-plane geometry, for a map (see the module docstring for the frame)."""
    on_plate: dict[str, list[str]] = {}
    for facing in store.planogram:
        for pid in facing.plates:
            on_plate.setdefault(str(pid), []).append(facing.upc)
    gondolas = [
        GondolaPublic(id=g.id, polygon_xy_m=_outline(g.pose.matrix(), g.size_m), height_m=round(g.size_m[2], _ROUND))
        for g in store.gondolas
    ]
    shelves = []
    for s in store.shelves:
        m = store.world_from_shelf(s.gondola, s.index)
        shelves.append(ShelfPublic(gondola=s.gondola, index=s.index, polygon_xy_m=_outline(m, s.size_m), z_m=_z(m)))
    plates = []
    for p in store.plates:
        m = store.world_from_plate(p.id)
        front = store.plate_front_m(p.id)
        plates.append(
            PlatePublic(
                id=str(p.id),
                polygon_xy_m=_outline(m, p.size_m),
                z_m=_z(m),
                front_xy_m=(round(float(front[0]), _ROUND), round(float(front[1]), _ROUND)),
                upcs=sorted(set(on_plate.get(str(p.id), []))),
            )
        )
    gates = [
        GatePublic(id=g.id, kind=g.kind, a_xy_m=g.a_xy_m, b_xy_m=g.b_xy_m, inward_xy=g.inward_xy) for g in store.gates
    ]
    cameras = []
    for c in store.cameras:
        t = np.asarray(c.world_from_camera, dtype=np.float64)[:3, 3]
        cameras.append(
            CameraPublic(
                id=c.id,
                kind=c.kind,
                xyz_m=(round(float(t[0]), _ROUND), round(float(t[1]), _ROUND), round(float(t[2]), _ROUND)),
            )
        )
    return StoreLayoutPublic(
        name=store.name,
        currency=store.currency,
        floor_ltrb_m=store.floor_ltrb_m,
        gondolas=gondolas,
        shelves=shelves,
        plates=plates,
        gates=gates,
        cameras=cameras,
    )


def products(store: Store) -> list[ProductPublic]:
    """The catalogue, in the store's order."""
    return [
        ProductPublic(upc=p.upc, name=p.name, price_cents=p.price_cents, taxable=p.taxable, mass_g=p.mass_g)
        for p in store.products
    ]


def planogram(store: Store) -> list[FacingPublic]:
    """The store's default planogram (product name included)."""
    names = {p.upc: p.name for p in store.products}
    return [
        FacingPublic(
            upc=f.upc,
            name=names.get(f.upc, f.upc),
            plates=[str(p) for p in f.plates],
            count=f.count,
            capacity=f.capacity,
        )
        for f in store.planogram
    ]
