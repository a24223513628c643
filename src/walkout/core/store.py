"""The store model: gondola -> shelf -> plate, products, planogram, cameras and gates.

Frames and units: world frame in metres, z up, the floor is z = 0. A gondola's pose is relative
to the world, a shelf's pose relative to its gondola, a plate's pose relative to its shelf (the
AiFi store_meta convention: ``translation`` is the box's minimum corner in the parent frame,
``dim_*`` extend along the child's +x, +y, +z). Masses in grams, prices in cents.

All models are frozen pydantic models; building one from bad data raises
``pydantic.ValidationError``, which the loaders in :mod:`walkout.io` turn into a
:class:`~walkout.core.errors.StoreFileError` naming the file and the field.
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from walkout.core.geometry import apply_transform, make_transform, rodrigues_to_matrix


class PlateId(NamedTuple):
    """A weight plate (one load cell): gondola id, shelf index, plate index (all 1-based, AiFi)."""

    gondola: int
    shelf: int
    plate: int

    def __str__(self) -> str:
        return f"{self.gondola}.{self.shelf}.{self.plate}"

    @classmethod
    def parse(cls, text: str) -> PlateId:
        """Parse ``"G.S.P"`` (e.g. ``"2.5.4"``).

        Raises:
            ValueError: if the text is not three dot-separated positive integers.
        """
        parts = str(text).split(".")
        if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise ValueError(f"plate id {text!r} is not of the form 'gondola.shelf.plate'")
        return cls(int(parts[0]), int(parts[1]), int(parts[2]))


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Pose(_Frozen):
    """A rigid pose relative to a parent frame: translation in metres, Rodrigues rotation in radians."""

    translation_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rotation_rad: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def matrix(self) -> NDArray[np.float64]:
        """4x4 transform mapping child-frame points to the parent frame."""
        return make_transform(rodrigues_to_matrix(self.rotation_rad), np.array(self.translation_m))


class Plate(_Frozen):
    """One weight-sensing plate; ``size_m`` is (x, y, z) in the shelf frame."""

    id: PlateId
    pose: Pose
    size_m: tuple[float, float, float]


class Shelf(_Frozen):
    """A shelf of a gondola; ``size_m`` is (x, y, z) in the gondola frame."""

    gondola: int
    index: int = Field(ge=1)
    pose: Pose
    size_m: tuple[float, float, float]


class Gondola(_Frozen):
    """A gondola (shelving unit) placed in the world."""

    id: int = Field(ge=1)
    pose: Pose
    size_m: tuple[float, float, float]


class Product(_Frozen):
    """A product (SKU) identified by its UPC barcode."""

    upc: str = Field(min_length=1)
    name: str
    mass_g: float = Field(gt=0)
    mass_sigma_g: float = Field(ge=0, description="item-to-item spread (1 sigma) of the unit weight")
    price_cents: int = Field(ge=0)
    taxable: bool = True


class Facing(_Frozen):
    """A planogram entry: ``count`` units of ``upc`` spread over ``plates`` of one shelf."""

    upc: str
    plates: tuple[PlateId, ...] = Field(min_length=1)
    count: int = Field(ge=0)
    capacity: int = Field(ge=1)

    @model_validator(mode="after")
    def _one_shelf(self) -> Facing:
        shelves = {(p.gondola, p.shelf) for p in self.plates}
        if len(shelves) != 1:
            raise ValueError(f"facing of {self.upc} spans several shelves: {sorted(shelves)}")
        if self.count > self.capacity:
            raise ValueError(f"facing of {self.upc}: count {self.count} > capacity {self.capacity}")
        return self


class Camera(_Frozen):
    """A calibrated ceiling camera.

    ``k_norm`` is the 3x3 intrinsic matrix normalised by image width and height (AiFi);
    ``world_from_camera`` is the 4x4 camera-to-world transform with translation in metres.
    """

    id: str
    kind: Literal["rgb", "depth"]
    k_norm: tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]
    world_from_camera: tuple[tuple[float, ...], ...]
    dist_coeffs: tuple[float, ...] = ()
    width_px: int = Field(gt=0)
    height_px: int = Field(gt=0)
    fps: float = Field(gt=0)


class Gate(_Frozen):
    """A gate line on the floor from ``a_xy_m`` to ``b_xy_m`` (world, metres).

    ``inward_xy`` is a unit-free direction pointing into the store; an entry is a crossing along
    it, an exit a crossing against it.
    """

    id: str
    kind: Literal["entry", "exit"]
    a_xy_m: tuple[float, float]
    b_xy_m: tuple[float, float]
    inward_xy: tuple[float, float]


class Store(_Frozen):
    """A whole store: layout, catalogue, default planogram, cameras and gates."""

    name: str
    source: str = ""
    currency: str = "USD"
    tax_rate: float = Field(ge=0, lt=1, default=0.0)
    floor_ltrb_m: tuple[float, float, float, float]
    gondolas: tuple[Gondola, ...]
    shelves: tuple[Shelf, ...]
    plates: tuple[Plate, ...]
    products: tuple[Product, ...]
    planogram: tuple[Facing, ...] = ()
    cameras: tuple[Camera, ...] = ()
    gates: tuple[Gate, ...] = ()

    @field_validator("plates")
    @classmethod
    def _unique_plates(cls, plates: tuple[Plate, ...]) -> tuple[Plate, ...]:
        seen: set[PlateId] = set()
        for p in plates:
            if p.id in seen:
                raise ValueError(f"duplicate plate id {p.id}")
            seen.add(p.id)
        return plates

    @model_validator(mode="after")
    def _references(self) -> Store:
        gondolas = {g.id for g in self.gondolas}
        shelves = {(s.gondola, s.index) for s in self.shelves}
        for s in self.shelves:
            if s.gondola not in gondolas:
                raise ValueError(f"shelf {s.gondola}.{s.index} names unknown gondola {s.gondola}")
        for p in self.plates:
            if (p.id.gondola, p.id.shelf) not in shelves:
                raise ValueError(f"plate {p.id} names unknown shelf {p.id.gondola}.{p.id.shelf}")
        upcs = {p.upc for p in self.products}
        if len(upcs) != len(self.products):
            raise ValueError("duplicate product UPC in products")
        plate_ids = {p.id for p in self.plates}
        for f in self.planogram:
            if f.upc not in upcs:
                raise ValueError(f"planogram names unknown product {f.upc}")
            for pid in f.plates:
                if pid not in plate_ids:
                    raise ValueError(f"planogram facing of {f.upc} names unknown plate {pid}")
        return self

    # ---- derived lookups (computed once per frozen instance) ----
    @cached_property
    def product_by_upc(self) -> dict[str, Product]:
        """UPC -> Product."""
        return {p.upc: p for p in self.products}

    @cached_property
    def plate_index(self) -> dict[PlateId, int]:
        """PlateId -> row index into :attr:`plates` (and into :func:`plate_geometry` arrays)."""
        return {p.id: i for i, p in enumerate(self.plates)}

    def shelf(self, gondola: int, index: int) -> Shelf:
        """The shelf ``gondola.index``; raises KeyError if absent."""
        for s in self.shelves:
            if s.gondola == gondola and s.index == index:
                return s
        raise KeyError(f"no shelf {gondola}.{index}")

    def gondola(self, gondola_id: int) -> Gondola:
        """The gondola with this id; raises KeyError if absent."""
        for g in self.gondolas:
            if g.id == gondola_id:
                return g
        raise KeyError(f"no gondola {gondola_id}")

    def world_from_plate(self, pid: PlateId) -> NDArray[np.float64]:
        """4x4 transform mapping plate-frame points (metres) to the world frame."""
        g = self.gondola(pid.gondola)
        s = self.shelf(pid.gondola, pid.shelf)
        p = self.plates[self.plate_index[pid]]
        return g.pose.matrix() @ s.pose.matrix() @ p.pose.matrix()

    def world_from_shelf(self, gondola: int, index: int) -> NDArray[np.float64]:
        """4x4 transform mapping shelf-frame points (metres) to the world frame."""
        return self.gondola(gondola).pose.matrix() @ self.shelf(gondola, index).pose.matrix()

    def plate_center_m(self, pid: PlateId) -> NDArray[np.float64]:
        """World position (3,) of the centre of the plate's top surface, metres."""
        p = self.plates[self.plate_index[pid]]
        local = np.array([p.size_m[0] / 2, p.size_m[1] / 2, 0.0])
        return apply_transform(self.world_from_plate(pid), local)

    def plate_front_m(self, pid: PlateId) -> NDArray[np.float64]:
        """World position (3,) of the middle of the plate's front (aisle-side) edge, metres.

        The front is the shelf's local y = 0 side (AiFi shelves extend to -y from the gondola
        back toward the aisle), i.e. the plate edge a shopper reaches across.
        """
        p = self.plates[self.plate_index[pid]]
        local = np.array([p.size_m[0] / 2, 0.0, 0.0])
        return apply_transform(self.world_from_plate(pid), local)
