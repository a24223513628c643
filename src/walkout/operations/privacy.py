"""Privacy: the retention policy, the purge that enforces it, and erasure of an account.

Retention (the defaults of :class:`RetentionPolicy`; docs/privacy.md states the same policy):

=====================================  ==========  ==============================================
data                                   kept for    why
=====================================  ==========  ==============================================
entry scans, used entry tokens         30 days     gate audit and replay refusal; an entry token
                                                   expires within minutes, so a replay of an old
                                                   token is refused as expired anyway
e-mail outbox (addresses, bodies)      30 days     retries and support questions about a mail
removed payment methods                30 days     unless a kept payment names it (refunds go
                                                   back to the card that paid)
session detail: cart ledger, shelf     90 days     evidence for disputes and reviews
events, group members, resolved
review tasks (but those that moved
money), the session link of stock
movements, sessions without receipt
debug frames (files in ``debug_dir``)  7 days      debugging the vision pipeline
receipts, receipt lines, payments,     7 years     financial records: tax law requires keeping
disputes, the provider's ledger,                   them (e.g. US IRS guidance: up to 7 years;
review tasks that moved money                      German HGB section 257 / AO section 147: 10)
=====================================  ==========  ==============================================

:func:`purge` deletes what is past its retention, one transaction per group of tables, and counts
every deleted row and file. :func:`erase_account` implements the right to erasure (GDPR Art. 17):
personal fields are overwritten, personal rows deleted, and the financial records the store must
keep (Art. 17(3)(b): a legal obligation) stay, linked only to the anonymised account.

No table stores biometric data (appearance, faces, body heights of persons): the vision pipeline
keeps appearance descriptors in memory only, for the re-identification within one visit.
:func:`biometric_columns` checks a schema against :data:`BIOMETRIC_TERMS`.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, MetaData, Select, delete, func, or_, select, update
from sqlalchemy.orm import Session

from walkout.core.errors import OperationError
from walkout.engine.db import Database
from walkout.engine.db.models import (
    AccountRow,
    CartLineRow,
    ReceiptLineRow,
    ReceiptRow,
    ReviewItemRow,
    SessionRow,
    ShelfEventRow,
)
from walkout.engine.db.models_auth import ApiTokenRow, CredentialRow
from walkout.engine.db.models_ops import (
    DisputeRow,
    EntryScanRow,
    LedgerEntryRow,
    OutboxMessageRow,
    PaymentMethodRow,
    PaymentRow,
    SessionMemberRow,
    StockMovementRow,
    UsedEntryTokenRow,
)
from walkout.operations import _checks
from walkout.operations._common import adjustments_of, aware_utc

__all__ = [
    "BIOMETRIC_TERMS",
    "ErasureReport",
    "PurgeReport",
    "RetentionPolicy",
    "biometric_columns",
    "erase_account",
    "purge",
]

ERASED_NAME = "(erased)"
ERASED_EMAIL = "erased@erased.invalid"
ERASED_TEXT = "(erased)"
ERASED_TOKEN = "erased"

# Words that name biometric data in a column name (matched at the start of each "_"-separated word).
BIOMETRIC_TERMS = (
    "appearance",
    "histogram",
    "embedding",
    "face",
    "biometric",
    "height",
    "gait",
    "keypoint",
    "skeleton",
    "reid",
    "descriptor",
    "fingerprint",
    "iris",
    "voice",
)


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each kind of data is kept, in days (see the module docstring for the reasons).

    Attributes:
        entry_scans_days: entry scans and used entry tokens.
        outbox_days: e-mail outbox messages (addresses and bodies), whatever their status.
        removed_payment_methods_days: removed payment methods no kept payment names.
        session_detail_days: cart ledger, shelf events, group members, resolved review tasks
            (except those whose decision moved money), the session link of stock movements, and
            sessions that never got a receipt.
        debug_frames_days: files under the debug directory (by modification time).
        financial_days: receipts with their lines, payments and disputes (counted from the
            receipt's last payment), the built-in provider's ledger and review tasks that moved
            money: 7 years.
    """

    entry_scans_days: int = 30
    outbox_days: int = 30
    removed_payment_methods_days: int = 30
    session_detail_days: int = 90
    debug_frames_days: int = 7
    financial_days: int = 7 * 365 + 2  # 7 years including leap days

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise OperationError(f"RetentionPolicy: {f.name} must be a whole number of days >= 1, got {value!r}")


@dataclass(frozen=True)
class PurgeReport:
    """What :func:`purge` removed.

    Attributes:
        now: the time the retention periods were counted back from (aware UTC).
        deleted: table name -> rows deleted.
        unlinked: "table.column" -> rows whose link to a purged row was set to NULL.
        debug_files: files deleted under the debug directory.
    """

    now: datetime
    deleted: Mapping[str, int]
    unlinked: Mapping[str, int]
    debug_files: int = 0

    @property
    def total(self) -> int:
        """Rows and files deleted."""
        return sum(self.deleted.values()) + self.debug_files


