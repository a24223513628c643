"""``walkout serve``: refusals (one ``error:`` line, exit 2) and a real server on a free port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from walkout.cli import app
from walkout.engine.db import Database

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--db", "sqlite://"], "in-memory SQLite"),
        (["--db", "not a url"], "is not a database URL"),
        (["--manager-email", "boss@example.com"], "go together"),
        (["--static-dir", "/no/such/dir"], "no such directory"),
        (["--manager-email", "boss@example.com", "--manager-password", "short"], "password must be"),
    ],
)
def test_serve_refuses_bad_options(tmp_path, args, message):
    if "--db" not in args:
        args = ["--db", f"sqlite:///{tmp_path / 'w.db'}", *args]
    result = runner.invoke(app, ["serve", "--port", "1", *args], env={"WALKOUT_MANAGER_PASSWORD": ""})
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in result.output, result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``walkout serve`` in a subprocess (started by the test, stopped by it): its URL and, once
    stopped, its output."""

    def __init__(self, db: Path, *extra: str) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.args = [
            sys.executable,
            "-m",
            "walkout.cli",
            "serve",
            "--db",
            f"sqlite:///{db}",
            "--port",
            str(self.port),
            *extra,
        ]
        self.output = ""

    def __enter__(self) -> Server:
        env = {**os.environ, "WALKOUT_MANAGER_PASSWORD": "manager password"}
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                self.__exit__()
                pytest.fail(f"walkout serve exited: {self.output}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base}/api/health", timeout=1).status_code == 200:
                    return self
            if time.monotonic() > deadline:
                self.__exit__()
                pytest.fail(f"walkout serve did not come up: {self.output}")
            time.sleep(0.1)

    def __exit__(self, *_exc: object) -> None:
        self.proc.terminate()
        self.output = self.proc.communicate(timeout=20)[0]


def test_serve_migrates_seeds_and_creates_the_manager_once(tmp_path):
    db = tmp_path / "walkout.db"
    with Server(db, "--manager-email", "Boss@Example.com") as first:
        token = httpx.post(
            f"{first.base}/api/auth/login", json={"email": "boss@example.com", "password": "manager password"}
        ).json()["token"]
        me = httpx.get(f"{first.base}/api/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert me["role"] == "manager"
        sessions = httpx.get(f"{first.base}/api/sessions", headers={"Authorization": f"Bearer {token}"})
        assert sessions.status_code == 200 and sessions.json() == []
    assert "created" in first.output
    with Server(db, "--manager-email", "boss@example.com") as second:
        assert httpx.get(f"{second.base}/api/health").json()["ok"]
    assert "already exists" in second.output
    with Database(f"sqlite:///{db}") as database:
        assert database.account("demo-000") is not None  # the demo accounts were seeded
