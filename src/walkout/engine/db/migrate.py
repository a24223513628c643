"""Engine construction and programmatic Alembic migrations for the walkout database.

The Alembic environment ships inside the package (``migrations/``), so an installed walkout can
migrate any database without a checkout: :func:`alembic_config` points ``script_location`` at it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

MIGRATIONS_DIR = Path(str(resources.files("walkout.engine.db") / "migrations"))


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create a SQLAlchemy engine for ``url`` with walkout's connection settings.

    JSON documents are serialised with ``allow_nan=False`` (NaN is not JSON and PostgreSQL refuses
    it). For SQLite, foreign keys are enforced (``PRAGMA foreign_keys=ON``) and SQLAlchemy emits
    ``BEGIN IMMEDIATE`` itself instead of the sqlite3 driver's legacy transaction control, so each
    transaction, reads included, is serializable and DDL is transactional (the recipe of
    SQLAlchemy's SQLite dialect documentation, "Enabling Non-Legacy SQLite Transactional Modes").

    Args:
        url: any SQLAlchemy URL, e.g. ``sqlite:///walkout.db``, ``sqlite://`` (in memory) or
            ``postgresql+psycopg://user:pw@host/db``.
        echo: log every SQL statement (debugging).

    Raises:
        sqlalchemy.exc.ArgumentError: if the URL cannot be parsed.
    """
    engine = create_engine(url, echo=echo, json_serializer=partial(json.dumps, allow_nan=False))
    if make_url(url).get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # the driver stops emitting BEGIN; _sqlite_begin does
    dbapi_connection.execute("PRAGMA foreign_keys=ON")


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` for the packaged migrations, without reading any ini file.

    Args:
        connection: if given, ``env.py`` runs the migrations on this connection (and its open
            transaction) instead of creating its own engine.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest revision id of the packaged migrations."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the packaged migrations have no head revision"
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database behind ``connection`` is at (None if never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def run_migration(engine: Engine, direction: str, revision: str) -> None:
    """Upgrade or downgrade the database of ``engine`` to ``revision`` in one transaction.

    Raises:
        ValueError: if ``direction`` is not "upgrade" or "downgrade", or the foreign-key check
            of :func:`migration_connection` fails (the migration is rolled back).
        sqlalchemy.exc.SQLAlchemyError, alembic.util.CommandError: on database or script errors.
    """
    step = {"upgrade": command.upgrade, "downgrade": command.downgrade}.get(direction)
    if step is None:
        raise ValueError(f"direction must be 'upgrade' or 'downgrade', got {direction!r}")
    with migration_connection(engine) as conn:
        step(alembic_config(conn), revision)


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside one transaction for running migrations; commits when the block ends.

    On SQLite, foreign-key enforcement is switched off for the migration (it cannot change inside
    a transaction, and Alembic's batch mode recreates tables), ``PRAGMA foreign_key_check`` must
    come back empty before the commit, and enforcement is switched back on afterwards.

    Raises:
        ValueError: if the foreign-key check finds dangling references (rolled back).
    """
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        if sqlite and raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                yield conn
                if sqlite:
                    dangling = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if dangling:
                        raise ValueError(f"foreign key check failed after migration: {dangling[:5]}")
        finally:
            if sqlite and raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")
