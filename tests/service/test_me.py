"""The customer's routes: entry token, session and cart, receipts, disputes, payment methods;
and that a customer never sees another customer's cart, receipt or dispute."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest
from service_world import SECRET, bearer, receipt_for, signup, staff

from walkout.carts.entry import ENTRY_TOKEN_TTL_S, EntryDesk, InMemoryUsedTokens
from walkout.engine.desk import entry_desk


def test_entry_token_is_admitted_by_the_entry_desk(world):
    r = world.client.get("/api/me/entry-token", headers=bearer(world.tokens["customer_a"]))
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["expires_in_s"] == ENTRY_TOKEN_TTL_S and abs(body["issued_unix_s"] - time.time()) < 5
    assert body["token"].startswith(f"WO2.{world.ids['customer_a']}.{body['issued_unix_s']}.")
    svg = ET.fromstring(body["svg"])
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    desk = entry_desk(world.db, SECRET)  # the engine's desk over the database
    verdict = desk.verify(body["token"], time.time())
    assert verdict.admitted and verdict.account_id == world.ids["customer_a"] and verdict.kind == "customer"
    assert desk.verify(body["token"], time.time() + 1).code == "replayed"
    other_store = EntryDesk(b"another-store-secret!", lambda _a: "customer", InMemoryUsedTokens())
    assert other_store.verify(body["token"], time.time()).code == "forged"
    again = world.client.get("/api/me/entry-token", headers=bearer(world.tokens["customer_a"])).json()
    assert again["token"] != body["token"]  # a fresh nonce every time


def test_current_session_shows_the_cart_with_names_and_prices(world):
    a = world.client.get("/api/me/session", headers=bearer(world.tokens["customer_a"])).json()
    product = world.store.product_by_upc[world.cheap]
    assert a == {
        "session_id": world.a_open,
        "status": "open",
        "entry_t_s": 100.0,
        "cart": [{"upc": world.cheap, "name": product.name, "quantity": 2, "unit_price_cents": product.price_cents}],
        "subtotal_cents": 2 * product.price_cents,
    }
    b = world.client.get("/api/me/session", headers=bearer(world.tokens["customer_b"])).json()
    assert b == {"session_id": None, "status": None, "entry_t_s": None, "cart": [], "subtotal_cents": 0}


def test_receipts_list_and_detail(world):
    headers = bearer(world.tokens["customer_a"])
    listed = world.client.get("/api/me/receipts", headers=headers).json()
    assert [r["session_id"] for r in listed] == [world.a_receipt]
    detail = world.client.get(f"/api/me/receipts/{world.a_receipt}", headers=headers).json()
    assert [(x["line_no"], x["upc"], x["quantity"]) for x in detail["lines"]] == [
        (0, world.cheap, 3),
        (1, world.other, 1),
    ]
    assert detail["total_cents"] == detail["subtotal_cents"] + detail["tax_cents"] == listed[0]["total_cents"]
    assert sum(x["line_total_cents"] for x in detail["lines"]) == detail["subtotal_cents"]
    kinds = [(p["kind"], p["status"], p["method_label"]) for p in detail["payments"]]
    assert ("charge", "succeeded", "Visa ending 4242") in kinds and ("refund", "succeeded", "Visa ending 4242") in kinds
    assert world.a_dispute in [d["dispute_id"] for d in detail["disputes"]]


def test_a_customer_cannot_read_another_customers_cart_receipt_or_dispute(world):
    b = bearer(world.tokens["customer_b"])
    c = world.client
    for path in (
        f"/api/me/receipts/{world.a_receipt}",
        f"/api/me/disputes/{world.a_dispute}",
        f"/api/me/receipts/{world.a_open}",
    ):
        r = c.get(path, headers=b)
        assert r.status_code == 404, path
    # another customer's id answers exactly like an id that does not exist
    theirs = c.get(f"/api/me/receipts/{world.a_receipt}", headers=b).json()["detail"]
    nobodys = c.get("/api/me/receipts/s-none", headers=b).json()["detail"]
    assert theirs.replace(world.a_receipt, "?") == nobodys.replace("s-none", "?")
    theirs = c.get(f"/api/me/disputes/{world.a_dispute}", headers=b).json()["detail"]
    assert theirs.replace(str(world.a_dispute), "?") == c.get("/api/me/disputes/999999", headers=b).json()[
        "detail"
    ].replace("999999", "?")
    # lists hold only B's own
    assert [r["session_id"] for r in c.get("/api/me/receipts", headers=b).json()] == [world.b_receipt]
    assert {d["account_id"] for d in c.get("/api/me/disputes", headers=b).json()} == {world.ids["customer_b"]}
    assert c.get("/api/me/session", headers=b).json()["session_id"] is None  # A's open cart stays A's
    # the staff views of A's cart and receipt are closed to customers
    assert c.get(f"/api/sessions/{world.a_open}", headers=b).status_code == 403
    assert c.get(f"/api/receipts/{world.a_receipt}", headers=b).status_code == 403
    # and B cannot dispute A's receipt: nothing is written
    before = len(c.get("/api/disputes", headers=bearer(world.tokens["manager"])).json())
    r = c.post(
        f"/api/me/receipts/{world.a_receipt}/disputes",
        headers=b,
        json={"line_no": 0, "quantity": 1, "reason": "not mine"},
    )
    assert r.status_code == 404
    assert len(c.get("/api/disputes", headers=bearer(world.tokens["manager"])).json()) == before


def test_disputes_small_refunded_large_reviewed_then_approved(api, store):
    c = api.client
    answer = signup(c)
    me = bearer(answer["token"])
    c.post("/api/me/payment-methods", json={"label": "Visa ending 4242"}, headers=me)
    cheap, dear = store.products[0], max(store.products, key=lambda p: p.price_cents)
    receipt_for(api.db, store, "s-1", answer["account_id"], {cheap.upc: 2, dear.upc: 3})
    lines = c.get("/api/me/receipts/s-1", headers=me).json()["lines"]
    line_of = {x["upc"]: x["line_no"] for x in lines}

    small = c.post(
        "/api/me/receipts/s-1/disputes",
        headers=me,
        json={"line_no": line_of[cheap.upc], "quantity": 1, "reason": "put it back"},
    )
    assert small.status_code == 201, small.text
    assert small.json()["status"] == "refunded" and small.json()["review_id"] is None
    assert small.json()["amount_cents"] == round(cheap.price_cents * (1 + store.tax_rate))

    large = c.post(
        "/api/me/receipts/s-1/disputes",
        headers=me,
        json={"line_no": line_of[dear.upc], "quantity": 3, "reason": "never took them"},
    )
    assert large.status_code == 201 and large.json()["status"] == "in_review"
    review_id = large.json()["review_id"]

    _, _, associate = staff(api.db, c, "associate")
    tasks = c.get("/api/review", headers=bearer(associate)).json()
    assert [(t["review_id"], t["kind"]) for t in tasks] == [(review_id, "dispute")]
    decided = c.post(f"/api/review/{review_id}/decision", headers=bearer(associate), json={"action": "approve"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["dispute"]["status"] == "refunded"
    mine = c.get(f"/api/me/disputes/{large.json()['dispute_id']}", headers=me).json()
    assert mine["status"] == "refunded" and mine["resolved_at"] is not None
    refunds = [p for p in c.get("/api/me/receipts/s-1", headers=me).json()["payments"] if p["kind"] == "refund"]
    assert sum(p["amount_cents"] for p in refunds) == small.json()["amount_cents"] + large.json()["amount_cents"]

    too_many = c.post(
        "/api/me/receipts/s-1/disputes",
        headers=me,
        json={"line_no": line_of[dear.upc], "quantity": 1, "reason": "again"},
    )
    assert too_many.status_code == 400 and "exceeds" in too_many.json()["detail"]
    no_line = c.post("/api/me/receipts/s-1/disputes", headers=me, json={"line_no": 7, "quantity": 1, "reason": "?"})
    assert no_line.status_code == 400 and "line_no 7" in no_line.json()["detail"]


@pytest.mark.parametrize(
    ("label", "status"),
    [("Visa ending 4242", 201), ("4242 4242 4242 4242", 400), ("", 422), ("x" * 65, 422)],
)
def test_payment_methods(api, label, status):
    me = bearer(signup(api.client)["token"])
    r = api.client.post("/api/me/payment-methods", json={"label": label}, headers=me)
    assert r.status_code == status, r.text
    methods = api.client.get("/api/me/payment-methods", headers=me).json()
    assert len(methods) == (1 if status == 201 else 0)
    for m in methods:
        assert m["is_default"] and m["provider"] == "ledger" and "provider_token" not in m
