"""A throwaway PostgreSQL server for the storage tests, started from the installed binaries.

Every storage test runs on SQLite and on a real PostgreSQL (``db_url`` in ``tests/conftest.py``).
This module starts that server itself, once per test session and only when a PostgreSQL test
runs:

1. find the server binaries: ``pg_config --bindir``, else the newest
   ``/usr/lib/postgresql/<major>/bin`` (Debian's ``postgresql`` package);
2. ``initdb`` a fresh cluster into a new temporary directory (in /dev/shm when it has room: a
   database is created there 20 times faster than on disk): trust authentication, superuser
   ``postgres``, UTF-8 with the C locale (byte order, as SQLite sorts text), ``--no-sync``;
3. ``pg_ctl start`` it on a free loopback port, its Unix socket in the same directory, with
   durability off (``fsync``, ``full_page_writes``, ``synchronous_commit``): the cluster is
   thrown away, so a crash loses nothing worth keeping;
4. at the end of the session ``pg_ctl -m immediate stop`` and delete the directory, whether the
   tests passed or not (and at interpreter exit, should the fixture's teardown never run).

PostgreSQL refuses to run as root. When the tests run as root (CI does), the directory is handed
to the ``postgres`` system user that Debian's package creates, and ``initdb`` and ``pg_ctl`` run
as that user through ``runuser -u postgres --``; otherwise they run as the current user.
pytest-postgresql is not used because it runs ``pg_ctl`` as the current user and has no option to
run it as another one, so it cannot start a server as root.

Each test gets its own database (``CREATE DATABASE walkout_<n>``, dropped afterwards with
``WITH (FORCE)`` so a connection the test leaked cannot keep it alive).

Fixtures (imported into ``tests/conftest.py``):
    postgres_server: session-scoped :class:`PostgresServer`.
    postgres_url: a fresh, empty database for one test; its SQLAlchemy URL
        (``postgresql+psycopg://postgres@127.0.0.1:<port>/walkout_<n>``).

If the binaries are missing, the PostgreSQL tests fail with an install hint; with
``WALKOUT_TEST_NO_PG=1`` in the environment they are skipped instead.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import itertools
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

STORAGE_BACKENDS = ("sqlite", "postgresql")  # what the storage tests run on (db_backend's params)
NO_PG_ENV = "WALKOUT_TEST_NO_PG"
INSTALL_HINT = (
    "The storage tests start their own PostgreSQL server and need its binaries (initdb, pg_ctl, "
    "postgres). On Debian/Ubuntu: apt-get install -y --no-install-recommends postgresql "
    f"(or put pg_config of a PostgreSQL server installation on PATH). To skip the PostgreSQL tests, set {NO_PG_ENV}=1."
)
INITDB_OPTIONS = ("--no-sync", "-E", "UTF8", "--locale=C")
SERVER_SETTINGS = ("listen_addresses=127.0.0.1", "fsync=off", "full_page_writes=off", "synchronous_commit=off")
TIMEOUT_S = 60
SHM_MIN_FREE_BYTES = 1 << 30


class PostgresUnavailable(RuntimeError):
    """The server cannot be started here (binaries or the ``postgres`` user missing, or a start failed)."""


def find_bindir() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or None if there is none.

    ``pg_config --bindir`` first (it may belong to a client-only installation, so the server
    binaries are checked), then the newest major version under ``/usr/lib/postgresql``.
    """
    candidates: list[Path] = []
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10, check=True)
        candidates.append(Path(out.stdout.strip()))
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += [Path(p) for p in sorted(versions, key=_major_version, reverse=True)]
    for bindir in candidates:
        if all(os.access(bindir / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return bindir
    return None


def _major_version(bindir: str) -> tuple[int, str]:
    name = Path(bindir).parent.name  # /usr/lib/postgresql/15/bin -> "15"
    return (int(name), name) if name.isdigit() else (-1, name)


def _scratch_parent() -> str | None:
    """Where the cluster goes: /dev/shm (memory) when it has room, else the default temp directory.

    On this project's machines ``CREATE DATABASE`` takes ~10 ms in memory against ~250 ms on disk,
    even with fsync off, and every PostgreSQL test creates one. The room check keeps small
    /dev/shm mounts (64 MiB in a default Docker container) out.
    """
    shm = "/dev/shm"
    with contextlib.suppress(OSError):
        if os.access(shm, os.W_OK | os.X_OK) and shutil.disk_usage(shm).free >= SHM_MIN_FREE_BYTES:
            return shm
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """A PostgreSQL cluster in a temporary directory, served on a free loopback port.

    Args:
        bindir: the directory of ``initdb`` and ``pg_ctl`` (see :func:`find_bindir`).

    Attributes:
        host: always ``127.0.0.1``.
        port: the TCP port, chosen when :meth:`start` runs.
        base: the temporary directory (``data/`` cluster, ``server.log``, the Unix socket).

    Use :meth:`start` and :meth:`stop` (idempotent), or ``with PostgresServer(bindir) as server``.
    """

    host = "127.0.0.1"
    user = "postgres"

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = 0
        self.base: Path | None = None
        self._as_postgres = os.geteuid() == 0
        self._names = itertools.count(1)
        self._admin = None  # psycopg connection to the maintenance database, autocommit

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # ---- lifecycle ----
    def start(self, attempts: int = 3) -> PostgresServer:
        """Create the cluster and start the server; retries on another port if the chosen one was taken.

        Raises:
            PostgresUnavailable: with the command's output and the server log.
        """
        self.base = Path(tempfile.mkdtemp(prefix="walkout-pg-", dir=_scratch_parent()))
        if self._as_postgres:
            try:
                shutil.chown(self.base, user=self.user)
            except (LookupError, OSError) as exc:
                self.stop()
                raise PostgresUnavailable(
                    f"running as root, PostgreSQL must run as the '{self.user}' system user, which is "
                    f"missing ({exc}); installing Debian's postgresql package creates it"
                ) from exc
        try:
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", self.user, *INITDB_OPTIONS)
            wait = ("-w", "-t", str(TIMEOUT_S))
            for attempt in range(attempts):
                self.port = _free_port()
                options = ["-p", str(self.port), "-k", str(self.base)]
                for setting in SERVER_SETTINGS:
                    options += ["-c", setting]
                try:
                    self._run(
                        "pg_ctl", "-D", str(self.data), "-l", str(self.log), *wait, "-o", shlex.join(options), "start"
                    )
                    break
                except PostgresUnavailable as exc:  # retry only when another process took the port
                    if attempt == attempts - 1 or "already in use" not in str(exc):
                        raise
        except BaseException:
            self.stop()
            raise
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        """Stop the server (immediate shutdown) and delete its directory; a no-op when not started."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if self.base is None:
            return
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(PostgresUnavailable):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.base, ignore_errors=True)
        self.base = None

    @property
    def data(self) -> Path:
        assert self.base is not None, "the server is not started"
        return self.base / "data"

    @property
    def log(self) -> Path:
        assert self.base is not None, "the server is not started"
        return self.base / "server.log"

    def _run(self, tool: str, *args: str) -> None:
        """Run a PostgreSQL tool from ``bindir`` (as the ``postgres`` user when we are root)."""
        command = [str(self.bindir / tool), *args]
        if self._as_postgres:
            command = ["runuser", "-u", self.user, "--", *command]
        try:
            # cwd: the postgres user may not be allowed into the caller's working directory
            done = subprocess.run(command, cwd=self.base, capture_output=True, text=True, timeout=TIMEOUT_S + 30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PostgresUnavailable(f"{shlex.join(command)} failed: {exc}") from exc
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise PostgresUnavailable(
                f"{shlex.join(command)} exited with {done.returncode}:\n{done.stdout}{done.stderr}"
                + (f"\nserver log:\n{log}" if log else "")
            )

    # ---- databases ----
    def url(self, dbname: str) -> str:
        """The SQLAlchemy URL of database ``dbname`` on this server (psycopg 3 driver)."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def _execute(self, sql: str) -> None:
        import psycopg  # only the PostgreSQL tests need the driver

        if self._admin is None:
            self._admin = psycopg.connect(
                host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True
            )
        self._admin.execute(sql)

    def create_database(self) -> str:
        """Create a new, empty database; returns its name (``walkout_<n>``)."""
        name = f"walkout_{next(self._names)}"
        self._execute(f"CREATE DATABASE {name}")
        return name

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, closing any connection still open on it."""
        self._execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        """A fresh database for the block; yields its URL and drops it when the block ends."""
        name = self.create_database()
        try:
            yield self.url(name)
        finally:
            self.drop_database(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session, started on first use and stopped at the end.

    Fails the requesting tests with an install hint when no binaries are found; skips them when
    ``WALKOUT_TEST_NO_PG=1``.
    """
    if os.environ.get(NO_PG_ENV) == "1":
        pytest.skip(f"{NO_PG_ENV}=1: the PostgreSQL storage tests are switched off")
    bindir = find_bindir()
    if bindir is None:
        pytest.fail(f"PostgreSQL server binaries not found. {INSTALL_HINT}", pytrace=False)
    try:
        server = PostgresServer(bindir).start()
    except PostgresUnavailable as exc:
        pytest.fail(f"cannot start PostgreSQL from {bindir}: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; yields its SQLAlchemy URL, drops it afterwards."""
    with postgres_server.database() as url:
        yield url
