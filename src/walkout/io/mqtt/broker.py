"""A private Mosquitto broker on a free loopback port (the live demo and the tests start one).

:class:`MosquittoBroker` writes a config into a new temporary directory::

    listener <PORT> 127.0.0.1
    allow_anonymous true
    persistence false

starts ``mosquitto -c <config>`` (Debian's ``/usr/sbin/mosquitto``, else the one on PATH) on a
free port, retrying on another port if the chosen one was taken meanwhile, and waits until the
port accepts TCP connections. :meth:`~MosquittoBroker.stop` terminates it (kill after 5 s) and
deletes the directory, also at interpreter exit. As root, Mosquitto drops to its ``mosquitto``
system user after reading the config; it needs no file after that (no persistence, logs to
stderr, which goes to ``mosquitto.log`` in the directory).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from walkout.io.mqtt.transport import BrokerUnavailable

MOSQUITTO = "/usr/sbin/mosquitto"
INSTALL_HINT = "On Debian/Ubuntu: apt-get install -y --no-install-recommends mosquitto"
START_TIMEOUT_S = 10.0


def find_mosquitto(default: str = MOSQUITTO) -> str | None:
    """Path of the ``mosquitto`` binary: ``default`` if executable, else the one on PATH, else None."""
    if os.access(default, os.X_OK):
        return default
    return shutil.which("mosquitto")


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class MosquittoBroker:
    """A Mosquitto process on a free loopback port; use :meth:`start` / :meth:`stop` or ``with``.

    Args:
        binary: the ``mosquitto`` executable (default: :func:`find_mosquitto`).
        extra_config: further config lines (e.g. ``"max_queued_messages 0"``).

    Attributes:
        host: ``127.0.0.1``.
        port: the TCP port (set by :meth:`start`).
        base: the temporary directory (``mosquitto.conf``, ``mosquitto.log``), None when stopped.
    """

    host = "127.0.0.1"

    def __init__(self, binary: str | None = None, extra_config: tuple[str, ...] = ()) -> None:
        self.binary = binary
        self.extra_config = extra_config
        self.port = 0
        self.base: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MosquittoBroker:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self, attempts: int = 3) -> MosquittoBroker:
        """Start the broker and wait until it accepts connections; returns self.

        Raises:
            BrokerUnavailable: Mosquitto is not installed (with the install hint), or it exited
                or did not listen within 10 s (with its log).
        """
        binary = self.binary or find_mosquitto()
        if binary is None:
            raise BrokerUnavailable(f"mosquitto not found at {MOSQUITTO} nor on PATH. {INSTALL_HINT}")
        self.binary = binary
        self.base = Path(tempfile.mkdtemp(prefix="walkout-mqtt-"))
        atexit.register(self.stop)
        try:
            for attempt in range(attempts):
                try:
                    self._launch(binary)
                    return self
                except BrokerUnavailable as exc:
                    self._kill()
                    if attempt == attempts - 1 or "in use" not in str(exc).lower():
                        raise
        except BaseException:
            self.stop()
            raise
        return self

    def _launch(self, binary: str) -> None:
        assert self.base is not None
        self.port = _free_port(self.host)
        conf = self.base / "mosquitto.conf"
        lines = (f"listener {self.port} {self.host}", "allow_anonymous true", "persistence false", *self.extra_config)
        conf.write_text("".join(line + "\n" for line in lines))
        with (self.base / "mosquitto.log").open("wb") as out:
            try:
                self._proc = subprocess.Popen(
                    [binary, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
            except OSError as exc:
                raise BrokerUnavailable(f"cannot run {binary} ({exc}). {INSTALL_HINT}") from exc
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise BrokerUnavailable(f"{binary} exited with {self._proc.returncode}:\n{self.log_text()}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=0.2):
                return
            time.sleep(0.02)
        raise BrokerUnavailable(
            f"{binary} did not listen on port {self.port} in {START_TIMEOUT_S:g} s:\n{self.log_text()}"
        )

    def log_text(self) -> str:
        """The broker's log so far (its last 3000 characters)."""
        path = self.base / "mosquitto.log" if self.base is not None else None
        return path.read_text(errors="replace")[-3000:] if path is not None and path.exists() else ""

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def stop(self) -> None:
        """Stop the broker and delete its directory; a no-op when not started."""
        self._kill()
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None
