"""The FastAPI application factory.

``create_app(settings)`` builds an app with no global state: the database, the payment provider
and the password hasher live in the app's :class:`~walkout.service.deps.ServiceContext`
(``app.state.ctx``); the database's connections are closed when the app shuts down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from walkout.carts.payments import PaymentProvider
from walkout.engine.db import Database
from walkout.operations.ledger import LedgerProvider
from walkout.service import errors
from walkout.service.auth import Passwords
from walkout.service.deps import ServiceContext, http_routes, route_roles
from walkout.service.routes import ROUTERS
from walkout.service.settings import Settings

#: A router to include, or a function of the service context that makes one (e.g. the live
#: WebSocket routes, which need ``ctx.authenticate``).
RouterSource = APIRouter | Callable[[ServiceContext], APIRouter]

TAGS = [
    {"name": "auth", "description": "Sign up, log in (bearer tokens), log out."},
    {"name": "me", "description": "The signed-in customer's account, entry code, session, receipts and disputes."},
    {"name": "store", "description": "The store map, catalogue and planogram (anyone signed in)."},
    {"name": "sessions", "description": "Shopping sessions and receipts (staff)."},
    {"name": "inventory", "description": "Stock per product and plate, thresholds, misplaced units (staff)."},
    {"name": "review", "description": "The review queue and disputes (staff)."},
    {"name": "staff", "description": "Staff accounts (managers)."},
    {"name": "devices", "description": "Shelf, gate, tracker and camera units and their tokens."},
    {"name": "health", "description": "Liveness."},
]

DESCRIPTION = """The REST API of a walkout store. Authenticate with `Authorization: Bearer <token>`
(from `POST /api/auth/login`, `/api/auth/signup`, or a device token). Every route lists the roles
allowed to call it; errors are JSON `{"detail": ...}`. See docs/api.md."""


def create_app(
    settings: Settings,
    *,
    extra_routers: Iterable[RouterSource] = (),
    provider: PaymentProvider | None = None,
) -> FastAPI:
    """Build the walkout REST service.

    Args:
        settings: what to serve (database URL, store, secrets, static files, CORS, token TTL).
        extra_routers: HOOK for more routes, included after the REST routes and before the static
            files: routers, or functions of the :class:`~walkout.service.deps.ServiceContext`
            returning one (the live WebSocket routes of :mod:`walkout.service.live` come in here).
        provider: the payment provider (default: the built-in ledger in the database).

    Returns:
        The app. The database must already be migrated (``walkout serve`` does it; ``GET
        /api/health`` says whether it is).
    """
    db = Database(settings.db_url)
    ctx = ServiceContext(
        settings=settings, db=db, provider=provider or LedgerProvider(db), passwords=Passwords(settings.password_hash)
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        db.dispose()

    app = FastAPI(
        title="walkout",
        summary="A Just Walk Out store: carts, receipts, review, inventory.",
        description=DESCRIPTION,
        version=_version(),
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    errors.install(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
        )
    for router in ROUTERS:
        app.include_router(router)
    # ---- HOOK: extra routers (the live WebSocket routes) ----
    for source in extra_routers:
        app.include_router(source if isinstance(source, APIRouter) else source(ctx))
    _describe_roles(app)
    if settings.static_dir is not None and settings.static_dir.is_dir():
        app.mount("/", StaticFiles(directory=settings.static_dir, html=True), name="static")
    return app


def _describe_roles(app: FastAPI) -> None:
    """Add each route's allowed roles (from its ``require`` / ``public`` dependency) to its OpenAPI
    operation: ``x-roles`` and a line of the description."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        for path, methods, dependant in http_routes(app):
            roles = route_roles(dependant)
            for method in methods - {"HEAD", "OPTIONS"}:
                operation = schema.get("paths", {}).get(path, {}).get(method.lower())
                if operation is None or "x-roles" in operation or not roles:
                    continue
                operation["x-roles"] = list(roles)
                who = "anyone" if roles == ("public",) else ", ".join(roles)
                operation["description"] = f"{operation.get('description', '')}\n\n**Roles:** {who}".strip()
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("walkout")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
        return "0"
