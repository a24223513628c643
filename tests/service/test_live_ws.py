"""The live WebSockets: who may connect, and a customer hears only about their own account."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from service_world import FAST_HASH, PASSWORD, fresh_email, settings, signup
from starlette.websockets import WebSocketDisconnect

from walkout.core.store import Store
from walkout.engine.db import Database
from walkout.service import create_app
from walkout.service.auth import Passwords, create_staff
from walkout.service.live import LiveBus, make_router


@pytest.fixture
def live_app(tmp_path, store: Store) -> Iterator[tuple[TestClient, LiveBus, Database]]:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    db = Database(url)
    db.upgrade()
    bus = LiveBus()
    app = create_app(settings(url, store), extra_routers=[lambda ctx: make_router(bus, ctx.authenticate)])
    with TestClient(app) as client:
        yield client, bus, db
    db.dispose()


def _login(client: TestClient, email: str) -> str:
    r = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


@pytest.mark.parametrize(("path", "who", "code"), [
    ("/ws/live", None, 4401), ("/ws/live", "forged", 4401), ("/ws/live", "customer", 4403),
    ("/ws/me", None, 4401), ("/ws/me", "manager", 4403),
])
def test_sockets_refuse_the_wrong_people(live_app, path: str, who: str | None, code: int) -> None:
    client, _bus, db = live_app
    token = ""
    if who == "forged":
        token = "not-a-token"
    elif who == "customer":
        token = signup(client)["token"]
    elif who == "manager":
        email = fresh_email("boss")
        create_staff(db, Passwords(FAST_HASH), email=email, password=PASSWORD, name="Boss", role="manager")
        token = _login(client, email)
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(f"{path}?token={token}") as ws:
        ws.receive_json()
    assert closed.value.code == code


def test_a_customer_hears_only_their_own_cart_and_the_manager_hears_everything(live_app) -> None:
    client, bus, db = live_app
    me, other = signup(client), signup(client)
    email = fresh_email("boss")
    create_staff(db, Passwords(FAST_HASH), email=email, password=PASSWORD, name="Boss", role="manager")
    boss = _login(client, email)
    with client.websocket_connect(f"/ws/me?token={me['token']}") as mine, \
            client.websocket_connect(f"/ws/live?token={boss}") as staff:
        assert mine.receive_json()["type"] == "hello"
        assert staff.receive_json()["type"] == "hello"
        bus.publish({"type": "cart", "session_id": "s-other", "account_id": other["account_id"], "cart": []})
        bus.publish({"type": "shelf_event", "event_id": 1, "account_id": me["account_id"]})
        bus.publish({"type": "cart", "session_id": "s-me", "account_id": me["account_id"], "cart": [{"upc": "1"}]})
        got = mine.receive_json()  # the other customer's cart and the shelf event never arrive
        assert (got["type"], got["session_id"]) == ("cart", "s-me")
        assert [staff.receive_json()["type"] for _ in range(3)] == ["cart", "shelf_event", "cart"]
