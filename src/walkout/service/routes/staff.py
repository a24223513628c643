"""Store staff: sessions, receipts, inventory, the review queue, disputes, staff accounts.

Managers may do everything here; associates (on the floor) may read sessions, receipts,
inventory and disputes and decide review tasks, but not change thresholds or create accounts.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from walkout.service import auth, shopping, staff
from walkout.service.auth import Principal
from walkout.service.deps import STAFF, CtxDep, require
from walkout.service.errors import NotFound
from walkout.service.schemas import (
    TEXT_PATTERN,
    AccountPublic,
    DisputePublic,
    InventoryPublic,
    MisplacedPublic,
    ProductStockPublic,
    ReceiptPublic,
    ReviewDecisionCreate,
    ReviewDecisionPublic,
    ReviewTaskPublic,
    SessionDetailPublic,
    SessionPublic,
    StaffCreate,
    ThresholdUpdate,
)

router = APIRouter(prefix="/api")
Staff = Annotated[Principal, require(*STAFF)]
Manager = Annotated[Principal, require("manager")]
SessionId = Annotated[str, Path(min_length=1, max_length=64, pattern=TEXT_PATTERN)]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "unknown"}}


@router.get("/sessions", response_model=list[SessionPublic], tags=["sessions"], dependencies=[require(*STAFF)])
def sessions(
    ctx: CtxDep,
    status: Literal["open", "exited", "closed", "deleted"] | None = None,
    limit: Annotated[int, Query(ge=1, le=staff.MAX_SESSIONS)] = 100,
) -> list[SessionPublic]:
    """Shopping sessions (of one status, or all), newest first."""
    return staff.sessions(ctx.db, status, limit)


@router.get(
    "/sessions/{session_id}",
    response_model=SessionDetailPublic,
    tags=["sessions"],
    responses=_NOT_FOUND,
    dependencies=[require(*STAFF)],
)
def session_detail(session_id: SessionId, ctx: CtxDep) -> SessionDetailPublic:
    """A session with its group members, cart, receipt and review tasks."""
    return staff.session_detail(ctx.db, ctx.store, session_id)


@router.get(
    "/receipts/{session_id}",
    response_model=ReceiptPublic,
    tags=["sessions"],
    responses=_NOT_FOUND,
    dependencies=[require(*STAFF)],
)
def receipt(session_id: SessionId, ctx: CtxDep) -> ReceiptPublic:
    """Any session's receipt with its payments and disputes."""
    found = shopping.receipt(ctx.db, session_id)
    if found is None:
        raise NotFound(f"no receipt {session_id!r}")
    return found


@router.get("/inventory", response_model=InventoryPublic, tags=["inventory"], dependencies=[require(*STAFF)])
def inventory(ctx: CtxDep) -> InventoryPublic:
    """Live stock per product (low ones flagged) and per plate."""
    return staff.inventory(ctx.db, ctx.store)


@router.put(
    "/inventory/thresholds/{upc}",
    response_model=ProductStockPublic,
    tags=["inventory"],
    responses=_NOT_FOUND,
    dependencies=[require("manager")],
)
def set_threshold(
    upc: Annotated[str, Path(min_length=1, max_length=32, pattern=TEXT_PATTERN)], body: ThresholdUpdate, ctx: CtxDep
) -> ProductStockPublic:
    """Set (or with null remove) a product's low-stock threshold; raises or clears its alert."""
    return staff.set_threshold(ctx.db, ctx.store, upc, body.threshold)


@router.get(
    "/inventory/misplaced", response_model=list[MisplacedPublic], tags=["inventory"], dependencies=[require(*STAFF)]
)
def misplaced(ctx: CtxDep) -> list[MisplacedPublic]:
    """Units lying on plates outside their product's facings."""
    return staff.misplaced(ctx.db, ctx.store)


@router.get("/review", response_model=list[ReviewTaskPublic], tags=["review"], dependencies=[require(*STAFF)])
def review_tasks(ctx: CtxDep, status: Literal["open", "resolved", "all"] = "open") -> list[ReviewTaskPublic]:
    """The review queue: uncertain shelf events and disputed lines, with their evidence."""
    return staff.review_tasks(ctx.db, None if status == "all" else status)


@router.post("/review/{review_id}/decision", response_model=ReviewDecisionPublic, tags=["review"], responses=_NOT_FOUND)
def decide(
    review_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: ReviewDecisionCreate, ctx: CtxDep, who: Staff
) -> ReviewDecisionPublic:
    """Decide a review task: approve, correct (what moved and who), or reject (disputes)."""
    assert who.account_id is not None
    items = None if body.items is None else [(i.upc, i.quantity) for i in body.items]
    return staff.decide(
        ctx.db,
        ctx.store,
        ctx.provider,
        review_id,
        reviewer_id=who.account_id,
        action=body.action,
        items=items,
        session_id=body.session_id,
    )


@router.get("/disputes", response_model=list[DisputePublic], tags=["review"], dependencies=[require(*STAFF)])
def disputes(ctx: CtxDep, status: Literal["refunded", "in_review", "rejected"] | None = None) -> list[DisputePublic]:
    """Every dispute (of one status, or all), newest first."""
    return shopping.dispute_list(ctx.db, status=status)


@router.post(
    "/staff",
    status_code=201,
    response_model=AccountPublic,
    tags=["staff"],
    responses={409: {"description": "the e-mail is already registered"}},
    dependencies=[require("manager")],
)
def create_staff(body: StaffCreate, ctx: CtxDep) -> AccountPublic:
    """Create an associate or manager account that signs in with an e-mail and password."""
    account = auth.create_staff(
        ctx.db, ctx.passwords, email=body.email, password=body.password, name=body.name, role=body.role
    )
    return AccountPublic.model_validate(account)
