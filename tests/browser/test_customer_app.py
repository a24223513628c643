"""The customer web app (/app.html) in Chromium at phone size: sign-up, payment method, the rotating
entry QR, the live cart pushed over /ws/me, the receipt and a dispute."""

from __future__ import annotations

import re
import time
from typing import Any

import cv2
import numpy as np
import pytest
import zxingcpp

from walkout.carts.entry import ENTRY_TOKEN_TTL_S, EntryDesk, InMemoryUsedTokens
from walkout.operations.checkout import Checkout
from walkout.operations.ledger import LedgerProvider

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

PHONE = (390, 844)
#: the budget for a pushed change to show on the page (publish -> DOM), seconds
LIVE_BUDGET_S = 1.0
TOKEN_RE = re.compile(r"WO2\.[A-Za-z0-9_-]{1,64}\.[0-9]{1,12}\.[A-Za-z0-9_-]{11,22}\.[A-Za-z0-9_-]{22}")


def _phone(new_page: Any) -> Any:
    return new_page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)


def _decode_qr(png: bytes) -> str:
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    found = zxingcpp.read_barcodes(image)
    assert found, "no QR code could be read from the page"
    return str(found[0].text)


def _valid_for(seconds: int) -> re.Pattern[str]:
    """The countdown's text ``seconds`` after a code was issued (the page clock also runs in real
    time, so a slow moment may already show one second less)."""
    return re.compile(rf"^Valid for ({seconds}|{seconds - 1}) s$")


def _shown_within(page: Any, check: Any, budget_s: float = LIVE_BUDGET_S) -> float:
    """Run the Playwright assertion ``check(timeout_ms)`` and return how long it took to hold."""
    t0 = time.monotonic()
    check(int(budget_s * 1000))
    took = time.monotonic() - t0
    assert took <= budget_s + 0.05, f"the page took {took:.2f} s to show the change"
    return took


def test_signup_payment_method_and_rotating_entry_qr(server: Any, new_page: Any, shots: Any) -> None:
    page = _phone(new_page)
    page.clock.install()  # a fake clock: the test jumps to the next rotation instead of waiting 25 s
    page.goto(server.url + "/app.html")

    page.click("#tab-signup")
    page.fill("#signup-name", "Ada Shopper")
    page.fill("#signup-email", "ada@example.com")
    page.fill("#signup-password", server.password)
    page.click("#signup-form button[type=submit]")

    # a new account has no payment method: the app opens the account view and says so
    expect(page.locator("#view-account")).to_be_visible()
    expect(page.locator("#methods-empty")).to_be_visible()
    page.fill("#method-label", "Visa ending 4242")
    page.click("#method-form button[type=submit]")
    expect(page.locator("#methods li")).to_have_count(1)
    expect(page.locator("#methods li")).to_contain_text("Visa ending 4242")
    token = page.evaluate("JSON.parse(localStorage.getItem('walkout.customer')).token")
    assert [m["label"] for m in server.api("GET", "/api/me/payment-methods", token)] == ["Visa ending 4242"]

    page.click("#nav button[data-view=enter]")
    expect(page.locator("#qr svg")).to_be_visible()
    expect(page.locator("#no-method")).to_be_hidden()
    first = page.locator("#qr-token").inner_text()
    assert TOKEN_RE.fullmatch(first), first
    # the QR code on screen carries exactly the token, and the store's gate admits it
    assert _decode_qr(page.locator("#qr svg").screenshot()) == first
    desk = EntryDesk(server.settings.store_secret.get_secret_value(), lambda _a: "customer", InMemoryUsedTokens())
    verdict = desk.verify(first, time.time())
    assert verdict.admitted, verdict
    account_id = server.api("GET", "/api/me", token)["account_id"]
    assert verdict.account_id == account_id
    expect(page.locator("#qr-countdown")).to_have_text(_valid_for(ENTRY_TOKEN_TTL_S))
    shots(page, "customer-qr", publish=False)

    # the countdown runs, and 5 s before expiry the app fetches a new code
    page.clock.run_for(10_000)
    expect(page.locator("#qr-countdown")).to_have_text(_valid_for(ENTRY_TOKEN_TTL_S - 10))
    assert page.locator("#qr-token").inner_text() == first
    page.clock.run_for((ENTRY_TOKEN_TTL_S - 5 - 10) * 1000 + 500)
    expect(page.locator("#qr-token")).not_to_have_text(first)
    second = page.locator("#qr-token").inner_text()
    assert TOKEN_RE.fullmatch(second) and second != first
    assert _decode_qr(page.locator("#qr svg").screenshot()) == second
    expect(page.locator("#qr-countdown")).to_have_text(_valid_for(ENTRY_TOKEN_TTL_S))


def _cart(session_id: str, account_id: str, lines: list[tuple[str, int]], server: Any) -> dict[str, Any]:
    catalogue = server.settings.store.product_by_upc
    cart = [{"upc": u, "name": catalogue[u].name, "quantity": q, "unit_price_cents": catalogue[u].price_cents}
            for u, q in lines]
    return {"type": "cart", "session_id": session_id, "account_id": account_id, "cart": cart,
            "subtotal_cents": sum(c["quantity"] * c["unit_price_cents"] for c in cart), "t_s": 12.0,
            "event_unix_s": time.time()}


