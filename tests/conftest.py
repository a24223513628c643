"""Shared fixtures."""

from __future__ import annotations

import pytest

from pg import STORAGE_BACKENDS, postgres_server, postgres_url  # noqa: F401 - the fixtures serve every test
from walkout.core.store import Store
from walkout.io import load_embedded_store


@pytest.fixture(scope="session")
def store() -> Store:
    """The embedded real AiFi Nanostore."""
    return load_embedded_store()


@pytest.fixture(params=STORAGE_BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    """The storage backend a test runs on, ``"sqlite"`` or ``"postgresql"`` (also its test id).

    Requesting ``db_url`` (or this fixture) runs a test once per backend.
    """
    return str(request.param)


@pytest.fixture
def db_url(db_backend: str, request: pytest.FixtureRequest, tmp_path) -> str:
    """The URL of a fresh, empty database on ``db_backend``, for one test.

    SQLite: ``sqlite:///<tmp_path>/walkout.db``. PostgreSQL: a new database on the session's
    server (tests/pg.py), dropped after the test; the server starts on first use. Pass the URL to
    ``walkout.engine.db.Database`` and call ``upgrade()``; dispose of the engine when done.
    """
    if db_backend == "sqlite":
        return f"sqlite:///{tmp_path / 'walkout.db'}"
    return str(request.getfixturevalue("postgres_url"))
