"""Live push: the event bus between the live engine and the browsers, and its WebSocket routes.

The live engine (any thread) calls :meth:`LiveBus.publish` with a JSON-ready message; every
WebSocket subscriber whose filter accepts it receives it. Message types (``"type"``), documented
with their fields in docs/api.md ("Live messages"):

``hello``, ``people`` (tracked persons with hands, ~5 Hz), ``shelf_event``, ``cart``,
``session``, ``receipt``, ``scan``, ``review``, ``stock``, ``health``, ``latency``, ``day``
(a replayed recording starts or ends).

Routes: ``/ws/live?token=<bearer>`` (managers and associates: everything) and
``/ws/me?token=<bearer>`` (a customer: the ``cart``, ``session`` and ``receipt`` messages of
their own account). A bad or missing token closes the socket with code 4401, a wrong role with
4403 (RFC 6455 leaves 4000-4999 to applications).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

Message = dict[str, Any]
#: message types a customer may receive about their own account
CUSTOMER_TYPES = frozenset({"cart", "session", "receipt"})
#: message types kept for a browser that connects late (the newest of each key)
_STICKY = frozenset({"people", "health", "latency", "day"})


class Principal(Protocol):
    """Who is connecting (the service's auth principal, :class:`walkout.service.auth.Principal`)."""

    @property
    def role(self) -> str: ...

    @property
    def account_id(self) -> str | None: ...


@dataclass
class _Subscriber:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Message]
    accept: Callable[[Message], bool]


@dataclass
class LiveBus:
    """Thread-safe fan-out of live messages to asyncio subscribers.

    Attributes:
        history: how many recent messages (shelf events, carts, sessions, scans, ...) a late
            subscriber receives first; the newest ``people``/``health``/``latency``/``day`` are
            always replayed.
        max_queue: a subscriber that falls this far behind loses its oldest messages (a slow
            browser never slows the engine).
    """

    history: int = 200
    max_queue: int = 1000
    _subs: list[_Subscriber] = field(default_factory=list)
    _recent: deque[Message] = field(default_factory=deque)
    _sticky: dict[str, Message] = field(default_factory=dict)
    _sessions: dict[str, Message] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    published: int = 0

    def publish(self, message: Message) -> None:
        """Send ``message`` (a JSON-ready dict with a ``type``) to every subscriber that accepts it.

        Stamps ``sent_unix_s`` (wall clock) for latency measurements. Safe from any thread.
        """
        msg = {**message, "sent_unix_s": time.time()}
        with self._lock:
            self.published += 1
            kind = str(msg.get("type", ""))
            if kind in _STICKY:
                self._sticky[kind] = msg
            else:
                self._recent.append(msg)
                while len(self._recent) > self.history:
                    self._recent.popleft()
            if kind == "session" and "session_id" in msg:
                self._sessions[str(msg["session_id"])] = msg
            subs = list(self._subs)
        for sub in subs:
            if sub.accept(msg):
                sub.loop.call_soon_threadsafe(_offer, sub.queue, msg, self.max_queue)

    def subscribe(self, accept: Callable[[Message], bool]) -> _Subscriber:
        """Register a subscriber on the running event loop; it first gets the replayed state."""
        sub = _Subscriber(asyncio.get_running_loop(), asyncio.Queue(), accept)
        with self._lock:
            backlog = [*self._sessions.values(), *self._recent, *self._sticky.values()]
            self._subs.append(sub)
        for msg in backlog:
            if accept(msg):
                _offer(sub.queue, msg, self.max_queue)
        return sub

    def unsubscribe(self, sub: _Subscriber) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def sessions(self) -> list[Message]:
        """The newest ``session`` message of every session seen."""
        with self._lock:
            return list(self._sessions.values())


def _offer(queue: asyncio.Queue[Message], msg: Message, limit: int) -> None:
    while queue.qsize() >= limit:
        queue.get_nowait()
    queue.put_nowait(msg)


def make_router(bus: LiveBus, authenticate: Callable[[str], Principal | None]) -> APIRouter:
    """The WebSocket routes over ``bus``; ``authenticate(bearer token)`` gives the principal or None."""
    router = APIRouter()

    async def pump(ws: WebSocket, accept: Callable[[Message], bool]) -> None:
        """Send the subscriber's messages until the browser goes away (a receive loop runs beside
        the send loop so a closed tab unsubscribes at once, and a server shutdown is not held up)."""
        await ws.accept()
        sub = bus.subscribe(accept)
        try:
            async with anyio.create_task_group() as tg:

                async def send() -> None:
                    await ws.send_json({"type": "hello", "t_unix_s": time.time()})
                    while True:
                        await ws.send_json(await sub.queue.get())

                async def receive() -> None:
                    while (await ws.receive()).get("type") != "websocket.disconnect":
                        pass
                    tg.cancel_scope.cancel()

                tg.start_soon(send)
                tg.start_soon(receive)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the browser went away while a message was being sent
        finally:
            bus.unsubscribe(sub)

    async def admit(ws: WebSocket, token: str, roles: tuple[str, ...]) -> Principal | None:
        """The principal behind ``token`` if it has one of ``roles``; else the socket is closed."""
        who = authenticate(token)
        if who is None or who.role not in roles or (who.role == "customer" and who.account_id is None):
            await ws.close(code=4401 if who is None else 4403)
            return None
        return who

    @router.websocket("/ws/live")
    async def live(ws: WebSocket, token: str = "") -> None:
        if await admit(ws, token, ("manager", "associate")) is not None:
            await pump(ws, lambda m: True)

    @router.websocket("/ws/me")
    async def me(ws: WebSocket, token: str = "") -> None:
        who = await admit(ws, token, ("customer",))
        if who is not None:
            account = who.account_id
            await pump(ws, lambda m: m.get("type") in CUSTOMER_TYPES and m.get("account_id") == account)

    return router
