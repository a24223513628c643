"""A throwaway Mosquitto broker for the MQTT tests (fixture ``mosquitto``, used by tests/io/conftest.py).

The broker is :class:`walkout.io.mqtt.broker.MosquittoBroker` (the live demo starts the same
one): Debian's ``/usr/sbin/mosquitto`` on a free loopback port with the config
``listener PORT 127.0.0.1`` / ``allow_anonymous true`` / ``persistence false``, started once per
session on first use, waited for until it accepts connections, and stopped at the end whether the
tests passed or not (and at interpreter exit, should the teardown never run).

If the binary is missing, the requesting tests fail with an install hint; with
``WALKOUT_TEST_NO_MQTT=1`` in the environment they are skipped instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from walkout.io.mqtt import BrokerUnavailable
from walkout.io.mqtt.broker import INSTALL_HINT, MOSQUITTO, MosquittoBroker, find_mosquitto

NO_MQTT_ENV = "WALKOUT_TEST_NO_MQTT"


def require_mosquitto(binary: str | None) -> str:
    """``binary``, or fail the test with the install hint (skip it when ``WALKOUT_TEST_NO_MQTT=1``)."""
    if os.environ.get(NO_MQTT_ENV) == "1":
        pytest.skip(f"{NO_MQTT_ENV}=1: the MQTT broker tests are switched off")
    if binary is None:
        pytest.fail(
            f"The MQTT tests start their own Mosquitto broker, and mosquitto is not found at {MOSQUITTO} nor on PATH. "
            f"{INSTALL_HINT}. To skip these tests, set {NO_MQTT_ENV}=1.",
            pytrace=False,
        )
    return binary


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[MosquittoBroker]:
    """A Mosquitto broker for the whole session on a free loopback port, stopped at the end."""
    binary = require_mosquitto(find_mosquitto())
    try:
        broker = MosquittoBroker(binary).start()
    except BrokerUnavailable as exc:
        pytest.fail(f"cannot start Mosquitto: {exc}", pytrace=False)
    try:
        yield broker
    finally:
        broker.stop()
