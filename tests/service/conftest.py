"""Fixtures of the REST service tests: a populated store per backend, or a fresh app per test.

``world`` is module-scoped (built once per backend and module: sign-ups, receipts, disputes,
devices); ``api`` is a fresh migrated database and app for one test, on each backend.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from service_world import World, build_world, settings

from pg import STORAGE_BACKENDS
from walkout.core.store import Store
from walkout.engine.db import Database
from walkout.service import create_app


@pytest.fixture(scope="module", params=STORAGE_BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, store: Store) -> Iterator[World]:
    """The populated store of service_world.py on each backend, shared by a module's tests."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('svc') / 'walkout.db'}"
        else:
            url = stack.enter_context(request.getfixturevalue("postgres_server").database())
        w, close = build_world(url, store)
        stack.callback(close)
        yield w


@dataclass
class Api:
    """A fresh migrated database and a client of an app on it."""

    db: Database
    client: TestClient
    url: str


@pytest.fixture
def api(db_url: str, store: Store) -> Iterator[Api]:
    db = Database(db_url)
    db.upgrade()
    with TestClient(create_app(settings(db_url, store))) as client:
        yield Api(db, client, db_url)
    db.dispose()
