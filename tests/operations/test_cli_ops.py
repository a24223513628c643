"""The store-operations commands: ``walkout purge``, ``walkout erase-account``, ``walkout inventory``.

Each runs through Typer's CliRunner on a SQLite file database; bad input prints one ``error:``
line naming the option or field and exits with code 2, never a traceback.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from ops_world import customer, shopping
from typer.testing import CliRunner

from walkout.cli import app
from walkout.engine.db import Database
from walkout.engine.db.models_ops import EntryScanRow
from walkout.operations import inventory

PEACH = "835144008984"  # Peach Rings in the embedded AiFi store
runner = CliRunner()


def invoke(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def unwrapped(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def db_file(tmp_path: Path) -> str:
    """A SQLite walkout database with a customer, an open session, an entry scan and some stock."""
    url = f"sqlite:///{tmp_path / 'walkout.db'}"
    db = Database(url)
    db.upgrade()
    customer(db, "a-1", "Ada Lovelace", "ada@example.invalid")
    customer(db, "b-2")
    shopping(db, "s-1", "b-2", {})
    with db.transaction("test scan") as s:
        s.add(EntryScanRow(recording="rec-1", gate_id="g1", t_s=1.0, account_id="a-1", code="admitted", reason="ok"))
    db.set_stock([("1.1.5", PEACH, 2), ("1.1.8", "042238312210", 8)])
    inventory.set_threshold(db, PEACH, 3)
    db.dispose()
    return url


def test_purge_prints_the_counts(db_file):
    later = (datetime.now(UTC) + timedelta(days=31)).isoformat()
    result = invoke("purge", "--db", db_file, "--now", later)
    assert result.exit_code == 0, result.output
    out = unwrapped(result.output)
    assert "entry_scans" in out and "1 rows and files deleted" in out
    again = invoke("purge", "--db", db_file, "--now", later)
    assert again.exit_code == 0 and "0 rows and files deleted" in unwrapped(again.output)


def test_erase_account_erases_once(db_file):
    result = invoke("erase-account", "a-1", "--db", db_file)
    assert result.exit_code == 0, result.output
    assert "account a-1 erased at" in unwrapped(result.output) and "1 entry_scans" in unwrapped(result.output)
    db = Database(db_file)
    account = db.account("a-1")
    db.dispose()
    assert account is not None and account.status == "erased" and account.name != "Ada Lovelace"
    again = invoke("erase-account", "a-1", "--db", db_file)
    assert again.exit_code == 0 and "already erased" in again.output


def test_inventory_lists_stock_and_low_stock(db_file):
    result = invoke("inventory", "--db", db_file)
    assert result.exit_code == 0, result.output
    assert PEACH in result.output and "Peach Rings" in result.output and "042238312210" in result.output
    low = invoke("inventory", "--db", db_file, "--low")
    assert low.exit_code == 0 and PEACH in low.output and "042238312210" not in low.output
    assert "1 product(s)" in low.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("purge", "--db", "{db}", "--now", "yesterday"), "--now 'yesterday' is not an ISO 8601 time"),
        (("purge", "--db", "{db}", "--now", "2030-01-01T00:00:00"), "has no time zone"),
        (("purge", "--db", "sqlite:///{tmp}/missing.db"), "no such database file"),
        (("purge", "--db", "sqlite:///{tmp}/empty.db"), "no walkout tables there"),
        (("purge", "--db", "::nonsense::"), "--db '::nonsense::' is not a database URL"),
        (("erase-account", "nobody", "--db", "{db}"), "erase_account: account_id 'nobody' is unknown"),
        (("erase-account", "b-2", "--db", "{db}"), "has session 's-1' in progress"),
        (("inventory", "--db", "{db}", "--store", "no-such-store"), "no-such-store"),
    ],
)
def test_bad_input_is_one_error_line_with_exit_code_2(db_file, tmp_path, args, message):
    (tmp_path / "empty.db").touch()
    result = invoke(*(a.format(db=db_file, tmp=tmp_path) for a in args))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    text = unwrapped(result.output)
    assert text.startswith("error:") and message in text
    assert not (tmp_path / "missing.db").exists()  # a typo in --db creates no database
