"""Transports of the device ingest: a paho-mqtt 2 broker connection, and an in-process broker.

Both implement :class:`Transport` (``publish(topic, payload)``, ``subscribe(pattern, callback)``,
``flush``, ``close``), so :class:`~walkout.io.mqtt.MqttIngest` and the simulator's recording
publisher run unchanged with or without Mosquitto (httpx's transports are the model).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import paho.mqtt.client as mqtt

from walkout.core.errors import BrokerUnavailable

log = logging.getLogger(__name__)

MessageCallback = Callable[[str, bytes], None]


class Transport(Protocol):
    """A publish/subscribe transport: an MQTT broker connection or the in-process broker."""

    def publish(self, topic: str, payload: bytes) -> None:
        """Send one message (never blocks for long; failures are logged and counted)."""
        ...

    def subscribe(self, pattern: str, callback: MessageCallback) -> None:
        """Call ``callback(topic, payload)`` for every message matching ``pattern`` (MQTT wildcards)."""
        ...

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every published message left this process; False on timeout."""
        ...

    def close(self) -> None:
        """Disconnect; further publishes are dropped."""
        ...


def topic_matches(pattern: str, topic: str) -> bool:
    """Whether ``topic`` matches the subscription ``pattern`` (MQTT 3.1.1 ``+`` and ``#`` wildcards)."""
    pat, parts = pattern.split("/"), topic.split("/")
    for i, p in enumerate(pat):
        if p == "#":
            return not (i == 0 and topic.startswith("$"))
        if i >= len(parts) or (p != "+" and p != parts[i]) or (i == 0 and p == "+" and topic.startswith("$")):
            return False
    return len(pat) == len(parts)


def _dispatch(subs: list[tuple[str, MessageCallback]], topic: str, payload: bytes) -> None:
    for pattern, callback in subs:
        if topic_matches(pattern, topic):
            try:
                callback(topic, payload)
            except Exception:  # a subscriber's bug must not stop delivery to the others
                log.exception("MQTT subscriber of %s failed on %s", pattern, topic)


class LocalTransport:
    """The in-process broker: ``publish`` calls the matching subscribers at once, in the caller's thread."""

    def __init__(self) -> None:
        self._subs: list[tuple[str, MessageCallback]] = []
        self._lock = threading.Lock()
        self.published = 0

    def publish(self, topic: str, payload: bytes) -> None:
        with self._lock:
            subs = list(self._subs)
            self.published += 1
        _dispatch(subs, topic, bytes(payload))

    def subscribe(self, pattern: str, callback: MessageCallback) -> None:
        with self._lock:
            self._subs.append((pattern, callback))

    def flush(self, timeout_s: float = 10.0) -> bool:
        return True

    def close(self) -> None:
        with self._lock:
            self._subs.clear()


class PahoTransport:
    """An MQTT 3.1.1 connection through paho-mqtt 2 (its network thread runs the callbacks).

    Args:
        host, port: the broker.
        qos: QoS of publishes and subscriptions; 1 (default) survives a slow subscriber, which
            Mosquitto serves QoS 0 messages to by dropping them.
        client_id: MQTT client id ("" lets the broker choose).
        timeout_s: how long to wait for CONNACK and SUBACK.

    Raises:
        BrokerUnavailable: nothing listens at ``host:port``, or the broker refused us.
    """

    def __init__(self, host: str, port: int, *, qos: int = 1, client_id: str = "", timeout_s: float = 5.0) -> None:
        self.host, self.port, self.qos, self.timeout_s = host, port, qos, timeout_s
        self.failed = 0
        self._subs: list[tuple[str, MessageCallback]] = []
        self._pending: list[mqtt.MQTTMessageInfo] = []
        self._prune_at = 1000
        self._lock = threading.Lock()
        self._connected, self._subacks = threading.Event(), threading.Condition()
        self._acked: set[int] = set()
        self._refused = ""
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        c.max_queued_messages_set(0)
        c.max_inflight_messages_set(200)
        c.on_connect, c.on_subscribe, c.on_message = self._on_connect, self._on_subscribe, self._on_message
        c.on_disconnect = self._on_disconnect
        self._client = c
        try:
            c.connect(host, port, keepalive=30)
        except OSError as exc:
            raise BrokerUnavailable(f"MQTT broker {host}:{port}: cannot connect ({exc})") from exc
        c.loop_start()
        if not self._connected.wait(timeout_s) or self._refused:
            self.close()
            raise BrokerUnavailable(f"MQTT broker {host}:{port}: {self._refused or 'no CONNACK'}")

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self._refused = f"connection refused ({reason})"
        else:
            with self._lock:
                patterns = sorted({p for p, _ in self._subs})
            for p in patterns:  # after a reconnect: the broker forgot a clean session's subscriptions
                client.subscribe(p, qos=self.qos)
        self._connected.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._connected.clear()
        if reason.is_failure:
            log.warning("MQTT broker %s:%d: disconnected (%s); reconnecting", self.host, self.port, reason)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, mid: int, _r: Any, _p: Any) -> None:
        with self._subacks:
            self._acked.add(mid)
            self._subacks.notify_all()

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            subs = list(self._subs)
        _dispatch(subs, message.topic, bytes(message.payload))

    def publish(self, topic: str, payload: bytes) -> None:
        info = self._client.publish(topic, payload, qos=self.qos)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):  # NO_CONN: queued until reconnected
            self.failed += 1
            log.warning("MQTT publish on %s failed: %s", topic, mqtt.error_string(info.rc))
            return
        with self._lock:
            self._pending.append(info)
            if len(self._pending) >= self._prune_at:  # amortised: the list at most doubles between prunes
                self._pending = [i for i in self._pending if not i.is_published()]
                self._prune_at = max(1000, 2 * len(self._pending))

    def subscribe(self, pattern: str, callback: MessageCallback) -> None:
        with self._lock:
            self._subs.append((pattern, callback))
        rc, mid = self._client.subscribe(pattern, qos=self.qos)
        with self._subacks:
            ok = rc == mqtt.MQTT_ERR_SUCCESS and self._subacks.wait_for(lambda: mid in self._acked, self.timeout_s)
        if not ok:
            raise BrokerUnavailable(f"MQTT broker {self.host}:{self.port}: subscription to {pattern} not acknowledged")

    def flush(self, timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._lock:
            pending, self._pending = self._pending, []
        for info in pending:
            while not info.is_published():
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.002)
        return True

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
