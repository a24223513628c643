"""The manager dashboard (/dashboard.html) in Chromium at 1280x800: the live map, event feed,
sessions, inventory, sensor health, latency, the WebSocket reconnect and one-click review."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from walkout.engine.result import ReviewItem

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

#: how long a pushed message may take to show (publish -> DOM), milliseconds
LIVE_MS = 1000


def _sign_in(server: Any, page: Any) -> str:
    """Create a manager, sign in through the form; returns the manager's bearer token."""
    email = server.manager()
    page.goto(server.url + "/dashboard.html")
    expect(page.locator("#login")).to_be_visible()
    page.fill("#login-email", email)
    page.fill("#login-password", server.password)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#conn")).to_have_text("live")
    return str(page.evaluate("JSON.parse(localStorage.getItem('walkout.staff')).token"))


def _has(css_class: str) -> re.Pattern[str]:
    """Matches a class attribute that contains ``css_class``."""
    return re.compile(rf"(^|\s){css_class}(\s|$)")


def _center(locator: Any) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _person(pid: int, xy: tuple[float, float], session: str | None, conf: float = 0.9,
            hands: tuple[Any, Any] = (None, None)) -> dict[str, Any]:
    return {"person": pid, "xy_m": list(xy), "head_z_m": 1.7, "hands": list(hands), "session_id": session,
            "confidence": conf, "tangled": False}


