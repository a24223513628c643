"""Loader for the AiFi Nanostore ``store_meta`` files (CPS-IoT Week 2020 AutoCheckout).

Source: AiFi / Carnegie Mellon AutoCheckout competition data, vendored under
``walkout/data/aifi-nanostore`` (see ``docs/data.md``). Facts used here, from its NOTES.md:
poses are hierarchical (gondola -> world, shelf -> gondola, plate -> shelf) with Rodrigues
rotations in radians and sizes in metres; camera translations and ``world_ltrb`` are in inches;
``K`` is normalised by image width and height.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from walkout.core.errors import StoreFileError
from walkout.core.store import Camera, Facing, Gondola, Plate, PlateId, Pose, Product, Shelf
from walkout.io import jsonfile

INCH_M = 0.0254
#: image size and frame rate of the AiFi cameras (the real frames are 640x360; K is 16:9).
AIFI_CAMERA_SIZE_PX = (640, 360)
AIFI_CAMERA_FPS = 15.0


def read_json(path: Path) -> Any:
    """Read a JSON file, raising StoreFileError naming the file on any failure."""
    return jsonfile.read_json(path, StoreFileError)


def _pose(coords: dict[str, Any]) -> Pose:
    t = coords["transform"]["translation"]
    r = coords["transform"]["rotation"]
    return Pose(translation_m=(t["x"], t["y"], t["z"]), rotation_rad=(r["x"], r["y"], r["z"]))


def _size(coords: dict[str, Any]) -> tuple[float, float, float]:
    return (float(coords["dim_x"]), float(coords["dim_y"]), float(coords["dim_z"]))


def _guard(path: Path, what: str, build: Any) -> Any:
    try:
        return build()
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise StoreFileError(f"{path}: invalid {what}: {exc}") from exc


def load_gondolas(path: Path) -> tuple[Gondola, ...]:
    """Gondolas from AiFi ``Gondolas.json``; raises StoreFileError naming the file and field."""
    doc = read_json(path)
    return _guard(
        path,
        "gondola",
        lambda: tuple(
            Gondola(id=g["id"]["id"], pose=_pose(g["coordinates"]), size_m=_size(g["coordinates"]))
            for g in doc["gondolas"]
        ),
    )


def load_shelves(path: Path) -> tuple[Shelf, ...]:
    """Shelves from AiFi ``Shelves.json`` (pose relative to the gondola)."""
    doc = read_json(path)
    return _guard(
        path,
        "shelf",
        lambda: tuple(
            Shelf(
                gondola=s["id"]["gondola_id"]["id"],
                index=s["id"]["shelf_index"],
                pose=_pose(s["coordinates"]),
                size_m=_size(s["coordinates"]),
            )
            for s in doc["shelves"]
        ),
    )


def load_plates(path: Path) -> tuple[Plate, ...]:
    """Plates from AiFi ``Plates.json`` (pose relative to the shelf), sorted by id."""
    doc = read_json(path)

    def build() -> tuple[Plate, ...]:
        plates = []
        for p in doc["plates"]:
            i = p["id"]
            pid = PlateId(i["shelf_id"]["gondola_id"]["id"], i["shelf_id"]["shelf_index"], i["plate_index"])
            plates.append(Plate(id=pid, pose=_pose(p["coordinates"]), size_m=_size(p["coordinates"])))
        return tuple(sorted(plates, key=lambda p: p.id))

    return _guard(path, "plate", build)


def load_cameras(path: Path) -> tuple[tuple[Camera, ...], tuple[float, float, float, float]]:
    """Cameras and floor extent from AiFi ``calibration.json``.

    Translations and ``world_ltrb`` are converted from inches to metres. Ids ending in
    ``-depth`` are depth cameras, all others RGB.

    Returns:
        (cameras, floor_ltrb_m) with floor_ltrb_m = (x_min, y_min, x_max, y_max) in metres.
    """
    doc = read_json(path)

    def build() -> tuple[tuple[Camera, ...], tuple[float, float, float, float]]:
        cams = []
        for cid, c in doc["cameras"].items():
            tw = [list(map(float, row)) for row in c["Tw"]]
            for r in range(3):
                tw[r][3] *= INCH_M
            cams.append(
                Camera(
                    id=str(cid),
                    kind="depth" if str(cid).endswith("-depth") else "rgb",
                    k_norm=tuple(tuple(float(v) for v in row) for row in c["K"]),  # type: ignore[arg-type]
                    world_from_camera=tuple(tuple(row) for row in tw),
                    dist_coeffs=tuple(float(v) for v in c.get("dist_coeffs", ())),
                    width_px=AIFI_CAMERA_SIZE_PX[0],
                    height_px=AIFI_CAMERA_SIZE_PX[1],
                    fps=AIFI_CAMERA_FPS,
                )
            )
        ltrb = tuple(float(v) * INCH_M for v in doc["world_ltrb"])
        if len(ltrb) != 4:
            raise ValueError("world_ltrb must have 4 numbers")
        return tuple(cams), ltrb  # type: ignore[return-value]

    return _guard(path, "camera", build)


def load_products(path: Path, prices_cents: dict[str, int], taxable: dict[str, bool] | None = None,
                  mass_sigma_frac: float = 0.015) -> tuple[Product, ...]:
    """Products from AiFi ``products.json`` plus a price table.

    Args:
        path: products.json with ``products: [{barcode, name, weight_g}]``.
        prices_cents: UPC -> price in cents; every product must have one.
        taxable: UPC -> taxable flag (default True).
        mass_sigma_frac: item-to-item unit-weight spread as a fraction of nominal (1 sigma).

    Raises:
        StoreFileError: naming the file and the product without a price or with a bad field.
    """
    doc = read_json(path)
    taxable = taxable or {}

    def build() -> tuple[Product, ...]:
        out = []
        for p in doc["products"]:
            upc = str(p["barcode"])
            if upc not in prices_cents:
                raise ValueError(f"product {upc} ({p['name']}) has no price")
            out.append(
                Product(
                    upc=upc,
                    name=p["name"],
                    mass_g=float(p["weight_g"]),
                    mass_sigma_g=round(float(p["weight_g"]) * mass_sigma_frac, 3),
                    price_cents=int(prices_cents[upc]),
                    taxable=taxable.get(upc, True),
                )
            )
        return tuple(out)

    return _guard(path, "product", build)


def load_facings(path: Path, units_per_plate: int = 4) -> tuple[Facing, ...]:
    """Default planogram from AiFi-derived ``facings.json`` (most frequent pick-up positions).

    Where two products claim the same plate, the one seen picked more often keeps it and the
    other keeps only its remaining plates (dropped if none remain). Each facing starts full:
    ``capacity = count = units_per_plate * len(plates)``.
    """
    doc = read_json(path)

    def build() -> tuple[Facing, ...]:
        entries = sorted(doc["facings"], key=lambda f: (-int(f.get("observed_pickups", 0)), f["barcode"]))
        taken: set[PlateId] = set()
        out = []
        for f in entries:
            plates = [PlateId(f["gondola"], f["shelf"], p) for p in f["plates"]]
            free = tuple(p for p in plates if p not in taken)
            if not free:
                continue
            taken.update(free)
            cap = units_per_plate * len(free)
            out.append(Facing(upc=str(f["barcode"]), plates=free, count=cap, capacity=cap))
        return tuple(sorted(out, key=lambda f: f.plates[0]))

    return _guard(path, "facing", build)
