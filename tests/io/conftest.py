"""Fixtures of the io tests: a throwaway Mosquitto broker (tests/mosquitto.py)."""

from mosquitto import mosquitto  # noqa: F401 - the fixture serves the MQTT tests
