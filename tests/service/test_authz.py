"""Authorization: every route of the app x every kind of caller -> the expected status class.

The table below is the specification. The test walks ``app.routes``: a route missing from the
table (e.g. a new one nobody thought to protect) fails it, and so does a route that declares no
roles (neither ``require(...)`` nor ``public()``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from service_world import PASSWORD, World, bearer, fresh_email, login

from walkout.service.deps import http_routes, route_roles

PUBLIC = frozenset({"public"})
ACCOUNTS = frozenset({"customer", "associate", "manager"})
STAFF = frozenset({"associate", "manager"})
MANAGER = frozenset({"manager"})
CUSTOMER = frozenset({"customer"})
EVERYONE = frozenset({"customer", "associate", "manager", "device"})

# caller -> its role (None: no valid token)
CALLERS: dict[str, str | None] = {
    "anonymous": None,
    "forged": None,
    "customer_a": "customer",
    "customer_b": "customer",
    "associate": "associate",
    "manager": "manager",
    "device": "device",
}

Body = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Spec:
    """Who may call a route. ``a_owns``: its path names customer A's resource (customer B gets 404)."""

    roles: frozenset[str]
    path: Callable[[World], str]
    body: Body | None = None
    a_owns: bool = False


def fixed(path: str) -> Callable[[World], str]:
    return lambda _w: path


ROUTES: dict[tuple[str, str], Spec] = {
    ("POST", "/api/auth/signup"): Spec(
        PUBLIC, fixed("/api/auth/signup"), lambda w: {"email": fresh_email(), "password": PASSWORD, "name": "M"}
    ),
    ("POST", "/api/auth/login"): Spec(
        PUBLIC, fixed("/api/auth/login"), lambda w: {"email": w.emails["customer_a"], "password": PASSWORD}
    ),
    ("POST", "/api/auth/logout"): Spec(ACCOUNTS, fixed("/api/auth/logout")),
    ("GET", "/api/health"): Spec(PUBLIC, fixed("/api/health")),
    ("GET", "/api/me"): Spec(ACCOUNTS, fixed("/api/me")),
    ("GET", "/api/me/payment-methods"): Spec(CUSTOMER, fixed("/api/me/payment-methods")),
    ("POST", "/api/me/payment-methods"): Spec(
        CUSTOMER, fixed("/api/me/payment-methods"), lambda w: {"label": "Amex ending 1005"}
    ),
    ("GET", "/api/me/entry-token"): Spec(CUSTOMER, fixed("/api/me/entry-token")),
    ("GET", "/api/me/session"): Spec(CUSTOMER, fixed("/api/me/session")),
    ("GET", "/api/me/receipts"): Spec(CUSTOMER, fixed("/api/me/receipts")),
    ("GET", "/api/me/receipts/{session_id}"): Spec(CUSTOMER, lambda w: f"/api/me/receipts/{w.a_receipt}", a_owns=True),
    ("POST", "/api/me/receipts/{session_id}/disputes"): Spec(
        CUSTOMER,
        lambda w: f"/api/me/receipts/{w.a_receipt}/disputes",
        lambda w: {"line_no": 0, "quantity": 1, "reason": "matrix"},
        a_owns=True,
    ),
    ("GET", "/api/me/disputes"): Spec(CUSTOMER, fixed("/api/me/disputes")),
    ("GET", "/api/me/disputes/{dispute_id}"): Spec(CUSTOMER, lambda w: f"/api/me/disputes/{w.a_dispute}", a_owns=True),
    ("GET", "/api/store"): Spec(EVERYONE, fixed("/api/store")),
    ("GET", "/api/products"): Spec(EVERYONE, fixed("/api/products")),
    ("GET", "/api/planogram"): Spec(EVERYONE, fixed("/api/planogram")),
    ("GET", "/api/sessions"): Spec(STAFF, fixed("/api/sessions?status=open")),
    ("GET", "/api/sessions/{session_id}"): Spec(STAFF, lambda w: f"/api/sessions/{w.a_open}"),
    ("GET", "/api/receipts/{session_id}"): Spec(STAFF, lambda w: f"/api/receipts/{w.a_receipt}"),
    ("GET", "/api/inventory"): Spec(STAFF, fixed("/api/inventory")),
    ("PUT", "/api/inventory/thresholds/{upc}"): Spec(
        MANAGER, lambda w: f"/api/inventory/thresholds/{w.cheap}", lambda w: {"threshold": 2}
    ),
    ("GET", "/api/inventory/misplaced"): Spec(STAFF, fixed("/api/inventory/misplaced")),
    ("GET", "/api/review"): Spec(STAFF, fixed("/api/review?status=all")),
    ("POST", "/api/review/{review_id}/decision"): Spec(
        STAFF, lambda w: f"/api/review/{w.review_id}/decision", lambda w: {"action": "approve"}
    ),
    ("GET", "/api/disputes"): Spec(STAFF, fixed("/api/disputes")),
    ("POST", "/api/staff"): Spec(
        MANAGER, fixed("/api/staff"), lambda w: {"email": fresh_email("staff"), "password": PASSWORD, "name": "N"}
    ),
    ("POST", "/api/devices"): Spec(MANAGER, fixed("/api/devices"), lambda w: {"kind": "camera"}),
    ("GET", "/api/devices"): Spec(MANAGER, fixed("/api/devices")),
    ("DELETE", "/api/devices/{device_id}"): Spec(MANAGER, lambda w: f"/api/devices/{w.spare_device}"),
    ("POST", "/api/devices/{device_id}/heartbeat"): Spec(
        frozenset({"device"}), lambda w: f"/api/devices/{w.ids['device']}/heartbeat"
    ),
}


