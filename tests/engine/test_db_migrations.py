"""The packaged Alembic migrations: upgrade, downgrade, and no drift between migrations and models."""

from __future__ import annotations

import io
from importlib import resources

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, Table, inspect

from walkout.core.errors import StorageError
from walkout.engine.db import Database, head_revision
from walkout.engine.db.migrate import alembic_config
from walkout.engine.db.models import Base

TABLES = {
    "accounts",
    "sessions",
    "cart_lines",
    "receipts",
    "receipt_lines",
    "plate_stock",
    "review_items",
    "shelf_events",
    "session_members",
    "entry_scans",
    "used_entry_tokens",
    "payment_methods",
    "ledger_entries",
    "payments",
    "disputes",
    "outbox_messages",
    "stock_movements",
    "product_settings",
    "stock_alerts",
    "credentials",
    "api_tokens",
    "devices",
}


def _diffs(db: Database, metadata: MetaData) -> list[object]:
    with db.engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))


@pytest.fixture
def db(db_url):
    """An empty database on each backend (``db_url``, tests/conftest.py), not migrated yet."""
    database = Database(db_url)
    yield database
    database.dispose()


def test_upgrade_creates_every_table_at_head(db):
    assert db.revision() is None
    db.upgrade()
    assert db.revision() == head_revision() == "0003"
    assert set(inspect(db.engine).get_table_names()) == TABLES | {"alembic_version"}
    assert set(Base.metadata.tables) == TABLES


def test_schema_after_upgrade_matches_models(db):
    db.upgrade()
    assert _diffs(db, Base.metadata) == []


def test_drift_check_detects_a_model_change(db):
    """The no-drift check is live: a model the migrations do not know shows up as a difference."""
    db.upgrade()
    drifted = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(drifted)
    Table("plate_calibration", drifted, Column("plate_id", Integer, primary_key=True))
    diffs = _diffs(db, drifted)
    assert [d[0] for d in diffs] == ["add_table"]


def test_downgrade_to_base_and_upgrade_again(db):
    db.upgrade()
    db.downgrade("base")
    assert db.revision() is None
    assert set(inspect(db.engine).get_table_names()) == {"alembic_version"}
    db.upgrade()
    assert db.revision() == head_revision()
    assert _diffs(db, Base.metadata) == []


def test_failed_upgrade_rolls_back_every_table(db):
    """DDL is transactional on SQLite too: a migration failing at its last table leaves nothing behind."""
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE shelf_events (x INTEGER)")
    with pytest.raises(StorageError, match='^upgrade: .*shelf_events"? already exists'):
        db.upgrade()
    assert db.revision() is None
    assert set(inspect(db.engine).get_table_names()) == {"shelf_events"}


def test_upgrade_refuses_to_commit_dangling_foreign_keys(tmp_path):
    """SQLite migrations run without FK enforcement, so the FK check before commit must catch orphans."""
    with Database(f"sqlite:///{tmp_path / 'walkout.db'}") as db:
        db.upgrade()
        with db.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            raw.execute("PRAGMA foreign_keys=OFF")
            raw.execute(
                "INSERT INTO sessions (session_id, account_id, recording, entry_t_s, exit_t_s, status, created_at)"
                " VALUES ('s-1', 'a-404', 'rec', 1.0, NULL, 'open', '2025-01-01')"
            )
            raw.execute("PRAGMA foreign_keys=ON")
        with pytest.raises(StorageError, match="^upgrade: foreign key check failed"):
            db.upgrade()
        assert db.revision() == head_revision()
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_upgrade_twice_is_a_no_op(db):
    db.upgrade()
    db.upgrade()
    assert db.revision() == head_revision()


def test_in_memory_url_migrates_and_keeps_the_schema():
    with Database("sqlite://") as db:
        db.upgrade()
        assert set(inspect(db.engine).get_table_names()) >= TABLES
        assert _diffs(db, Base.metadata) == []


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (lambda db: db.upgrade("no-such-revision"), "upgrade:"),
        (lambda db: db.downgrade("no-such-revision"), "downgrade:"),
    ],
)
def test_migration_errors_raise_storage_error(db, action, expected):
    with pytest.raises(StorageError, match=expected):
        action(db)


@pytest.mark.parametrize("url", ["not a url", "nosuchdialect://x"])
def test_unusable_url_raises_storage_error(url):
    with pytest.raises(StorageError, match="open: cannot use database URL"):
        Database(url)


def test_env_creates_its_own_engine_from_the_url(db_url):
    """The command-line path of env.py (no connection handed over) migrates the configured URL."""
    cfg = alembic_config()
    cfg.set_main_option("sqlalchemy.url", db_url)
    command.upgrade(cfg, "head")
    with Database(db_url) as db:
        assert db.revision() == head_revision()
        assert _diffs(db, Base.metadata) == []


def test_offline_sql_renders_for_postgresql():
    """``alembic upgrade head --sql`` for PostgreSQL: the migration uses no SQLite-only construct."""
    out = io.StringIO()
    cfg = alembic_config()
    cfg.output_buffer = out
    cfg.set_main_option("sqlalchemy.url", "postgresql://")
    command.upgrade(cfg, "head", sql=True)
    sql = out.getvalue()
    for table in TABLES:
        assert f"CREATE TABLE {table} (" in sql
    assert "SERIAL" in sql and "TIMESTAMP WITH TIME ZONE" in sql and "JSON" in sql


def test_migration_environment_ships_in_the_package():
    root = resources.files("walkout.engine.db") / "migrations"
    for name in ("alembic.ini", "env.py", "script.py.mako", "versions/0001_initial.py"):
        assert (root / name).is_file(), name
