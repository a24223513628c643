"""The store itself: layout for the map, catalogue, planogram (anyone signed in)."""

from __future__ import annotations

from fastapi import APIRouter

from walkout.service import layout
from walkout.service.deps import ANYONE_SIGNED_IN, CtxDep, require
from walkout.service.schemas import FacingPublic, ProductPublic, StoreLayoutPublic

router = APIRouter(prefix="/api", tags=["store"], dependencies=[require(*ANYONE_SIGNED_IN)])


@router.get("/store", response_model=StoreLayoutPublic)
def store_layout(ctx: CtxDep) -> StoreLayoutPublic:
    """The store map: floor rectangle, gondola, shelf and plate outlines seen from above (metres,
    world frame, z up), plate heights and products, gates with their inward direction, cameras."""
    return ctx.layout


@router.get("/products", response_model=list[ProductPublic])
def products(ctx: CtxDep) -> list[ProductPublic]:
    """The catalogue: UPC, name, price, taxable, unit weight."""
    return layout.products(ctx.store)


@router.get("/planogram", response_model=list[FacingPublic])
def planogram(ctx: CtxDep) -> list[FacingPublic]:
    """The default planogram: which product faces on which plates, count and capacity."""
    return layout.planogram(ctx.store)
