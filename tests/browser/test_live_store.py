"""End to end, live: simulator -> Mosquitto -> live engine -> WebSocket -> Chromium.

A customer signs up in the app and opens the entry QR; a simulated shopper walks in showing that
very token, picks two products and puts one back; each change shows on the customer's page
within 1 s of the plate settling as the engine dates it (the event's end on the store clock, on
the wall clock of the day), the receipt appears at exit, and the manager's dashboard shows the
shopper on the map and the stock going down. Screenshots of both pages are saved. The latency
from the simulated hand letting go is measured by ``benchmarks/bench_live_latency.py``.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from walkout.io import load_embedded_store
from walkout.io.mqtt.broker import find_mosquitto
from walkout.livedemo import DEMO_MANAGER_EMAIL, DEMO_MANAGER_PASSWORD, publish_days, start_live_demo
from walkout.sim import simulate
from walkout.sim.params import SimParams
from walkout.sim.scenario import Scenario, ScenarioEvent, ScenarioShopper

BUDGET_S = 1.0
PASSWORD = "correct horse battery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live(tmp_path: Any) -> Any:
    if find_mosquitto() is None:
        pytest.fail("the live end-to-end test needs Mosquitto: apt-get install -y mosquitto", pytrace=False)
    demo = start_live_demo(load_embedded_store(), tmp_path, port=_free_port(), use_mosquitto=True, tick_s=0.05)
    assert demo.transport.startswith("Mosquitto")
    try:
        yield demo
    finally:
        demo.close()


def test_a_shopper_walks_in_with_the_apps_token_and_the_pages_follow(live: Any, new_page: Any, shots: Any) -> None:
    store = load_embedded_store()
    with httpx.Client(base_url=live.url, timeout=10) as api:
        me = api.post("/api/auth/signup", json={"email": "lin@example.com", "password": PASSWORD, "name": "Lin"}).json()
        auth = {"Authorization": f"Bearer {me['token']}"}
        assert api.post("/api/me/payment-methods", headers=auth, json={"label": "Visa ending 4242"}).status_code == 201

    phone = new_page(viewport=(390, 844), is_mobile=True, has_touch=True, device_scale_factor=2)
    phone.goto(live.url + "/app.html")
    phone.fill("#login-email", "lin@example.com")
    phone.fill("#login-password", PASSWORD)
    phone.click("#login-form button[type=submit]")
    expect(phone.locator("#qr svg")).to_be_visible()
    expect(phone.locator("#live-status")).to_have_text("● live")
    token = phone.locator("#qr-token").inner_text()

    dash = new_page()
    dash.goto(live.url + "/dashboard.html")
    dash.fill("#login-email", DEMO_MANAGER_EMAIL)
    dash.fill("#login-password", DEMO_MANAGER_PASSWORD)
    dash.click("#login-form button[type=submit]")
    expect(dash.locator("#conn")).to_have_text("live")

    f = store.planogram
    a, b = f[3], f[17]
    far = [x for x in f if x.plates[0].gondola == 5][:2]  # two other shoppers, at another gondola
    scenario = Scenario("live-e2e", f, (
        ScenarioShopper("lin", me["account_id"], token=token),
        ScenarioShopper("sam", "demo-040"),
        ScenarioShopper("kim", "demo-041"),
    ), (
        ScenarioEvent(1, "pick", (far[0].upc,), far[0].plates[:1]),
        ScenarioEvent(0, "pick", (a.upc,), a.plates[:1]),
        ScenarioEvent(2, "pick", (far[1].upc,), far[1].plates[:1]),
        ScenarioEvent(0, "pick", (b.upc,), b.plates[:1]),
        ScenarioEvent(0, "putback", (a.upc,), a.plates[:1]),
    ))
    rec, truth = simulate(scenario, store, 11, replace(SimParams(), start_unix_s=float(int(time.time()))))
    device, device_token = live.device
    t_publish = time.time()
    pub = threading.Thread(target=publish_days, args=([rec], live.publisher_transport),
                           kwargs={"device": device, "token": device_token, "speed": 1.0}, daemon=True)
    pub.start()

    # the app switches to the cart when the engine opens the session at the gate
    expect(phone.locator("#view-cart")).to_be_visible(timeout=int((truth.shoppers[0].entry_t_s + 5) * 1000))
    counts = [1, 2, 1]
    mine = [e for e in truth.events if e.shopper == "lin"]
    for event, n in zip(mine, counts, strict=True):
        settled_unix_s = t_publish + event.t_s
        expect(phone.locator("#cart li")).to_have_count(1 if n == 1 else 2, timeout=int(
            (settled_unix_s - time.time() + BUDGET_S + 5.0) * 1000))
        last = phone.evaluate("window.walkoutLatencies")[-1]
        # within 1 s of the plate settling as the engine's weight model dates it (event_unix_s:
        # the day's wall-clock start + the event's end on the store clock) ...
        assert last["shown_unix_s"] - last["event_unix_s"] < BUDGET_S, (event.kind, last)
        # ... which is a fraction of a second to a few seconds after the simulated hand let go
        assert 0.0 <= last["event_unix_s"] - settled_unix_s < 4.0, (event.kind, last, settled_unix_s)
        if n == 2:
            expect(dash.locator("#map g.person")).to_have_count(3)  # all three shoppers on the map
            shots(dash, "dashboard")
    quantities = {li.get_attribute("data-upc"): li.get_attribute("data-quantity")
                  for li in phone.locator("#cart li").all()}
    assert quantities == {b.upc: "1"}
    shots(phone, "customer-app")

    # at exit: the receipt
    expect(phone.locator("#receipt-banner")).to_be_visible(timeout=int((truth.shoppers[0].exit_t_s + 10) * 1000))
    assert len(phone.evaluate("window.walkoutLatencies")) == 3  # the other shoppers' carts never reached this page
    pub.join(timeout=60)
    # the dashboard saw the stock of b go down by one
    row = dash.locator(f"#inventory tr[data-upc='{b.upc}'] td.count")
    expect(row).to_contain_text(str(b.count - 1))
    deadline = time.monotonic() + 15.0
    while "live-e2e" not in live.store_side.days_done and time.monotonic() < deadline:
        time.sleep(0.05)  # the day ends when the engine takes the "end" control message
    stored = live.db.receipt("live-e2e/s1")
    assert stored is not None and stored.quantities() == {b.upc: 1}
