"""Shared fixtures."""

from __future__ import annotations

import pytest

from walkout.core.store import Store
from walkout.io import load_embedded_store


@pytest.fixture(scope="session")
def store() -> Store:
    """The embedded real AiFi Nanostore."""
    return load_embedded_store()
