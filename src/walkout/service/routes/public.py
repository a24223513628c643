"""Sign-up, login, logout and the health check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from walkout.core.errors import StorageError
from walkout.engine.db import head_revision
from walkout.service import auth
from walkout.service.auth import Principal
from walkout.service.deps import ACCOUNTS, CtxDep, bearer_token, public, require
from walkout.service.schemas import HealthPublic, LoginRequest, SignupCreate, TokenPublic

router = APIRouter(prefix="/api", tags=["auth"])


@router.post(
    "/auth/signup",
    status_code=201,
    response_model=TokenPublic,
    dependencies=[public()],
    responses={409: {"description": "the e-mail is already registered"}},
)
def signup(body: SignupCreate, ctx: CtxDep) -> TokenPublic:
    """Create a customer account with an e-mail and password; answers a bearer token."""
    issued = auth.signup(
        ctx.db, ctx.passwords, email=body.email, password=body.password, name=body.name, ttl_s=ctx.settings.token_ttl_s
    )
    return TokenPublic.model_validate(issued)


@router.post(
    "/auth/login",
    response_model=TokenPublic,
    dependencies=[public()],
    responses={401: {"description": "wrong e-mail or password"}},
)
def login(body: LoginRequest, ctx: CtxDep) -> TokenPublic:
    """Exchange an e-mail and password for a bearer token carrying the account's role."""
    issued = auth.login(ctx.db, ctx.passwords, email=body.email, password=body.password, ttl_s=ctx.settings.token_ttl_s)
    return TokenPublic.model_validate(issued)


@router.post("/auth/logout", status_code=204, response_class=Response)
def logout(
    ctx: CtxDep, _who: Annotated[Principal, require(*ACCOUNTS)], token: Annotated[str | None, Depends(bearer_token)]
) -> Response:
    """Revoke the bearer token of this request."""
    assert token is not None  # require() admitted it
    auth.logout(ctx.db, token)
    return Response(status_code=204)


@router.get(
    "/health",
    response_model=HealthPublic,
    tags=["health"],
    dependencies=[public()],
    responses={503: {"model": HealthPublic, "description": "database unreachable or not migrated"}},
)
def health(ctx: CtxDep) -> JSONResponse:
    """Liveness: 200 when the database answers and its schema revision is the packaged head, else 503."""
    head = head_revision()
    try:
        revision = ctx.db.revision()
    except StorageError:  # unreachable: not alive either
        revision = None
    body = HealthPublic(ok=revision == head, revision=revision, head=head)
    return JSONResponse(body.model_dump(), status_code=200 if body.ok else 503)
