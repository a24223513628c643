"""Browser tests of the dashboard and the customer app: a real server, a real Chromium.

Fixtures:
    chromium: session-scoped headless Chromium (Playwright for Python, sync API) started from the
        system's executable (``/usr/bin/chromium``, Debian's ``chromium`` package; another path in
        ``WALKOUT_CHROMIUM``). ``playwright install`` cannot download browsers here, so none is.
    live_bus: the :class:`~walkout.service.live.LiveBus` the server pushes from. The tests publish
        scripted messages on it; it is the seam where the live engine (simulator -> MQTT ->
        engine) plugs in instead.
    server: a uvicorn server on a free loopback port, in a thread, serving ``create_app`` on a
        fresh SQLite file with the live WebSocket routes over ``live_bus``; one per test.
    new_page: ``new_page(viewport=(w, h))`` opens a page in a fresh browser context (its own
        localStorage), closed after the test.
    shots: ``shots(page, name, publish=True)`` saves ``<name>.png`` under the test's ``tmp_path``
        and, if ``publish`` and ``WALKOUT_SCREENSHOTS`` names a directory (e.g. ``docs/img``),
        copies it there too (``docs/img/dashboard.png``, ``docs/img/customer-app.png``).

If Chromium or Playwright is missing the tests fail with an install hint; with
``WALKOUT_TEST_NO_BROWSER=1`` they are skipped instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from walkout.engine.db import Database
from walkout.service import auth
from walkout.service.live import LiveBus
from walkout.service.settings import PasswordHashParams, Settings, packaged_static_dir

NO_BROWSER_ENV = "WALKOUT_TEST_NO_BROWSER"
SCREENSHOTS_ENV = "WALKOUT_SCREENSHOTS"
CHROMIUM_ENV = "WALKOUT_CHROMIUM"
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
)
INSTALL_HINT = (
    "The browser tests need Playwright for Python (pip install playwright) and a system Chromium "
    f"(apt-get install -y chromium, or its path in {CHROMIUM_ENV}); `playwright install` is not needed. "
    f"To skip them, set {NO_BROWSER_ENV}=1."
)
PASSWORD = "correct horse battery"
#: cheap argon2 parameters: the tests sign in several times and the hash cost is not under test
FAST_HASH = PasswordHashParams(time_cost=1, memory_kib=64, parallelism=1)
#: how long a test waits for the UI to show something that needs no live update (page load, API)
UI_TIMEOUT_MS = 5000


def _unavailable(reason: str) -> None:
    if os.environ.get(NO_BROWSER_ENV):
        pytest.skip(reason)
    pytest.fail(f"{reason}. {INSTALL_HINT}", pytrace=False)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """A headless system Chromium driven by Playwright (sync API)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed")
    executable = os.environ.get(CHROMIUM_ENV) or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        _unavailable(f"no Chromium at {executable}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        yield browser
        browser.close()


@pytest.fixture
def live_bus() -> LiveBus:
    """The bus the server's WebSockets push from (the tests publish scripted messages on it)."""
    return LiveBus()


@dataclass
class Server:
    """A running test server.

    Attributes:
        url: base URL, e.g. ``http://127.0.0.1:41234``.
        db: the server's database (the same SQLite file), for arranging and checking data.
        bus: the live bus the WebSockets push from.
        settings: the server's settings.
        password: the password of every account the helpers create.
    """

    url: str
    db: Database
    bus: LiveBus
    settings: Settings
    password: str = PASSWORD

    def api(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        """Call the REST API; raises on an HTTP error; returns the decoded JSON (or None)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = httpx.request(method, self.url + path, headers=headers, timeout=10, **kw)
        r.raise_for_status()
        return r.json() if r.content else None

    def customer(self, email: str, name: str = "Ada Shopper", card: str | None = "Visa ending 4242") -> dict[str, Any]:
        """Sign a customer up through the API (and add a payment method); returns the login answer."""
        res = self.api("POST", "/api/auth/signup", json={"email": email, "password": PASSWORD, "name": name})
        if card:
            self.api("POST", "/api/me/payment-methods", res["token"], json={"label": card})
        return {**res, "email": email}

    def manager(self, email: str = "manager@store.test") -> str:
        """Create a manager account in the database; returns its e-mail (password :data:`PASSWORD`)."""
        auth.create_manager(self.db, auth.Passwords(FAST_HASH), email=email, password=PASSWORD, name="Morgan Manager")
        return email


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def build_app(settings: Settings, bus: LiveBus) -> Any:
    """``create_app`` with the live WebSocket routes over ``bus`` (authenticated by the app's context)."""
    from walkout.service.app import create_app
    from walkout.service.live import make_router

    return create_app(settings, extra_routers=[lambda ctx: make_router(bus, ctx.authenticate)])


@pytest.fixture
def server(tmp_path: Path, live_bus: LiveBus) -> Iterator[Server]:
    """A uvicorn server on a free loopback port serving the API, the static frontend and /ws/*."""
    import uvicorn

    db_url = f"sqlite:///{tmp_path / 'walkout.db'}"
    db = Database(db_url)
    db.upgrade()
    settings = Settings(db_url=db_url, static_dir=packaged_static_dir(), password_hash=FAST_HASH,
                        store_secret=b"browser-tests-secret-0123456789")
    app = build_app(settings, live_bus)
    sock = _free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", ws_ping_interval=None, timeout_graceful_shutdown=1)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.01)
    try:
        yield Server(f"http://127.0.0.1:{port}", db, live_bus, settings)
    finally:
        srv.should_exit = True
        thread.join(10)
        sock.close()
        db.dispose()


@pytest.fixture
def new_page(chromium: Any) -> Iterator[Callable[..., Any]]:
    """``new_page(viewport=(w, h))``: a page in its own browser context; all closed after the test."""
    contexts: list[Any] = []

    def make(viewport: tuple[int, int] = (1280, 800), **kw: Any) -> Any:
        context = chromium.new_context(viewport={"width": viewport[0], "height": viewport[1]}, **kw)
        context.set_default_timeout(UI_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    errors: list[str] = []
    yield make
    for context in contexts:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def shots(tmp_path: Path) -> Callable[..., Path]:
    """``shots(page, name, publish=True)``: save ``<name>.png`` under tmp_path (and ``$WALKOUT_SCREENSHOTS``)."""

    def save(page: Any, name: str, publish: bool = True) -> Path:
        path = tmp_path / "screenshots" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), animations="disabled")
        target = os.environ.get(SCREENSHOTS_ENV)
        if target and publish:
            Path(target).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, Path(target) / path.name)
        return path

    return save