def test_map_feed_sessions_stock_health_latency(server: Any, new_page: Any, shots: Any) -> None:
    store = server.settings.store
    facing = next(f for f in store.planogram if f.plates[0].gondola == 3)
    plate, upc = str(facing.plates[0]), facing.upc
    name = store.product_by_upc[upc].name
    stock = {(str(f.plates[0]), f.upc): f.count for f in store.planogram}  # the planogram's facings, stocked
    stock[plate, upc] = 6
    server.db.set_stock([(p, u, n) for (p, u), n in stock.items()])
    customer = server.customer("lin@example.com", name="Lin Shopper")
    account, sid = customer["account_id"], "s-0001"
    server.db.open_session(sid, account, "live", 1.0)
    server.db.add_review_item(ReviewItem(event_id=9, t_s=2.0, reason="low confidence", confidence=0.48,
                                         evidence={"plates": [plate], "candidates": [sid, "s-0002"]},
                                         session_id=sid), "live")

    page = new_page(viewport=(1280, 800))
    token = _sign_in(server, page)
    server.api("PUT", f"/api/inventory/thresholds/{upc}", token, json={"threshold": 5})
    page.reload()  # the threshold is read with the inventory
    expect(page.locator("#conn")).to_have_text("live")

    # the map is drawn from /api/store
    expect(page.locator("#map polygon.gondola")).to_have_count(len(store.gondolas))
    expect(page.locator("#map polygon.plate")).to_have_count(len(store.plates))
    expect(page.locator("#map line.gate")).to_have_count(len(store.gates))
    row = page.locator(f"#inventory tr[data-upc='{upc}']")
    expect(row.locator("td.count")).to_have_text("6")
    expect(row).not_to_have_class(_has("low"))

    # a shopper enters and stands in the aisle in front of gondola 3, one hand in the shelf
    server.bus.publish({"type": "session", "session_id": sid, "account_id": account, "status": "open",
                        "members": 1, "kind": "customer"})
    expect(page.locator(f"#sessions tr[data-session='{sid}']")).to_contain_text("open", timeout=LIVE_MS)
    xy = (2.77, -0.60)
    server.bus.publish({"type": "people", "recording": "live", "t_s": 3.2,
                        "people": [_person(7, xy, sid, 0.93, ([2.70, 0.10, 1.2], None))]})
    marker = page.locator("#map g.person[data-person='7']")
    expect(marker).to_be_visible(timeout=LIVE_MS)
    expect(marker.locator("text")).to_have_text(f"#7 {sid} 93%")
    expect(marker.locator("circle.hand[data-hand='0']")).to_be_visible()
    expect(marker.locator("circle.hand[data-hand='1']")).to_be_hidden()

    # ... at the right place. The floor rectangle on screen gives the scale and the centre (its
    # box includes the outline's stroke on every side: width - height cancels it); world y is up.
    left, top, right, bottom = store.floor_ltrb_m
    floor = page.locator("#map polygon.floor").bounding_box()
    ppm = (floor["width"] - floor["height"]) / ((right - left) - (bottom - top))
    cx, cy = floor["x"] + floor["width"] / 2, floor["y"] + floor["height"] / 2
    assert ppm > 50  # the map fills its panel

    def on_screen(x: float, y: float) -> tuple[float, float]:
        return cx + (x - (left + right) / 2) * ppm, cy - (y - (top + bottom) / 2) * ppm

    mx, my = _center(marker.locator("circle.body"))
    ex, ey = on_screen(*xy)
    assert abs(mx - ex) < 1.5 and abs(my - ey) < 1.5, ((mx, my), (ex, ey))
    gondola = store.gondola(3)
    gx0, gy0, _ = gondola.pose.translation_m
    gx, gy = _center(page.locator("#map polygon.gondola[data-gondola='3']"))
    egx, egy = on_screen(gx0 + gondola.size_m[0] / 2, gy0 + gondola.size_m[1] / 2)
    assert abs(gx - egx) < 1.5 and abs(gy - egy) < 1.5
    assert gx - gondola.size_m[0] / 2 * ppm < mx < gx + gondola.size_m[0] / 2 * ppm and my > gy  # in front of it

    # the shopper moves; a second, unlinked person appears
    server.bus.publish({"type": "people", "recording": "live", "t_s": 3.4,
                        "people": [_person(7, (2.40, -0.80), sid, 0.95), _person(8, (0.5, -1.9), None, 0.6)]})
    expect(page.locator("#map g.person")).to_have_count(2, timeout=LIVE_MS)
    expect(page.locator("#map g.person[data-person='8']")).to_have_class(_has("anonymous"))
    expect(marker).not_to_have_class(_has("anonymous"))
    mx2, my2 = _center(marker.locator("circle.body"))
    ex2, ey2 = on_screen(2.40, -0.80)
    assert abs(mx2 - ex2) < 1.5 and abs(my2 - ey2) < 1.5

    # a pick: the feed says what, who and how sure; the plate flashes; the stock goes down
    server.bus.publish({"type": "shelf_event", "recording": "live", "event_id": 1, "t_s": 3.5, "kind": "pick",
                        "plates": [plate], "items": [[upc, 1]], "names": [name], "session_id": sid,
                        "account_id": account, "confidence": 0.87, "review": False})
    entry = page.locator("#feed li").first
    expect(entry).to_contain_text(f"1 × {name}", timeout=LIVE_MS)
    expect(entry).to_contain_text(f"session {sid}")
    expect(entry).to_contain_text("87%")
    expect(entry.locator(".badge")).to_have_text("pick")
    expect(page.locator(f"#map polygon.plate[data-plate='{plate}']")).to_have_class(_has("flash"), timeout=LIVE_MS)
    server.db.adjust_stock(plate, upc, -1)  # what the engine books before it publishes
    server.bus.publish({"type": "stock", "plate_id": plate, "upc": upc, "count": 5, "low": True})
    expect(row.locator("td.count")).to_contain_text("5", timeout=LIVE_MS)
    expect(row).to_have_class(_has("low"))
    server.bus.publish({"type": "cart", "session_id": sid, "account_id": account, "t_s": 3.5,
                        "event_unix_s": time.time(), "subtotal_cents": store.product_by_upc[upc].price_cents,
                        "cart": [{"upc": upc, "name": name, "quantity": 1,
                                  "unit_price_cents": store.product_by_upc[upc].price_cents}]})
    expect(page.locator(f"#sessions tr[data-session='{sid}'] td").nth(3)).to_have_text("1", timeout=LIVE_MS)

    # sensor health and latency
    server.bus.publish({"type": "health", "plates_silent": ["1.1.1"], "plates_noisy": [], "cameras_down": ["cam-6"],
                        "rejections": {"bad_token": 2, "late": 1}})
    expect(page.locator("#health-silent .n")).to_have_text("1", timeout=LIVE_MS)
    expect(page.locator("#health-cameras .list")).to_have_text("cam-6")
    expect(page.locator("#health-rejections .n")).to_have_text("3")
    expect(page.locator("#health-status")).to_have_text("attention")
    expect(page.locator("#map polygon.plate[data-plate='1.1.1']")).to_have_class(_has("silent"))
    hist = [[0, 3], [50, 12], [100, 30], [150, 9], [200, 2], [250, 1]]
    server.bus.publish({"type": "latency", "p50_ms": 118.0, "p99_ms": 243.0, "hist_ms": hist})
    expect(page.locator("#latency-p50")).to_have_text("118 ms", timeout=LIVE_MS)
    expect(page.locator("#latency-chart rect.bar")).to_have_count(len(hist))
    assert page.locator("#latency-chart rect.bar[data-lo='100']").get_attribute("data-count") == "30"

    # the socket drops: the dashboard reconnects, shows nothing twice, and keeps receiving
    page.evaluate("window.walkoutDashboard.state.socket.socket().close()")
    expect(page.locator("#conn")).not_to_have_text("live", timeout=LIVE_MS)
    expect(page.locator("#conn")).to_have_text("live")
    server.bus.publish({"type": "shelf_event", "recording": "live", "event_id": 2, "t_s": 9.0, "kind": "putback",
                        "plates": [plate], "items": [[upc, 1]], "names": [name], "session_id": sid,
                        "account_id": account, "confidence": 0.91, "review": False})
    expect(page.locator("#feed li")).to_have_count(2, timeout=LIVE_MS)
    expect(page.locator("#feed li").first.locator(".badge")).to_have_text("put-back")
    expect(row.locator("td.count")).to_contain_text("5")  # re-read from /api/inventory after the drop
    expect(row).to_have_class(_has("low"))

    # a busy moment for the screenshot
    server.bus.publish({"type": "people", "recording": "live", "t_s": 9.2, "people": [
        _person(7, (2.45, -0.55), sid, 0.95, ([2.5, 0.05, 1.1], [2.3, -0.3, 1.0])),
        _person(8, (0.6, -0.7), "s-0002", 0.82, ([0.7, 0.1, 1.4], None)),
        _person(9, (4.3, -1.2), None, 0.55),
    ]})
    expect(page.locator("#map g.person")).to_have_count(3, timeout=LIVE_MS)
    shots(page, "dashboard")


