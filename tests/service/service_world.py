"""A small populated store behind the REST API, for the service tests (plain helpers).

Two customers who signed up through the API, each with a card, a finalized and charged receipt
and a small dispute refunded at once; customer A also has an open session with a cart. An
associate and a manager (created as ``walkout serve`` does), a device registered by the manager
(plus a spare one to revoke), an open review task and some stock on the shelves.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from walkout.carts.receipt import make_receipt
from walkout.core.store import Store
from walkout.engine.db import Database
from walkout.engine.result import ReviewItem
from walkout.operations import money
from walkout.operations.ledger import LedgerProvider
from walkout.service import Settings, create_app
from walkout.service.auth import Passwords, create_staff
from walkout.service.settings import PasswordHashParams

# argon2id at its cheapest: the tests check the scheme, not the cost.
FAST_HASH = PasswordHashParams(time_cost=1, memory_kib=8, parallelism=1)
PASSWORD = "correct horse battery"
SECRET = b"walkout-test-store-secret"
_emails = itertools.count()


def settings(db_url: str, store: Store, **overrides: Any) -> Settings:
    """Settings for a test app: no static files, cheap password hashing, a test store secret."""
    options: dict[str, Any] = {
        "db_url": db_url,
        "store": store,
        "static_dir": None,
        "password_hash": FAST_HASH,
        "store_secret": SECRET,
    }
    return Settings(**(options | overrides))


def fresh_email(prefix: str = "user") -> str:
    return f"{prefix}-{next(_emails)}@example.com"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signup(client: TestClient, email: str | None = None, name: str = "Shopper") -> dict[str, Any]:
    """Sign a customer up through the API; returns the token answer."""
    r = client.post("/api/auth/signup", json={"email": email or fresh_email(), "password": PASSWORD, "name": name})
    assert r.status_code == 201, r.text
    return r.json()


def login(client: TestClient, email: str, password: str = PASSWORD) -> str:
    r = client.post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def staff(db: Database, client: TestClient, role: str) -> tuple[str, str, str]:
    """Create an associate or manager and log in; returns (account id, e-mail, token)."""
    email = fresh_email(role)
    account = create_staff(db, Passwords(FAST_HASH), email=email, password=PASSWORD, name=role.title(), role=role)
    return account.account_id, email, login(client, email)


def receipt_for(db: Database, store: Store, session_id: str, account_id: str, cart: dict[str, int]) -> None:
    """Open, fill, exit and finalize a session, charging its total to the account's card."""
    db.open_session(session_id, account_id, "rec-1", 10.0)
    for event_id, (upc, n) in enumerate(sorted(cart.items()), start=1):
        db.add_cart_line(session_id, event_id, upc, n, 10.0 + event_id, 0.95)
    db.exit_session(session_id, 60.0)
    receipt = make_receipt(store, session_id, account_id, db.cart(session_id), 10.0, 60.0)
    db.close_session(session_id, 60.0, receipt)
    money.pay(
        db,
        LedgerProvider(db),
        receipt_session_id=session_id,
        kind="charge",
        amount_cents=receipt.total_cents,
        idempotency_key=f"charge:{session_id}",
        reason="test checkout",
    )


@dataclass
class World:
    """The populated store (see the module docstring)."""

    db: Database
    client: TestClient
    store: Store
    tokens: dict[str, str] = field(default_factory=dict)  # principal name -> bearer token
    emails: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # principal name -> account or device id
    a_receipt: str = "s-a1"
    a_open: str = "s-a2"
    b_receipt: str = "s-b1"
    a_dispute: int = 0
    b_dispute: int = 0
    review_id: int = 0
    spare_device: str = "gate-spare"

    @property
    def cheap(self) -> str:
        """A product under 5 USD (its dispute is refunded without review)."""
        return self.store.products[0].upc

    @property
    def other(self) -> str:
        return self.store.products[1].upc


def build_world(db_url: str, store: Store) -> tuple[World, Any]:
    """Migrate a fresh database, start an app on it and populate it; returns (world, closer)."""
    db = Database(db_url)
    db.upgrade()
    client = TestClient(create_app(settings(db_url, store)))
    client.__enter__()
    w = World(db, client, store)
    for name in ("customer_a", "customer_b"):
        w.emails[name] = fresh_email(name)
        answer = signup(client, w.emails[name], name=name)
        w.tokens[name], w.ids[name] = answer["token"], answer["account_id"]
        r = client.post("/api/me/payment-methods", json={"label": "Visa ending 4242"}, headers=bearer(w.tokens[name]))
        assert r.status_code == 201, r.text
    for role in ("associate", "manager"):
        w.ids[role], w.emails[role], w.tokens[role] = staff(db, client, role)
    for device_id in ("plates-1", w.spare_device):
        kind = "plates" if device_id == "plates-1" else "gate"
        r = client.post(
            "/api/devices", json={"kind": kind, "device_id": device_id}, headers=bearer(w.tokens["manager"])
        )
        assert r.status_code == 201, r.text
        if device_id == "plates-1":
            w.tokens["device"], w.ids["device"] = r.json()["token"], device_id
    receipt_for(db, store, w.a_receipt, w.ids["customer_a"], {w.cheap: 3, w.other: 1})
    receipt_for(db, store, w.b_receipt, w.ids["customer_b"], {w.cheap: 2})
    db.open_session(w.a_open, w.ids["customer_a"], "rec-1", 100.0)
    db.add_cart_line(w.a_open, 50, w.cheap, 2, 101.0, 0.9)
    for name, session_id in (("customer_a", w.a_receipt), ("customer_b", w.b_receipt)):
        r = client.post(
            f"/api/me/receipts/{session_id}/disputes",
            json={"line_no": 0, "quantity": 1, "reason": "no"},
            headers=bearer(w.tokens[name]),
        )
        assert r.status_code == 201 and r.json()["status"] == "refunded", r.text
        setattr(w, "a_dispute" if name == "customer_a" else "b_dispute", r.json()["dispute_id"])
    evidence = {"shelf": "1.1", "plates": ["1.1.5"], "products": [[f"1 x {w.cheap}", 0.5]], "shoppers": []}
    w.review_id = db.add_review_item(ReviewItem(7, 12.0, "low confidence", 0.4, evidence, w.a_open), "rec-1")
    facing = store.planogram[0]
    db.set_stock([(str(p), facing.upc, 4) for p in facing.plates] + [("1.1.1", w.cheap, 1)])

    def close() -> None:
        client.__exit__(None, None, None)
        db.dispose()

    return w, close