@dataclass(frozen=True)
class ErasureReport:
    """What :func:`erase_account` did.

    Attributes:
        account_id: the erased account (its id stays: receipts are linked to it).
        erased_at: when it was erased (the first erasure's time on a repeat).
        already_erased: the account had been erased before; nothing changed now.
        deleted: table name -> rows deleted.
        anonymised: "table.column" -> values overwritten or unlinked.
    """

    account_id: str
    erased_at: datetime
    already_erased: bool
    deleted: Mapping[str, int]
    anonymised: Mapping[str, int]


class _Tally:
    """Counts per key (table or table.column)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, key: str, n: int) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def frozen(self) -> Mapping[str, int]:
        return MappingProxyType(dict(sorted(self.counts.items())))


def _rowcount(s: Session, stmt: Any) -> int:
    result = cast(CursorResult[Any], s.execute(stmt.execution_options(synchronize_session=False)))
    return int(result.rowcount or 0)


def _delete(s: Session, tally: _Tally, model: Any, *where: ColumnElement[bool]) -> None:
    tally.add(model.__tablename__, _rowcount(s, delete(model).where(*where)))


def _null(s: Session, tally: _Tally, column: Any, *where: ColumnElement[bool]) -> None:
    stmt = update(column.class_).where(column.is_not(None), *where).values({column.key: None})
    tally.add(f"{column.class_.__tablename__}.{column.key}", _rowcount(s, stmt))


# ---------------------------------------------------------------- purge
def purge(
    db: Database, *, now: datetime, policy: RetentionPolicy = RetentionPolicy(), debug_dir: Path | None = None
) -> PurgeReport:
    """Delete every row and debug file past its retention under ``policy``.

    One transaction per group of tables (financial records, session detail, entry log, outbox,
    payment methods): a failure leaves that group as it was, and the groups before it purged.
    Idempotent: a second purge at the same ``now`` deletes nothing.

    Args:
        db: the database.
        now: the time retention periods are counted back from (timezone-aware).
        policy: retention periods in days.
        debug_dir: the directory of debug frames (searched recursively; files older than
            ``policy.debug_frames_days`` by modification time are deleted, then empty
            subdirectories); None: no files.

    Returns:
        Counts of deleted rows per table, unlinked references and deleted files.

    Raises:
        OperationError: a naive ``now``, or ``debug_dir`` is not a directory.
        StorageError: the database failed (the failing group is rolled back).
    """
    t = aware_utc("purge", now)
    if debug_dir is not None and debug_dir.exists() and not debug_dir.is_dir():
        raise OperationError(f"purge: debug_dir {str(debug_dir)!r} is not a directory")
    deleted, unlinked = _Tally(), _Tally()

    def days(n: int) -> datetime:
        return t - timedelta(days=n)

    groups: list[tuple[str, Callable[[Session], None]]] = [
        ("purge financial records", lambda s: _purge_financial(s, days(policy.financial_days), deleted, unlinked)),
        ("purge session detail", lambda s: _purge_detail(s, days(policy.session_detail_days), deleted, unlinked)),
        ("purge entry log", lambda s: _purge_entries(s, days(policy.entry_scans_days), deleted)),
        (
            "purge outbox",
            lambda s: _delete(s, deleted, OutboxMessageRow, OutboxMessageRow.created_at < days(policy.outbox_days)),
        ),
        ("purge payment methods", lambda s: _purge_methods(s, days(policy.removed_payment_methods_days), deleted)),
    ]
    for op, run in groups:
        with db.transaction(op) as s:
            run(s)
    files = 0 if debug_dir is None else _purge_files(debug_dir, days(policy.debug_frames_days))
    return PurgeReport(t, deleted.frozen(), unlinked.frozen(), files)


def _purge_financial(s: Session, cut: datetime, deleted: _Tally, unlinked: _Tally) -> None:
    recent = select(PaymentRow.receipt_id).where(PaymentRow.created_at >= cut)
    old = list(
        s.scalars(
            select(ReceiptRow.receipt_id).where(ReceiptRow.created_at < cut, ReceiptRow.receipt_id.not_in(recent))
        )
    )
    sessions = list(s.scalars(select(ReceiptRow.session_id).where(ReceiptRow.receipt_id.in_(old))))
    _delete(s, deleted, PaymentRow, PaymentRow.receipt_id.in_(old))
    _delete(s, deleted, DisputeRow, DisputeRow.receipt_id.in_(old))
    _null(s, unlinked, DisputeRow.review_id, DisputeRow.review_id.in_(_old_reviews(cut)))
    _delete(s, deleted, ReviewItemRow, ReviewItemRow.review_id.in_(list(s.scalars(_old_reviews(cut)))))
    _delete(s, deleted, ReceiptLineRow, ReceiptLineRow.receipt_id.in_(old))
    _delete(s, deleted, ReceiptRow, ReceiptRow.receipt_id.in_(old))
    _delete_sessions(s, sessions, deleted, unlinked)
    _delete(s, deleted, LedgerEntryRow, LedgerEntryRow.created_at < cut)


def _old_reviews(cut: datetime) -> Select[Any]:
    return select(ReviewItemRow.review_id).where(ReviewItemRow.status == "resolved", ReviewItemRow.resolved_at < cut)


def _delete_sessions(s: Session, session_ids: list[str], deleted: _Tally, unlinked: _Tally) -> None:
    """Delete sessions (that have no receipt any more) with their cart ledger and members; unlink the rest."""
    _delete(s, deleted, CartLineRow, CartLineRow.session_id.in_(session_ids))
    _delete(s, deleted, SessionMemberRow, SessionMemberRow.session_id.in_(session_ids))
    for column in (
        ReviewItemRow.session_id,
        ShelfEventRow.session_id,
        StockMovementRow.session_id,
        EntryScanRow.session_id,
    ):
        _null(s, unlinked, column, column.in_(session_ids))
    _delete(s, deleted, SessionRow, SessionRow.session_id.in_(session_ids))


def _purge_detail(s: Session, cut: datetime, deleted: _Tally, unlinked: _Tally) -> None:
    # Resolved tasks go, except those whose decision moved money: part of the financial record.
    reviews = [
        r.review_id
        for r in s.scalars(select(ReviewItemRow).where(ReviewItemRow.review_id.in_(_old_reviews(cut))))
        if not adjustments_of(r.decision)
    ]
    _null(s, unlinked, DisputeRow.review_id, DisputeRow.review_id.in_(reviews))
    _delete(s, deleted, ReviewItemRow, ReviewItemRow.review_id.in_(reviews))
    pending = select(SessionRow.session_id).where(  # a charge still to come needs its cart and members
        SessionRow.kind == "customer", SessionRow.status.in_(("open", "exited"))
    )
    _delete(s, deleted, CartLineRow, CartLineRow.created_at < cut, CartLineRow.session_id.not_in(pending))
    _delete(s, deleted, ShelfEventRow, ShelfEventRow.created_at < cut)
    old_sessions = select(SessionRow.session_id).where(
        SessionRow.created_at < cut, SessionRow.session_id.not_in(pending)
    )
    _delete(s, deleted, SessionMemberRow, SessionMemberRow.session_id.in_(old_sessions))
    _null(s, unlinked, StockMovementRow.session_id, StockMovementRow.created_at < cut)
    with_receipt = select(ReceiptRow.session_id)
    finished = or_(
        SessionRow.status.in_(("closed", "deleted")), (SessionRow.kind == "staff") & (SessionRow.status != "open")
    )
    ended = s.scalars(
        select(SessionRow.session_id).where(
            SessionRow.created_at < cut, finished, SessionRow.session_id.not_in(with_receipt)
        )
    )
    _delete_sessions(s, list(ended), deleted, unlinked)


def _purge_entries(s: Session, cut: datetime, deleted: _Tally) -> None:
    _delete(s, deleted, EntryScanRow, EntryScanRow.created_at < cut)
    _delete(s, deleted, UsedEntryTokenRow, UsedEntryTokenRow.used_unix_s < cut.timestamp())


def _purge_methods(s: Session, cut: datetime, deleted: _Tally) -> None:
    named = select(PaymentRow.method_id).where(PaymentRow.method_id.is_not(None))
    _delete(s, deleted, PaymentMethodRow, PaymentMethodRow.removed_at < cut, PaymentMethodRow.method_id.not_in(named))


def _purge_files(root: Path, cut: datetime) -> int:
    """Delete files under ``root`` last modified before ``cut``, then empty subdirectories."""
    if not root.exists():
        return 0
    limit, count = cut.timestamp(), 0
    for dirpath, dirnames, filenames in os.walk(root, topdown=False, followlinks=False):
        for name in filenames:
            path = Path(dirpath) / name
            if path.lstat().st_mtime < limit:
                path.unlink()
                count += 1
        for name in dirnames:
            with contextlib.suppress(OSError):  # rmdir only removes an empty directory, never a symlink's target
                (Path(dirpath) / name).rmdir()
    return count


# ---------------------------------------------------------------- erasure
def erase_account(db: Database, account_id: str, *, now: datetime | None = None) -> ErasureReport:
    """Erase an account's personal data (GDPR Art. 17), in one transaction.

    Overwrites name, e-mail and app token with non-identifying values (the token with a fresh
    random one, as it must stay unique), sets status ``erased`` and ``erased_at``; deletes the
    account's payment methods (after anonymising their tokens in the built-in provider's ledger
    and unlinking the payments that name them), entry scans, used entry tokens, its sign-in
    (credentials and API tokens, so it can no longer log in) and outbox
    messages (also those addressed to its e-mail without an account), and overwrites the
    free-text reasons of its disputes. Receipts, payments and disputes stay (financial records,
    Art. 17(3)(b)), linked only to the anonymised account id.

    Args:
        db: the database.
        account_id: the account to erase.
        now: the erasure time (timezone-aware; default: now).

    Returns:
        What was deleted and anonymised. Idempotent: erasing an erased account changes nothing
        and reports ``already_erased``.

    Raises:
        OperationError: unknown account, a naive ``now``, or a session of the account still in
            progress (open, or exited and not finalized: its charge is pending).
    """
    t = aware_utc("erase_account", now)
    with db.transaction("erase_account") as s:
        row = s.get(AccountRow, account_id)
        if row is None:
            raise OperationError(f"erase_account: account_id {account_id!r} is unknown")
        if row.status == "erased":
            erased_at = row.erased_at if row.erased_at is not None else t
            return ErasureReport(account_id, _checks.utc(erased_at), True, MappingProxyType({}), MappingProxyType({}))
        pending = s.scalars(
            select(SessionRow.session_id).where(
                SessionRow.account_id == account_id, SessionRow.status.in_(("open", "exited"))
            )
        ).first()
        if pending is not None:
            raise OperationError(
                f"erase_account: account {account_id!r} has session {pending!r} in progress; "
                "finalize it before erasing the account"
            )
        deleted, anonymised = _Tally(), _Tally()
        _erase_rows(s, row, deleted, anonymised)
        row.name, row.email, row.token = ERASED_NAME, ERASED_EMAIL, f"erased:{secrets.token_hex(16)}"
        row.status, row.erased_at = "erased", t
        anonymised.add("accounts.name,email,token", 1)
        return ErasureReport(account_id, t, False, deleted.frozen(), anonymised.frozen())


def _erase_rows(s: Session, row: AccountRow, deleted: _Tally, anonymised: _Tally) -> None:
    methods = select(PaymentMethodRow.method_id).where(PaymentMethodRow.account_id == row.account_id)
    tokens = list(
        s.scalars(select(PaymentMethodRow.provider_token).where(PaymentMethodRow.account_id == row.account_id))
    )
    if tokens:
        stmt = (
            update(LedgerEntryRow).where(LedgerEntryRow.provider_token.in_(tokens)).values(provider_token=ERASED_TOKEN)
        )
        anonymised.add("ledger_entries.provider_token", _rowcount(s, stmt))
    _null(s, anonymised, PaymentRow.method_id, PaymentRow.method_id.in_(methods))
    _delete(s, deleted, PaymentMethodRow, PaymentMethodRow.account_id == row.account_id)
    _delete(s, deleted, EntryScanRow, EntryScanRow.account_id == row.account_id)
    _delete(s, deleted, UsedEntryTokenRow, UsedEntryTokenRow.account_id == row.account_id)
    _delete(s, deleted, ApiTokenRow, ApiTokenRow.account_id == row.account_id)  # signs the account out
    _delete(s, deleted, CredentialRow, CredentialRow.account_id == row.account_id)  # e-mail and password hash
    _delete(
        s,
        deleted,
        OutboxMessageRow,
        or_(OutboxMessageRow.account_id == row.account_id, func.lower(OutboxMessageRow.to_addr) == row.email.lower()),
    )
    receipts = (
        select(ReceiptRow.receipt_id)
        .join(SessionRow, SessionRow.session_id == ReceiptRow.session_id)
        .where(SessionRow.account_id == row.account_id)
    )
    stmt = update(DisputeRow).where(DisputeRow.receipt_id.in_(receipts)).values(reason=ERASED_TEXT)
    anonymised.add("disputes.reason", _rowcount(s, stmt))


# ---------------------------------------------------------------- biometric data
def biometric_columns(metadata: MetaData, terms: Iterable[str] = BIOMETRIC_TERMS) -> list[str]:
    """The ``"table.column"`` names in ``metadata`` that look like biometric data.

    A column matches when one of its ``_``-separated words starts with one of ``terms`` (so
    ``appearance_hist`` and ``face_embedding`` match, ``facing`` and ``invoice`` do not).
    """
    wanted = tuple(t.lower() for t in terms)
    out = []
    for table in metadata.sorted_tables:
        for column in table.columns:
            words = re.split(r"[^a-z0-9]+", column.name.lower())
            if any(w.startswith(term) for w in words for term in wanted):
                out.append(f"{table.name}.{column.name}")
    return out