def test_review_approve_in_one_click(server: Any, new_page: Any) -> None:
    customer = server.customer("kim@example.com", name="Kim Shopper")
    server.db.open_session("s-rev", customer["account_id"], "rec-1", 5.0)
    first = server.db.add_review_item(
        ReviewItem(event_id=3, t_s=12.5, reason="low confidence", confidence=0.42,
                   evidence={"plates": ["3.2.1"], "candidates": ["s-rev"]}, session_id="s-rev"), "rec-1")

    page = new_page(viewport=(1280, 800))
    token = _sign_in(server, page)
    card = page.locator(f"#review .review-item[data-review='{first}']")
    expect(card).to_contain_text("low confidence")
    expect(card).to_contain_text("42%")

    # a task raised while the dashboard is open arrives by push
    second = server.db.add_review_item(
        ReviewItem(event_id=4, t_s=14.0, reason="tangled shoppers", confidence=0.5, session_id="s-rev"), "rec-1")
    server.bus.publish({"type": "review", "review_id": second, "session_id": "s-rev", "reason": "tangled shoppers",
                        "confidence": 0.5, "evidence": {}})
    expect(page.locator("#review .review-item")).to_have_count(2, timeout=LIVE_MS)

    card.locator("button[data-action=approve]").click()
    expect(card).to_have_count(0)
    expect(page.locator("#review .review-item")).to_have_count(1)
    assert [t["review_id"] for t in server.api("GET", "/api/review?status=open", token)] == [second]
    done = {t["review_id"]: t for t in server.api("GET", "/api/review?status=all", token)}[first]
    assert done["status"] == "resolved" and done["decision"]["action"] == "approve"
    assert page.locator("#review-error").inner_text() == ""
