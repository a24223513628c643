"""Storage of walkout: accounts, sessions, cart ledger, receipts, stock, review queue, event log.

SQLAlchemy 2 models (:mod:`walkout.engine.db.models`) behind one repository class,
:class:`Database`, whose public methods each run one transaction and raise
:class:`~walkout.core.errors.StorageError` (after a rollback) on any failure. The schema is owned
by the Alembic migrations shipped in ``migrations/``; :meth:`Database.upgrade` applies them.
See docs/storage.md.

Example::

    db = Database("sqlite:///walkout.db")
    db.upgrade()
    db.seed_accounts(demo_accounts())
"""

from walkout.engine.db.database import Database
from walkout.engine.db.migrate import head_revision
from walkout.engine.db.records import AccountRecord, ReviewRecord, SessionRecord, ShelfEventRecord, StockChange

__all__ = [
    "AccountRecord",
    "Database",
    "ReviewRecord",
    "SessionRecord",
    "ShelfEventRecord",
    "StockChange",
    "head_revision",
]
