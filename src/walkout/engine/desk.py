"""The entry desk the engine verifies scans with: the store secret, the account directory and
the used-token store, from the database or from the demo accounts.

The store secret signs every app token and staff badge (HMAC, see :mod:`walkout.carts.entry`).
A deployment sets it with the ``WALKOUT_STORE_SECRET`` environment variable; the demo and the
simulator use :data:`walkout.io.accounts.DEMO_STORE_SECRET`.
"""

from __future__ import annotations

import os

from walkout.carts.entry import EntryDesk, InMemoryUsedTokens
from walkout.engine.db import Database
from walkout.io.accounts import DEMO_STORE_SECRET, demo_accounts


def store_secret() -> bytes:
    """The store secret: ``WALKOUT_STORE_SECRET`` (UTF-8) if set, else the demo secret."""
    env = os.environ.get("WALKOUT_STORE_SECRET")
    return env.encode() if env else DEMO_STORE_SECRET


def entry_desk(db: Database, secret: bytes | None = None) -> EntryDesk:
    """An entry desk over the database: account roles from ``accounts``; one entry per token
    through ``used_entry_tokens`` (so two gates, or two processes, never admit the same token)."""

    def role(account_id: str) -> str | None:
        rec = db.account(account_id)
        if rec is None:
            return None
        return "closed" if rec.status != "active" else rec.role

    return EntryDesk(secret if secret is not None else store_secret(), role, _DbUsedTokens(db))


class _DbUsedTokens:
    """:class:`walkout.carts.entry.UsedTokens` over the ``used_entry_tokens`` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def consume(self, token_id: str, account_id: str, t_unix_s: float) -> float | None:
        return self._db.consume_entry_token(token_id, account_id, t_unix_s)


def demo_entry_desk() -> EntryDesk:
    """An in-memory entry desk over the demo accounts and the demo secret (tests, benchmarks)."""
    roles = {a.account_id: a.role for a in demo_accounts()}
    return EntryDesk(DEMO_STORE_SECRET, roles.get, InMemoryUsedTokens())
