"""What the engine loop writes at the gates and shelves besides carts: scans, members, exits,
deleted sessions, used entry tokens and stock movements (mixed into :class:`Database`).

Same contract as the rest of the repository: one transaction per method, StorageError (after a
rollback) on any failure, idempotent where a rerun of the same recording would repeat a write.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from walkout.engine.db import _convert as cv
from walkout.engine.db.ledgers import book_stock_movement
from walkout.engine.db.models import CartLineRow, SessionRow, utc_now
from walkout.engine.db.models_ops import EntryScanRow, SessionMemberRow, UsedEntryTokenRow

STOCK_REASONS = ("pick", "putback", "restock", "facing", "correction")


class GateWrites:
    """Mixin of :class:`walkout.engine.db.Database` (needs its ``_tx``)."""

    def _tx(self, op: str) -> AbstractContextManager[Session]:  # pragma: no cover - provided by Database
        raise NotImplementedError

    def consume_entry_token(self, token_id: str, account_id: str, t_unix_s: float) -> float | None:
        """Mark an entry token used (one entry per token); the :class:`walkout.carts.entry.UsedTokens` store.

        Args:
            token_id: the token's stable id (account, issue time, nonce).
            account_id: the account the token belongs to.
            t_unix_s: the scan time, Unix seconds.

        Returns:
            None if the token was fresh (or this is the same scan again: a rerun of a recording),
            else the Unix time of its earlier use (a replay).

        Raises:
            StorageError: unknown account.
        """
        with self._tx("consume_entry_token") as s:
            prior = s.get(UsedEntryTokenRow, token_id)
            if prior is not None:
                return None if prior.used_unix_s == t_unix_s else float(prior.used_unix_s)
            try:
                with s.begin_nested():
                    s.add(UsedEntryTokenRow(token_id=token_id, account_id=account_id, used_unix_s=t_unix_s))
            except IntegrityError:  # a concurrent gate consumed it first, or the account is unknown
                prior = s.get(UsedEntryTokenRow, token_id)
                if prior is None:
                    raise cv.Refused(f"account {account_id!r} is unknown") from None
                return None if prior.used_unix_s == t_unix_s else float(prior.used_unix_s)
            return None

    def log_entry_scan(self, recording: str, gate_id: str, t_s: float, account_id: str | None, code: str,
                       reason: str, session_id: str | None = None) -> int:
        """Log a scan and the gate's answer (idempotent per recording, gate, time and code); returns its id."""
        with self._tx("log_entry_scan") as s:
            key = (EntryScanRow.recording == recording, EntryScanRow.gate_id == gate_id, EntryScanRow.t_s == t_s,
                   EntryScanRow.code == code)
            prior = s.scalar(select(EntryScanRow.scan_id).where(*key))
            if prior is not None:
                return int(prior)
            row = EntryScanRow(recording=recording, gate_id=gate_id, t_s=t_s, account_id=account_id, code=code,
                               reason=reason[:200], session_id=session_id)
            s.add(row)
            s.flush()
            return row.scan_id

    def add_member(self, session_id: str, member_no: int, entry_t_s: float) -> None:
        """Record that person ``member_no`` (0 = first) of a session's group walked in (idempotent)."""
        with self._tx("add_member") as s:
            if s.get(SessionRow, session_id) is None:
                raise cv.Refused(f"session {session_id!r} is unknown")
            row = s.get(SessionMemberRow, (session_id, member_no))
            if row is None:
                s.add(SessionMemberRow(session_id=session_id, member_no=member_no, entry_t_s=entry_t_s))
            elif row.entry_t_s != entry_t_s:
                raise cv.Refused(f"member {member_no} of {session_id!r} entered at {row.entry_t_s}, not {entry_t_s}")

    def exit_member(self, session_id: str, member_no: int, exit_t_s: float) -> None:
        """Record that a member left (idempotent for the same time)."""
        with self._tx("exit_member") as s:
            row = s.get(SessionMemberRow, (session_id, member_no))
            if row is None:
                raise cv.Refused(f"member {member_no} of session {session_id!r} is unknown")
            if row.exit_t_s is None:
                row.exit_t_s = exit_t_s
            elif row.exit_t_s != exit_t_s:
                raise cv.Refused(f"member {member_no} of {session_id!r} already left at {row.exit_t_s}")

    def delete_session(self, session_id: str) -> None:
        """Delete an open session whose cart is empty (a second scan from inside); idempotent.

        Raises:
            StorageError: unknown session, a session that is not open, or a cart holding items.
        """
        with self._tx("delete_session") as s:
            row = s.scalars(select(SessionRow).where(SessionRow.session_id == session_id).with_for_update()).one_or_none()
            if row is None:
                raise cv.Refused(f"session {session_id!r} is unknown")
            if row.status == "deleted":
                return
            if row.status != "open":
                raise cv.Refused(f"session {session_id!r} is {row.status}, only an open session can be deleted")
            held = s.scalar(select(func.coalesce(func.sum(CartLineRow.applied_delta), 0))
                            .where(CartLineRow.session_id == session_id))
            if held:
                raise cv.Refused(f"session {session_id!r} holds {held} items")
            row.status, row.closed_at = "deleted", utc_now()

    def add_stock_movement(self, recording: str, event_id: int, plate_id: str, upc: str, delta: int, reason: str,
                           session_id: str | None, t_s: float, misplaced: bool = False) -> bool:
        """Log a stock movement and apply it to ``plate_stock`` (count clamped at zero), in one transaction.

        Idempotent per (recording, event_id, plate_id, upc): returns True if applied, False if it
        had been logged before (nothing changes).

        Raises:
            StorageError: a bad plate id, a zero delta, an unknown reason or session, or the key
                logged before with other values.
        """
        if reason not in STOCK_REASONS:
            raise cv.Refused(f"stock movement reason {reason!r} is not one of {STOCK_REASONS}")
        with self._tx("add_stock_movement") as s:
            booked = book_stock_movement(s, recording=recording, event_id=event_id, plate_id=cv.plate(plate_id),
                                         upc=upc, delta=int(delta), reason=reason, session_id=session_id, t_s=t_s,
                                         misplaced=misplaced)
            return not booked.replayed
