"""Fixtures of the store-operations tests: a migrated database per backend, a small store, fakes.

``db`` runs each test on SQLite and on a real PostgreSQL (``db_url``, tests/conftest.py).
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from walkout.carts.receipt import make_receipt
from walkout.core.errors import MailError
from walkout.core.store import Product, Store
from walkout.engine.db import Database
from walkout.io.accounts import DemoAccount

SCRIPT_NAME = '<script>alert("x")</script> Crisps'


@pytest.fixture
def db(db_url: str):
    """A migrated, empty walkout database on each backend."""
    database = Database(db_url)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def shop() -> Store:
    """A three-product store: Cola 1.99 (taxed), Bread 3.49 (untaxed), a product named like a script."""
    return Store(
        name="Corner Shop",
        tax_rate=0.0825,
        floor_ltrb_m=(0.0, 0.0, 4.0, 4.0),
        gondolas=(),
        shelves=(),
        plates=(),
        products=(
            Product(upc="111", name="Cola", mass_g=355.0, mass_sigma_g=3.0, price_cents=199),
            Product(upc="222", name="Bread", mass_g=500.0, mass_sigma_g=8.0, price_cents=349, taxable=False),
            Product(upc="333", name=SCRIPT_NAME, mass_g=50.0, mass_sigma_g=2.0, price_cents=100),
        ),
    )


class RecordingMailer:
    """A :class:`walkout.io.mail.MailSender` that keeps what it was given; fails the first ``fail`` sends."""

    def __init__(self, fail: int = 0) -> None:
        self.sent: list[EmailMessage] = []
        self.fail = fail
        self.calls = 0

    def send(self, message: EmailMessage) -> None:
        self.calls += 1
        if self.fail > 0:
            self.fail -= 1
            raise MailError("smtp 127.0.0.1:2525: [Errno 111] Connection refused")
        self.sent.append(message)


@pytest.fixture
def mailer() -> RecordingMailer:
    return RecordingMailer()


@pytest.fixture
def make_mailer():
    """``make_mailer(fail=n)``: a RecordingMailer whose first ``n`` sends raise MailError."""
    return RecordingMailer


@pytest.fixture
def seed(db: Database):
    """Seed accounts: ``seed("a-1", "b-2")`` -> the DemoAccounts written (e-mail ``<id>@example.invalid``)."""

    def _seed(*account_ids: str) -> list[DemoAccount]:
        accounts = [
            DemoAccount(account_id=a, name=f"Name {a}", email=f"{a}@example.invalid", token=f"tok-{a}")
            for a in account_ids
        ]
        db.seed_accounts(accounts)
        return accounts

    return _seed


@pytest.fixture
def closed_session(db: Database, shop: Store, seed):
    """``closed_session(sid, account_id, cart)`` opens, exits and closes a session with the cart's receipt."""

    def _closed(session_id: str, account_id: str, cart: dict[str, int]):
        db.open_session(session_id, account_id, "rec", 10.0)
        for i, (upc, qty) in enumerate(sorted(cart.items())):
            db.add_cart_line(session_id, i + 1, upc, qty, 11.0, 0.99)
        db.exit_session(session_id, 70.0)
        receipt = make_receipt(shop, session_id, account_id, db.cart(session_id), 10.0, 70.0)
        return db.close_session(session_id, 70.0, receipt)

    return _closed