def expected(spec: Spec, caller: str) -> int:
    """The expected status: 2 for any 2xx, else the exact code."""
    role = CALLERS[caller]
    if spec.roles == PUBLIC:
        return 2
    if role is None:
        return 401
    if role not in spec.roles:
        return 403
    return 404 if spec.a_owns and caller == "customer_b" else 2


def token_of(world: World, caller: str, route: tuple[str, str]) -> str | None:
    if caller == "anonymous":
        return None
    if caller == "forged":
        return "x" * 43
    if route == ("POST", "/api/auth/logout") and caller != "device":
        return login(world.client, world.emails[caller])  # a token of its own: logout revokes it
    return world.tokens[caller]


def test_every_route_is_in_the_table_and_declares_roles(world):
    found = {}
    for path, methods, dependant in http_routes(world.client.app):
        if path in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"):
            continue
        for method in methods - {"HEAD"}:
            found[(method, path)] = route_roles(dependant)
    assert set(found) == set(ROUTES), "routes without an authorization spec, or specs without a route"
    undeclared = sorted(k for k, roles in found.items() if not roles)
    assert undeclared == []
    assert {k: frozenset(v) for k, v in found.items()} == {k: s.roles for k, s in ROUTES.items()}


@pytest.mark.parametrize("caller", list(CALLERS))
def test_authorization_matrix(world, caller):
    wrong = []
    for (method, _template), spec in ROUTES.items():
        token = token_of(world, caller, (method, _template))
        body = spec.body(world) if spec.body else None
        r = world.client.request(method, spec.path(world), json=body, headers=bearer(token) if token else {})
        got = 2 if 200 <= r.status_code < 300 else r.status_code
        if got != expected(spec, caller):
            wrong.append(
                f"{method} {_template}: expected {expected(spec, caller)}xx-or-code, got {r.status_code} {r.text[:120]}"
            )
        if r.status_code == 401:
            assert r.headers.get("www-authenticate") == "Bearer"
        if r.status_code >= 400:
            assert set(r.json()) == {"detail"}
    assert wrong == []
