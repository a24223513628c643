"""Migration 0003 (sign-in tables, the manager role) and its constraints, on SQLite and PostgreSQL.

(The no-drift check against the models is tests/engine/test_db_migrations.py.)
"""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select

from walkout.core.errors import StorageError
from walkout.engine.db import Database
from walkout.engine.db.models import AccountRow
from walkout.engine.db.models_auth import ApiTokenRow, CredentialRow, DeviceRow

AUTH_TABLES = {"credentials", "api_tokens", "devices"}


@pytest.fixture
def db(db_url):
    database = Database(db_url)
    database.upgrade()
    with database.transaction("seed") as s:
        s.add(AccountRow(account_id="m-1", name="M", email="m@example.com", token="t-m", role="manager"))
        s.add(DeviceRow(device_id="gate-1", kind="gate", token_hash="0" * 64))
    yield database
    database.dispose()


@pytest.mark.parametrize(
    ("row", "constraint"),
    [
        (lambda: AccountRow(account_id="x", name="X", email="x@e.com", token="t-x", role="owner"), "role"),
        (lambda: CredentialRow(account_id="m-1", email="M@Example.com", password_hash="h"), "email_lower"),
        (lambda: ApiTokenRow(token_hash="1" * 64, account_id="m-1", role="device"), "principal"),
        (lambda: ApiTokenRow(token_hash="2" * 64, device_id="gate-1", role="manager"), "principal"),
        (lambda: ApiTokenRow(token_hash="3" * 64, account_id="m-1", device_id="gate-1", role="manager"), "principal"),
        (lambda: ApiTokenRow(token_hash="4" * 64, account_id="m-1", role="root"), "role"),
        (lambda: DeviceRow(device_id="d", kind="toaster", token_hash="5" * 64), "kind"),
    ],
)
def test_constraints_refuse_inconsistent_rows(db, row, constraint):
    with pytest.raises(StorageError, match=constraint), db.transaction("insert") as s:
        s.add(row())


def test_consistent_rows_are_accepted(db):
    with db.transaction("insert") as s:
        s.add(CredentialRow(account_id="m-1", email="m@example.com", password_hash="$argon2id$..."))
        s.add(ApiTokenRow(token_hash="a" * 64, account_id="m-1", role="manager"))
        s.add(ApiTokenRow(token_hash="b" * 64, device_id="gate-1", role="device"))
    assert db.account("m-1").role == "manager"


def test_downgrade_demotes_managers_and_drops_the_sign_in_tables(db):
    db.downgrade("0002")
    assert not AUTH_TABLES & set(inspect(db.engine).get_table_names())
    with db.transaction("read") as s:
        assert s.scalar(select(AccountRow.role).where(AccountRow.account_id == "m-1")) == "associate"
    with pytest.raises(StorageError, match="role"), db.transaction("insert") as s:
        s.add(AccountRow(account_id="m-2", name="M", email="m2@example.com", token="t-m2", role="manager"))
    db.upgrade()
    assert set(inspect(db.engine).get_table_names()) >= AUTH_TABLES
