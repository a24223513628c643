"""The live store: simulator -> MQTT -> live engine -> database + WebSocket -> browsers.

This module sits above the layers (like :mod:`walkout.replay` and the CLI): it wires the
simulator's :class:`~walkout.sim.publish.RecordingPublisher` (the store's devices), a broker
(Mosquitto when installed, else the in-process transport), the MQTT ingest, the
:class:`~walkout.engine.live.LiveEngine`, checkout at the end of each store day, the
:class:`~walkout.service.live.LiveBus` and the REST service. ``walkout demo --live`` runs it;
the browser tests and the latency benchmark start the same :class:`LiveStore`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from walkout.core.store import Store
from walkout.engine.db import Database
from walkout.engine.desk import entry_desk
from walkout.engine.live import LiveEngine
from walkout.engine.params import EngineParams
from walkout.io.mail import MailSender
from walkout.io.mqtt import MqttIngest
from walkout.io.mqtt.broker import MosquittoBroker, find_mosquitto
from walkout.io.mqtt.transport import LocalTransport, PahoTransport, Transport
from walkout.io.recording import Recording
from walkout.operations.checkout import Checkout
from walkout.operations.ledger import LedgerProvider
from walkout.service.live import LiveBus

log = logging.getLogger(__name__)


@dataclass
class LatencyStats:
    """Server-side cart-update latency: from the engine's settle time of the event (wall clock)
    to the cart message leaving the bus, in milliseconds."""

    samples_ms: list[float] = field(default_factory=list)

    def add(self, ms: float) -> None:
        self.samples_ms.append(ms)

    def message(self) -> dict[str, Any]:
        import numpy as np

        a = np.asarray(self.samples_ms[-2000:], dtype=float)
        if a.size == 0:
            return {"type": "latency", "p50_ms": None, "p99_ms": None, "hist_ms": [], "n": 0}
        counts, edges = np.histogram(a, bins=np.arange(0, max(1000.0, float(a.max()) + 50.0), 50.0))
        return {"type": "latency", "p50_ms": round(float(np.percentile(a, 50)), 1),
                "p99_ms": round(float(np.percentile(a, 99)), 1), "n": int(a.size),
                "hist_ms": [[float(lo), int(c)] for lo, c in zip(edges[:-1], counts, strict=True)]}


class LiveStore:
    """The engine side of a live store: ingest -> live engine -> bus (+ database, checkout).

    A store day starts and ends with the devices' ``control`` messages (docs/mqtt.md); data that
    arrives with no day started opens one (named by the UTC time, ``t_s = 0`` taken as the
    newest sample's age) and is counted in the ingest's rejections, so nothing is dropped silently.

    Args:
        store: the store.
        db: the walkout database (migrated; accounts and cards seeded).
        bus: where live messages go.
        transport: the MQTT transport the devices publish on.
        verify_device: device-token check of the ingest.
        mailer: where receipt e-mails go (None: they stay queued).
        tick_s: how often the live engine re-runs on the day so far.
        params: engine parameters.
    """

    def __init__(self, store: Store, db: Database, bus: LiveBus, transport: Transport, verify_device: Any,
                 mailer: MailSender | None = None, tick_s: float = 0.1, params: EngineParams = EngineParams()) -> None:
        self.store, self.db, self.bus, self.tick_s = store, db, bus, tick_s
        self.ingest = MqttIngest(store, transport, verify_device)
        self.latency = LatencyStats()
        self.engine = LiveEngine(store, entry_desk(db), self._publish, params, storage=db)
        self.checkout = Checkout(db, store, LedgerProvider(db), mailer)
        self.days_done: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-engine", daemon=True)
        self._speed = 1.0

    def start(self) -> LiveStore:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)

    def _publish(self, msg: dict[str, Any]) -> None:
        if msg.get("type") == "cart" and msg.get("event_unix_s"):
            self.latency.add(1000.0 * (time.time() - float(msg["event_unix_s"])))
        self.bus.publish(msg)

    def _run(self) -> None:
        last_health = 0.0
        while not self._stop.is_set():
            self.ingest.buffer.wait(self.tick_s)
            try:
                self._step()
            except Exception:  # noqa: BLE001 - a live loop logs and goes on; the day's final pass is exact
                log.exception("live engine tick failed")
            if time.time() - last_health >= 1.0:
                last_health = time.time()
                self.bus.publish({"type": "health", **self.ingest.health().as_dict()})
                self.bus.publish(self.latency.message())

    def _step(self) -> None:
        inc = self.ingest.take()
        for c in inc.control:
            if c.type == "start":
                if self.engine.day is not None:
                    self._end_day()
                start = c.start_unix_s or 0.0
                self.engine.start_day(c.recording, c.planogram, start,
                                      c.wall_start_unix_s if c.wall_start_unix_s is not None else time.time())
        if inc.empty:
            return  # nothing arrived: the last tick's decisions stand
        if self.engine.day is None:  # devices without a store-day controller: open a day ourselves
            t_max = max([float(x.t_s.max()) for x in (inc.plates, inc.scans, inc.people) if len(x.t_s)])
            name = time.strftime("live-%Y%m%dT%H%M%SZ", time.gmtime())
            log.warning("data arrived with no store day started: opening %s (t_s = 0 taken as %.1f s ago)", name, t_max)
            self.ingest.rejections["control: data before a start message (a day was opened)"] += 1
            now = time.time()
            self.engine.start_day(name, None, now - t_max, now - t_max)
        self.engine.feed(inc.plates, inc.scans, inc.people)
        self.engine.tick()
        if any(c.type == "end" for c in inc.control):
            self._end_day()

    def _end_day(self) -> None:
        day = self.engine.day
        self.engine.end_day()
        for outcome in self.checkout.finalize_due(math.inf):
            log.info("checkout %s: %s", outcome.session_id, outcome.status)
        if day is not None:
            self.days_done.append(day.name)


@contextmanager
def transport_for(use_mosquitto: bool = True) -> Iterator[tuple[Transport, Transport, str]]:
    """A publisher transport and a subscriber transport on one broker, and a description.

    Mosquitto (Debian's binary) on a free loopback port when ``use_mosquitto`` and it is
    installed; otherwise the in-process transport (said in the description).
    """
    if use_mosquitto and find_mosquitto() is not None:
        broker = MosquittoBroker()
        broker.start()
        try:
            sub = PahoTransport("127.0.0.1", broker.port, client_id="walkout-engine")
            pub = PahoTransport("127.0.0.1", broker.port, client_id="walkout-devices")
            try:
                yield pub, sub, f"Mosquitto on 127.0.0.1:{broker.port}"
            finally:
                pub.close()
                sub.close()
        finally:
            broker.stop()
        return
    local = LocalTransport()
    reason = "mosquitto not found" if use_mosquitto else "in-process transport requested"
    yield local, local, f"{reason}, using the in-process transport"


def publish_days(recordings: Iterable[Recording], transport: Transport, *, device: str, token: str, speed: float = 1.0,
                 stop: threading.Event | None = None) -> int:
    """Publish recordings one after the other in real time (each a store day); returns how many.

    Each recording's wall-clock start is stamped when its publishing begins, so entry tokens
    issued by a live service at that moment are fresh in the store's clock.
    """
    from walkout.sim.publish import RecordingPublisher

    n = 0
    for rec in recordings:
        if stop is not None and stop.is_set():
            break
        RecordingPublisher(rec, transport, device=device, device_token=token, speed=speed, batch_s=0.05).run()
        n += 1
    return n


def live_recordings(gt_path: str | Path, store: Store, seed: int) -> Iterator[Recording]:
    """The AiFi recordings simulated lazily, each starting at the wall-clock time it is made
    (recording i with :func:`walkout.sim.pipeline.recording_seed` ``(seed, i)``, as in a replay)."""
    from walkout.sim import simulate
    from walkout.sim.params import SimParams
    from walkout.sim.pipeline import load_aifi_scenarios, recording_seed

    for i, scenario in enumerate(load_aifi_scenarios(gt_path, store)):
        params = replace(SimParams(), start_unix_s=float(int(time.time())))
        rec, _ = simulate(scenario, store, recording_seed(seed, i), params)
        yield rec


DEMO_MANAGER_EMAIL = "manager@demo.walkout.invalid"
DEMO_MANAGER_PASSWORD = "walkout-demo"  # a public demo credential, like the demo accounts


@dataclass
class LiveDemo:
    """A running live demo (see :func:`start_live_demo`); :meth:`close` stops everything."""

    url: str
    transport: str
    db: Database
    bus: LiveBus
    store_side: LiveStore
    device: tuple[str, str]
    publisher_transport: Transport
    _closers: list[Any] = field(default_factory=list)

    def close(self) -> None:
        for close in reversed(self._closers):
            try:
                close()
            except Exception:  # noqa: BLE001 - shut everything down even if one part fails
                log.exception("closing the live demo")
        self._closers.clear()


def start_live_demo(store: Store, out: Path, *, host: str = "127.0.0.1", port: int = 8000,
                    use_mosquitto: bool = True, tick_s: float = 0.1, db_url: str | None = None) -> LiveDemo:
    """Start the live store: database, broker, ingest + live engine, REST + WebSocket server.

    Nothing is published yet: call :func:`publish_days` with ``demo.publisher_transport`` (the
    simulator's devices) or let devices publish. The database is a fresh SQLite file in ``out``
    unless ``db_url`` is given; the demo accounts have cards, a manager account exists
    (:data:`DEMO_MANAGER_EMAIL` / :data:`DEMO_MANAGER_PASSWORD`) and the simulator's device has a
    token. Receipt e-mails go to the Maildir ``out/mail``.

    Raises:
        OSError: the port is taken or ``out`` cannot be written.
    """
    import uvicorn

    from walkout.io.mail import MaildirSender
    from walkout.replay import open_database
    from walkout.service import Settings, create_app
    from walkout.service.auth import Passwords, account_by_email, create_device, create_manager, verify_device
    from walkout.service.live import make_router

    out.mkdir(parents=True, exist_ok=True)
    if db_url is None:
        (out / "live.db").unlink(missing_ok=True)
        db_url = f"sqlite:///{out / 'live.db'}"
    db = open_database(db_url)
    closers: list[Any] = [db.dispose]
    settings = Settings(db_url=db_url, store=store)
    if account_by_email(db, DEMO_MANAGER_EMAIL) is None:
        create_manager(db, Passwords(settings.password_hash), email=DEMO_MANAGER_EMAIL,
                       password=DEMO_MANAGER_PASSWORD, name="Demo manager")
    device = create_device(db, "plates")
    bus = LiveBus()
    app = create_app(settings, extra_routers=[lambda ctx: make_router(bus, ctx.authenticate)])
    transports = transport_for(use_mosquitto)
    pub, sub, description = transports.__enter__()
    closers.append(lambda: transports.__exit__(None, None, None))
    side = LiveStore(store, db, bus, sub, lambda d, t: verify_device(db, d, t), MaildirSender(out / "mail"),
                     tick_s=tick_s).start()
    closers.append(side.stop)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, name="walkout-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20.0
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            for close in reversed(closers):
                close()
            raise OSError(f"the server did not start on http://{host}:{port} (is the port taken?)")
        time.sleep(0.05)

    def stop_server() -> None:
        server.should_exit = True
        thread.join(timeout=10.0)

    closers.append(stop_server)
    return LiveDemo(f"http://{host}:{port}", description, db, bus, side, device, pub, closers)
