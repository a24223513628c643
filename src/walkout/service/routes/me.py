"""The signed-in customer's own account, session, receipts and disputes (``/api/me``).

Ids of other customers' sessions, receipts and disputes answer 404, exactly like ids that do not
exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from walkout.service import shopping
from walkout.service.auth import Principal
from walkout.service.deps import ACCOUNTS, CtxDep, require
from walkout.service.errors import NotFound
from walkout.service.schemas import (
    TEXT_PATTERN,
    AccountPublic,
    CurrentSessionPublic,
    DisputeCreate,
    DisputePublic,
    EntryTokenPublic,
    PaymentMethodCreate,
    PaymentMethodPublic,
    ReceiptPublic,
    ReceiptSummaryPublic,
)

router = APIRouter(prefix="/api/me", tags=["me"])
Customer = Annotated[Principal, require("customer")]
SessionId = Annotated[str, Path(min_length=1, max_length=64, pattern=TEXT_PATTERN)]
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # an INTEGER primary key
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "unknown, or another customer's"}}


def _me(who: Principal) -> str:
    assert who.account_id is not None
    return who.account_id


@router.get("", response_model=AccountPublic)
def me(ctx: CtxDep, who: Annotated[Principal, require(*ACCOUNTS)]) -> AccountPublic:
    """The signed-in account (customers, associates and managers)."""
    account = ctx.db.account(_me(who))
    if account is None:
        raise NotFound("account is unknown")
    return AccountPublic.model_validate(account)


@router.get("/payment-methods", response_model=list[PaymentMethodPublic])
def payment_methods(ctx: CtxDep, who: Customer) -> list[PaymentMethodPublic]:
    """The customer's payment methods (labels only; the provider keeps the card)."""
    return shopping.payment_methods(ctx.db, _me(who))


@router.post("/payment-methods", status_code=201, response_model=PaymentMethodPublic)
def add_payment_method(body: PaymentMethodCreate, ctx: CtxDep, who: Customer) -> PaymentMethodPublic:
    """Add a payment method: the payment provider vaults it; walkout keeps its token and label."""
    return shopping.add_payment_method(ctx.db, ctx.provider, _me(who), body.label)


@router.get("/entry-token", response_model=EntryTokenPublic)
def entry_token(ctx: CtxDep, who: Customer, response: Response) -> EntryTokenPublic:
    """A fresh signed entry token and its QR code (SVG) for the entry gate; valid 30 s, admits once."""
    response.headers["Cache-Control"] = "no-store"
    return shopping.entry_token(ctx.store_secret, _me(who))


@router.get("/session", response_model=CurrentSessionPublic)
def current_session(ctx: CtxDep, who: Customer) -> CurrentSessionPublic:
    """The customer's session in the store, if any, with the cart at catalogue prices."""
    return shopping.current_session(ctx.db, ctx.store, _me(who))


@router.get("/receipts", response_model=list[ReceiptSummaryPublic])
def receipts(ctx: CtxDep, who: Customer) -> list[ReceiptSummaryPublic]:
    """The customer's receipts, newest first."""
    return shopping.receipts_of(ctx.db, _me(who))


@router.get("/receipts/{session_id}", response_model=ReceiptPublic, responses=_NOT_FOUND)
def receipt(session_id: SessionId, ctx: CtxDep, who: Customer) -> ReceiptPublic:
    """One of the customer's receipts, with payments and disputes."""
    found = shopping.receipt(ctx.db, session_id, _me(who))
    if found is None:
        raise NotFound(f"no receipt {session_id!r}")
    return found


@router.post("/receipts/{session_id}/disputes", status_code=201, response_model=DisputePublic, responses=_NOT_FOUND)
def open_dispute(session_id: SessionId, body: DisputeCreate, ctx: CtxDep, who: Customer) -> DisputePublic:
    """Dispute units of a receipt line: small amounts are refunded at once, larger ones reviewed."""
    return shopping.open_dispute(
        ctx.db,
        ctx.provider,
        ctx.store,
        ctx.dispute_params,
        account_id=_me(who),
        session_id=session_id,
        line_no=body.line_no,
        quantity=body.quantity,
        reason=body.reason,
    )


@router.get("/disputes", response_model=list[DisputePublic])
def disputes(ctx: CtxDep, who: Customer) -> list[DisputePublic]:
    """The customer's disputes, newest first."""
    return shopping.dispute_list(ctx.db, account_id=_me(who))


@router.get("/disputes/{dispute_id}", response_model=DisputePublic, responses=_NOT_FOUND)
def dispute(dispute_id: RowId, ctx: CtxDep, who: Customer) -> DisputePublic:
    """One of the customer's disputes."""
    found = shopping.dispute_of(ctx.db, dispute_id, _me(who))
    if found is None:
        raise NotFound(f"no dispute {dispute_id}")
    return found