def test_live_cart_receipt_and_dispute(server: Any, new_page: Any, shots: Any) -> None:
    me = server.customer("grace@example.com", name="Grace Shopper")
    account, sid = me["account_id"], "live-s-1"
    products = server.settings.store.products
    a, b = products[0], products[1]

    page = _phone(new_page)
    page.goto(server.url + "/app.html")
    page.fill("#login-email", me["email"])
    page.fill("#login-password", server.password)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#view-enter")).to_be_visible()
    expect(page.locator("#qr svg")).to_be_visible()
    expect(page.locator("#live-status")).to_have_text("● live")
    expect(page.locator("#session-status")).to_have_attribute("data-status", "none")

    # the engine opens the session at the gate: the app switches to the cart by itself
    server.bus.publish({"type": "session", "session_id": sid, "account_id": account, "status": "open",
                        "members": 1, "kind": "customer"})
    _shown_within(page, lambda ms: expect(page.locator("#view-cart")).to_be_visible(timeout=ms))
    expect(page.locator("#session-status")).to_have_attribute("data-status", "open")
    expect(page.locator("#cart-empty")).to_be_visible()

    # two picks, then a put-back: each cart shows within the budget
    picked = _cart(sid, account, [(a.upc, 2), (b.upc, 1)], server)
    server.bus.publish(picked)
    _shown_within(page, lambda ms: expect(page.locator("#cart li")).to_have_count(2, timeout=ms))
    expect(page.locator(f"#cart li[data-upc='{a.upc}']")).to_have_attribute("data-quantity", "2")
    expect(page.locator("#cart li").first).to_contain_text(a.name)
    expect(page.locator("#cart-subtotal")).to_have_text(f"${picked['subtotal_cents'] / 100:.2f}")
    shots(page, "customer-app")

    put_back = _cart(sid, account, [(a.upc, 2)], server)
    server.bus.publish(put_back)
    _shown_within(page, lambda ms: expect(page.locator("#cart li")).to_have_count(1, timeout=ms))
    expect(page.locator("#cart li")).to_have_attribute("data-upc", a.upc)
    expect(page.locator("#cart-subtotal")).to_have_text(f"${put_back['subtotal_cents'] / 100:.2f}")

    # another customer's cart never reaches this page
    server.bus.publish(_cart("other-s", "c-somebody-else", [(b.upc, 5)], server))

    # the latency log: one entry per cart rendered, with the event time the engine stamped
    latencies = page.evaluate("window.walkoutLatencies")
    assert [x["event_unix_s"] for x in latencies] == [picked["event_unix_s"], put_back["event_unix_s"]]
    assert all(x["session_id"] == sid and 0 <= x["shown_unix_s"] - x["event_unix_s"] < LIVE_BUDGET_S for x in latencies)

    # checkout (receipt stored, card charged), then the receipt is pushed
    server.db.open_session(sid, account, "live", 10.0)
    server.db.add_cart_line(sid, 1, a.upc, 2, 12.0, 0.95)
    server.db.exit_session(sid, 70.0)
    done = Checkout(server.db, server.settings.store, LedgerProvider(server.db), None).finalize(sid, now_s=400.0)
    assert done.status == "finalized", done
    receipt = done.receipt
    server.bus.publish({"type": "receipt", "session_id": sid, "account_id": account,
                        "lines": [{"upc": a.upc, "name": a.name, "quantity": 2, "unit_price_cents": a.price_cents}],
                        "subtotal_cents": receipt.subtotal_cents, "tax_cents": receipt.tax_cents,
                        "total_cents": receipt.total_cents, "currency": receipt.currency, "time_in_store_s": 60.0})
    banner = page.locator("#receipt-banner")
    _shown_within(page, lambda ms: expect(banner).to_be_visible(timeout=ms))
    expect(banner).to_contain_text(f"${receipt.total_cents / 100:.2f}")
    expect(page.locator("#cart li")).to_have_count(0)

    banner.get_by_role("button", name="View receipt").click()
    detail = page.locator("#receipt-detail")
    expect(detail).to_be_visible()
    expect(detail).to_have_attribute("data-session", sid)
    expect(page.locator("#receipt-lines tbody tr")).to_have_count(1)
    expect(page.locator("#receipt-lines tbody tr")).to_contain_text(a.name)
    expect(page.locator("#receipt-total")).to_have_text(f"${receipt.total_cents / 100:.2f}")

    # dispute one unit of the line: a small amount is refunded at once
    page.click("#receipt-lines button[data-line='0']")
    page.fill("#dispute-quantity", "1")
    page.fill("#dispute-reason", "I put one back")
    page.click("#dispute-form button[type=submit]")
    expect(page.locator("#dispute-result")).to_contain_text("Refunded $")
    disputes = server.api("GET", "/api/me/disputes", me["token"])
    assert [(d["session_id"], d["line_no"], d["quantity"], d["status"]) for d in disputes] == [(sid, 0, 1, "refunded")]
    # the unit's price plus its share of the sales tax
    assert disputes[0]["amount_cents"] >= a.price_cents
    expect(page.locator("#dispute-result")).to_contain_text(f"Refunded ${disputes[0]['amount_cents'] / 100:.2f}")
    expect(page.locator("#receipt-lines tbody tr")).to_contain_text("Refunded (1)")
    shots(page, "customer-receipt", publish=False)

    # the receipts list has it too
    page.click("#receipt-back")
    expect(page.locator(f"#receipts button[data-session='{sid}']")).to_contain_text(f"${receipt.total_cents / 100:.2f}")
