"""FastAPI dependencies: the service context (settings, database, store, payment provider) and auth.

Each app holds one :class:`ServiceContext` in ``app.state.ctx`` (built by ``create_app`` from its
:class:`~walkout.service.settings.Settings`); routes receive it through :data:`CtxDep`.

Every route declares who may call it with :func:`require` (``who: Annotated[Principal,
require("manager", "associate")]``), or :func:`public` for the few routes anyone may call. A
missing or invalid bearer token answers 401 with ``WWW-Authenticate: Bearer``; a valid token of
another role answers 403. ``tests/service/test_authz.py`` walks ``app.routes`` and fails on a
route that declares neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from walkout.carts.payments import PaymentProvider
from walkout.core.store import Store
from walkout.engine.db import Database
from walkout.operations.disputes import DisputeParams
from walkout.service import auth
from walkout.service.auth import Principal, Role
from walkout.service.layout import store_layout
from walkout.service.schemas import StoreLayoutPublic
from walkout.service.settings import Settings

ACCOUNTS: tuple[Role, ...] = ("customer", "associate", "manager")
STAFF: tuple[Role, ...] = ("manager", "associate")
ANYONE_SIGNED_IN: tuple[Role, ...] = auth.ROLES

_bearer = HTTPBearer(auto_error=False, description="A token from POST /api/auth/login (or signup, or a device's).")


@dataclass
class ServiceContext:
    """What the routes work on, built once per app.

    Attributes:
        settings: the service settings.
        db: the walkout database (migrated).
        provider: the payment provider (the built-in ledger by default).
        passwords: the argon2id hasher.
    """

    settings: Settings
    db: Database
    provider: PaymentProvider
    passwords: auth.Passwords = field(repr=False)

    @property
    def store(self) -> Store:
        """The store the API serves."""
        return self.settings.store

    @cached_property
    def store_secret(self) -> bytes:
        """The secret that signs entry tokens."""
        return self.settings.store_secret.get_secret_value()

    @cached_property
    def layout(self) -> StoreLayoutPublic:
        """The store map (computed once)."""
        return store_layout(self.settings.store)

    @cached_property
    def dispute_params(self) -> DisputeParams:
        """The dispute policy."""
        return DisputeParams(auto_refund_max_cents=self.settings.auto_refund_max_cents)

    def authenticate(self, bearer: str) -> Principal | None:
        """The principal of a bearer token, or None (for routes outside HTTP, e.g. WebSockets)."""
        return auth.authenticate(self.db, bearer)


def get_ctx(request: Request) -> ServiceContext:
    """The app's service context."""
    ctx = request.app.state.ctx
    assert isinstance(ctx, ServiceContext)
    return ctx


CtxDep = Annotated[ServiceContext, Depends(get_ctx)]


def get_settings(ctx: CtxDep) -> Settings:
    """The app's settings."""
    return ctx.settings


def get_db(ctx: CtxDep) -> Database:
    """The app's database."""
    return ctx.db


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Database, Depends(get_db)]


def bearer_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str | None:
    """The bearer token of the request, if any."""
    return None if credentials is None else credentials.credentials


def require(*roles: Role) -> Any:
    """A dependency admitting a signed-in principal of one of ``roles`` (401 without one, 403 for others).

    The dependency's function carries ``roles`` (the authorization test and the OpenAPI
    descriptions read it).
    """
    if not roles or any(r not in auth.ROLES for r in roles):
        raise ValueError(f"require: roles must be some of {auth.ROLES}, got {roles}")

    def principal(ctx: CtxDep, token: Annotated[str | None, Depends(bearer_token)]) -> Principal:
        who = auth.authenticate(ctx.db, token)
        if who is None:
            raise HTTPException(
                401, "not signed in (missing, invalid or expired bearer token)", headers={"WWW-Authenticate": "Bearer"}
            )
        if who.role not in roles:
            raise HTTPException(403, f"this needs the role {' or '.join(roles)}; you are {who.role}")
        return who

    principal.roles = roles  # type: ignore[attr-defined]
    return Depends(principal)


def public() -> Any:
    """A dependency marking a route anyone may call (sign-up, login, health)."""

    def anyone() -> None:
        return None

    anyone.roles = ("public",)  # type: ignore[attr-defined]
    return Depends(anyone)


def http_routes(app: FastAPI) -> list[tuple[str, frozenset[str], Dependant]]:
    """Every HTTP route of ``app`` as (path format, methods, dependency tree), included routers
    flattened (FastAPI >= 0.16x keeps them nested; older versions copy them into ``app.routes``)."""
    try:
        from fastapi.routing import iter_route_contexts  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # pragma: no cover - older FastAPI: routes are flat
        contexts: Iterable[Any] = app.routes
    else:
        contexts = iter_route_contexts(app.routes)
    out = []
    for rc in contexts:
        if isinstance(getattr(rc, "original_route", rc), APIRoute):
            out.append((str(rc.path_format), frozenset(rc.methods or ()), rc.dependant))
    return out


def route_roles(dependant: Dependant) -> tuple[str, ...]:
    """The roles a route admits, from the :func:`require` / :func:`public` dependencies anywhere in
    its dependency tree (``("public",)`` for a public route; empty: the route declares none)."""
    found: list[str] = []
    pending = list(dependant.dependencies)
    while pending:
        dep = pending.pop(0)
        roles = getattr(dep.call, "roles", None)
        if isinstance(roles, tuple):
            found.extend(roles)
        pending.extend(dep.dependencies)
    return tuple(dict.fromkeys(found))
