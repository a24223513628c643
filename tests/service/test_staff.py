"""Staff routes (sessions, inventory, review), the store map, OpenAPI, health, static files, the
router hook, and that bad input never makes a 500."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from service_world import bearer, settings, signup, staff

from walkout.core.store import PlateId
from walkout.engine.db import Database
from walkout.engine.result import ReviewItem
from walkout.service import create_app
from walkout.service.deps import ServiceContext, require


def test_sessions_list_and_detail(world):
    m = bearer(world.tokens["manager"])
    c = world.client
    open_ = c.get("/api/sessions?status=open", headers=m).json()
    assert [s["session_id"] for s in open_] == [world.a_open]
    closed = {s["session_id"] for s in c.get("/api/sessions?status=closed", headers=m).json()}
    assert closed == {world.a_receipt, world.b_receipt}
    assert len(c.get("/api/sessions?limit=1", headers=m).json()) == 1
    detail = c.get(f"/api/sessions/{world.a_open}", headers=bearer(world.tokens["associate"])).json()
    assert detail["account_id"] == world.ids["customer_a"] and detail["status"] == "open"
    assert [(x["upc"], x["quantity"]) for x in detail["cart"]] == [(world.cheap, 2)]
    assert detail["receipt"] is None and detail["review_ids"] == [world.review_id]
    closed_detail = c.get(f"/api/sessions/{world.a_receipt}", headers=m).json()
    assert closed_detail["receipt"]["session_id"] == world.a_receipt
    assert c.get("/api/sessions/s-none", headers=m).status_code == 404
    assert c.get("/api/sessions?status=nonsense", headers=m).status_code == 422
    receipt = c.get(f"/api/receipts/{world.b_receipt}", headers=m).json()
    assert receipt["account_id"] == world.ids["customer_b"] and receipt["disputes"]
    assert c.get(f"/api/receipts/{world.a_open}", headers=m).status_code == 404  # open: no receipt yet


def test_inventory_thresholds_and_misplaced(world):
    m = bearer(world.tokens["manager"])
    c = world.client
    inv = c.get("/api/inventory", headers=m).json()
    assert len(inv["products"]) == len(world.store.products)
    facing = world.store.planogram[0]
    row = next(p for p in inv["products"] if p["upc"] == facing.upc)
    assert row["units"] == 4 * len(facing.plates) and row["plates"] == [str(p) for p in facing.plates]
    assert {(p["plate_id"], p["upc"]) for p in inv["plates"]} >= {(str(facing.plates[0]), facing.upc)}
    r = c.put(f"/api/inventory/thresholds/{facing.upc}", json={"threshold": 100}, headers=m)
    assert r.status_code == 200 and r.json()["low"] and r.json()["threshold"] == 100
    assert facing.upc in c.get("/api/inventory", headers=m).json()["low"]
    r = c.put(f"/api/inventory/thresholds/{facing.upc}", json={"threshold": None}, headers=m)
    assert r.json() == {**r.json(), "low": False, "threshold": None}
    assert c.put("/api/inventory/thresholds/000", json={"threshold": 1}, headers=m).status_code == 404
    assert c.put(f"/api/inventory/thresholds/{facing.upc}", json={"threshold": -1}, headers=m).status_code == 422
    homes = {str(p) for f in world.store.planogram if f.upc == world.cheap for p in f.plates}
    misplaced = c.get("/api/inventory/misplaced", headers=bearer(world.tokens["associate"])).json()
    assert ("1.1.1" not in homes) == any(x["plate_id"] == "1.1.1" and x["upc"] == world.cheap for x in misplaced)


def test_review_correction_and_refusals(api, store):
    c = api.client
    customer = signup(c)
    api.db.open_session("s-1", customer["account_id"], "rec-1", 10.0)
    api.db.add_cart_line("s-1", 7, store.products[0].upc, 1, 12.0, 0.4)
    review_id = api.db.add_review_item(ReviewItem(7, 12.0, "low confidence", 0.4, {"shoppers": []}, "s-1"), "rec-1")
    _, _, manager = staff(api.db, c, "manager")
    m = bearer(manager)
    bad = c.post(
        f"/api/review/{review_id}/decision",
        headers=m,
        json={"action": "approve", "items": [{"upc": store.products[0].upc, "quantity": 1}]},
    )
    assert bad.status_code == 400 and "approve" in bad.json()["detail"]
    assert c.post("/api/review/999999/decision", headers=m, json={"action": "approve"}).status_code == 404
    upc = store.products[1].upc
    r = c.post(
        f"/api/review/{review_id}/decision",
        headers=m,
        json={"action": "correct", "items": [{"upc": upc, "quantity": 1}], "session_id": "s-1"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["decided_by"] and {(x["upc"], x["delta"]) for x in r.json()["cart"]} == {
        (store.products[0].upc, -1),
        (upc, 1),
    }
    me = c.get("/api/me/session", headers=bearer(customer["token"])).json()
    assert [(x["upc"], x["quantity"]) for x in me["cart"]] == [(upc, 1)]
    assert c.get("/api/review", headers=m).json() == []
    resolved = c.get("/api/review?status=resolved", headers=m).json()
    assert resolved[0]["decision"]["action"] == "correct"
    other = c.post(f"/api/review/{review_id}/decision", headers=m, json={"action": "approve"})
    assert other.status_code == 400 and "already decided" in other.json()["detail"]


def test_store_layout_products_planogram(world):
    d = bearer(world.tokens["device"])
    layout = world.client.get("/api/store", headers=d).json()
    s = world.store
    assert layout["floor_ltrb_m"] == list(s.floor_ltrb_m)
    assert len(layout["gondolas"]) == len(s.gondolas) and len(layout["shelves"]) == len(s.shelves)
    assert [p["id"] for p in layout["plates"]] == [str(p.id) for p in s.plates]
    left, bottom, right, top = s.floor_ltrb_m
    for plate in layout["plates"]:
        assert len(plate["polygon_xy_m"]) == 4
        assert all(left <= x <= right and bottom <= y <= top for x, y in plate["polygon_xy_m"])
    pid = s.plates[0].id
    centre = s.plate_center_m(pid)
    xs, ys = zip(*layout["plates"][0]["polygon_xy_m"], strict=True)
    assert sum(xs) / 4 == pytest.approx(centre[0], abs=1e-3) and sum(ys) / 4 == pytest.approx(centre[1], abs=1e-3)
    assert layout["plates"][0]["z_m"] == pytest.approx(centre[2], abs=1e-3)
    facing = s.planogram[0]
    by_id = {p["id"]: p for p in layout["plates"]}
    assert all(facing.upc in by_id[str(p)]["upcs"] for p in facing.plates)
    assert {(g["id"], g["kind"]) for g in layout["gates"]} == {(g.id, g.kind) for g in s.gates}
    assert len(layout["cameras"]) == len(s.cameras)
    products = world.client.get("/api/products", headers=d).json()
    assert [p["upc"] for p in products] == [p.upc for p in s.products]
    planogram = world.client.get("/api/planogram", headers=d).json()
    assert planogram[0]["plates"] == [str(p) for p in facing.plates]
    assert all(PlateId.parse(p) for f in planogram for p in f["plates"])


def test_openapi_lists_every_route_with_tags_and_roles(world):
    c = world.client
    doc = c.get("/openapi.json").json()
    operations = [op for methods in doc["paths"].values() for op in methods.values()]
    assert len(operations) >= 30
    for op in operations:
        assert op["tags"] and op["x-roles"] and "**Roles:**" in op["description"], op["operationId"]
    assert {t["name"] for t in doc["tags"]} >= {"auth", "me", "store", "review", "devices"}
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert c.get("/docs").status_code == 200 and "swagger" in c.get("/docs").text.lower()


def test_health_compares_the_revision_with_head(world, tmp_path, store):
    assert world.client.get("/api/health").json() == {"ok": True, "revision": "0003", "head": "0003"}
    with TestClient(create_app(settings(f"sqlite:///{tmp_path / 'empty.db'}", store))) as c:
        r = c.get("/api/health")
        assert r.status_code == 503 and r.json() == {"ok": False, "revision": None, "head": "0003"}


def test_static_files_and_the_router_hook(tmp_path, store):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with Database(url) as db:
        db.upgrade()
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text("<h1>walkout</h1>")
    (static / "dashboard.html").write_text("<h1>dashboard</h1>")
    plain = APIRouter()

    @plain.get("/api/extra/plain", dependencies=[require("manager")])
    def _plain() -> dict[str, str]:
        return {"hello": "plain"}

    def made(ctx: ServiceContext) -> APIRouter:
        router = APIRouter()

        @router.get("/api/extra/ctx", dependencies=[require("manager")])
        def _ctx() -> dict[str, str]:
            return {"store": ctx.store.name}

        return router

    app = create_app(settings(url, store, static_dir=static), extra_routers=[plain, made])
    with TestClient(app) as c:
        assert c.get("/").text == "<h1>walkout</h1>"
        assert c.get("/dashboard.html").text == "<h1>dashboard</h1>"
        assert c.get("/api/health").status_code == 200
        assert c.get("/api/extra/plain").status_code == 401 and c.get("/api/extra/ctx").status_code == 401
        missing = c.get("/api/nope")
        assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "/api/auth/login", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
        ("POST", "/api/auth/login", {"json": {"email": 5, "password": ["x"]}}),
        ("POST", "/api/auth/signup", {"json": {"email": "a@b.co", "password": "p" * 5000, "name": "A"}}),
        ("POST", "/api/auth/login", {"json": {"email": "\x00@b.co", "password": "\x00" * 9}}),
        ("POST", "/api/auth/signup", {"json": {"email": "a@b.co", "password": "long enough", "name": "A\x00"}}),
        ("GET", "/api/me/receipts/a%00b", {}),
        ("GET", "/api/sessions/a%00b", {}),
        ("PUT", "/api/inventory/thresholds/a%00", {"json": {"threshold": 1}}),
        ("GET", "/api/me/disputes/99999999999999999999", {}),
        ("GET", "/api/me/disputes/-1", {}),
        ("GET", "/api/me/receipts/" + "x" * 500, {}),
        ("POST", "/api/me/receipts/s-a1/disputes", {"json": {"line_no": -1, "quantity": 0, "reason": ""}}),
        ("POST", "/api/me/receipts/s-a1/disputes", {"json": {"line_no": 0, "quantity": 10**12, "reason": "x"}}),
        ("POST", "/api/me/payment-methods", {"json": {"label": "\x00"}}),
        ("GET", "/api/review/1/decision", {}),
        ("POST", "/api/review/1/decision", {"json": {"action": "correct", "items": [{"upc": "", "quantity": 1}]}}),
        ("POST", "/api/review/1/decision", {"json": {"action": "correct", "items": [{"upc": "nope", "quantity": 1}]}}),
        ("PUT", "/api/inventory/thresholds/x", {"json": {"threshold": "many"}}),
        ("POST", "/api/devices", {"json": {"kind": "toaster"}}),
        ("POST", "/api/devices", {"json": {"kind": "gate", "device_id": "../../etc"}}),
        ("POST", "/api/staff", {"json": {"email": "x@y.zz", "password": "long enough", "name": "N", "role": "device"}}),
    ],
)
def test_bad_input_is_a_4xx_never_a_500(world, method, path, kwargs):
    role = "customer_a" if path.startswith("/api/me") else "manager"
    headers = (
        {**kwargs.pop("headers", {}), **bearer(world.tokens[role])}
        if "headers" in kwargs
        else bearer(world.tokens[role])
    )
    r = world.client.request(method, path, headers=headers, **kwargs)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert set(r.json()) == {"detail"}
