"""The walkout repository: one class, one transaction per public method.

Every public method runs in its own transaction. Any failure (a refused input, a constraint the
database enforces, a lost connection) rolls the whole transaction back and raises
:class:`~walkout.core.errors.StorageError` whose message starts with the method's name, e.g.
``"close_session: session 's-7' is unknown"``; the original exception is chained as
``__cause__``. Nothing is ever half written. Methods return frozen records or walkout core types,
never ORM objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Literal, cast

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from walkout.carts.receipt import Receipt
from walkout.core.errors import StorageError
from walkout.core.store import PlateId
from walkout.engine.db import _convert as cv
from walkout.engine.db import migrate
from walkout.engine.db.gates import GateWrites
from walkout.engine.db.ledgers import book_cart_line
from walkout.engine.db.models import (
    AccountRow,
    CartLineRow,
    PlateStockRow,
    ReceiptLineRow,
    ReceiptRow,
    ReviewItemRow,
    SessionRow,
    ShelfEventRow,
    utc_now,
)
from walkout.engine.db.records import AccountRecord, ReviewRecord, SessionRecord, ShelfEventRecord, StockChange
from walkout.engine.result import Attribution, ReviewItem
from walkout.events.types import ShelfEvent
from walkout.io.accounts import DemoAccount


class Database(GateWrites):
    """The walkout database behind any SQLAlchemy URL (SQLite by default).

    Args:
        url: e.g. ``sqlite:///walkout.db`` (a file), ``sqlite://`` (in memory, one connection per
            thread) or ``postgresql+psycopg://user:pw@host/walkout``.
        echo: log every SQL statement.

    Raises:
        StorageError: if the URL cannot be used (bad syntax, driver not installed).

    Call :meth:`upgrade` once before use to create or migrate the schema.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        try:
            self._engine = migrate.make_engine(url, echo=echo)
        except (SQLAlchemyError, ImportError) as exc:
            raise StorageError(f"open: cannot use database URL: {exc}") from exc
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for migrations tooling and tests; use the methods for data)."""
        return self._engine

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.dispose()

    def dispose(self) -> None:
        """Close all pooled connections (an in-memory SQLite database is discarded)."""
        self._engine.dispose()

    # ---- migrations ----
    def upgrade(self, revision: str = "head") -> None:
        """Migrate the schema up to ``revision`` (``alembic upgrade``), in one transaction.

        Raises:
            StorageError: if a migration fails; the database is left at its previous revision.
        """
        self._migrate("upgrade", revision)

    def downgrade(self, revision: str) -> None:
        """Migrate the schema down to ``revision`` (``"base"`` drops every table)."""
        self._migrate("downgrade", revision)

    def revision(self) -> str | None:
        """The schema revision of the database (None if never migrated)."""
        try:
            with self._engine.connect() as conn:
                return migrate.current_revision(conn)
        except SQLAlchemyError as exc:
            raise StorageError(f"revision: {cv.reason(exc)}") from exc

    def _migrate(self, direction: str, revision: str) -> None:
        try:
            migrate.run_migration(self._engine, direction, revision)
        except Exception as exc:  # alembic raises CommandError, ValueError, SQLAlchemyError...
            raise StorageError(f"{direction}: {cv.reason(exc)}") from exc

    def transaction(self, op: str) -> AbstractContextManager[Session]:
        """One transaction named ``op`` for the store-operations layer (:mod:`walkout.operations`).

        Commits when the block ends. Database failures roll back and raise StorageError whose
        message starts with ``op``; any other exception raised inside the block (e.g.
        :class:`~walkout.core.errors.OperationError` refusing an input) rolls back and propagates
        unchanged. The ORM session must not escape the block.
        """
        return self._tx(op)

    @contextmanager
    def _tx(self, op: str) -> Iterator[Session]:
        """One transaction named ``op``: commit on success, roll back and raise StorageError on failure."""
        try:
            with self._sessions.begin() as session:
                yield session
        except cv.Refused as exc:
            raise StorageError(f"{op}: {exc}") from exc
        except SQLAlchemyError as exc:
            raise StorageError(f"{op}: {cv.reason(exc)}") from exc
        except (TypeError, ValueError) as exc:  # a malformed argument, e.g. a count that is no int
            raise StorageError(f"{op}: invalid input: {exc}") from exc

    # ---- accounts ----
    def seed_accounts(self, accounts: Iterable[DemoAccount]) -> int:
        """Insert accounts whose ``account_id`` is not stored yet; returns how many were inserted.

        Idempotent: existing ids (and repeats within ``accounts``) are skipped, never updated.

        Raises:
            StorageError: e.g. a new account reuses another account's token (nothing is inserted).
        """
        with self._tx("seed_accounts") as s:
            known = set(s.scalars(select(AccountRow.account_id)))
            added = 0
            for a in accounts:
                if a.account_id in known:
                    continue
                known.add(a.account_id)
                s.add(AccountRow(account_id=a.account_id, name=a.name, email=a.email, token=a.token, role=a.role))
                added += 1
            return added

    def account_by_token(self, token: str) -> AccountRecord | None:
        """The account whose app token is ``token``, or None."""
        with self._tx("account_by_token") as s:
            row = s.scalars(select(AccountRow).where(AccountRow.token == token)).one_or_none()
            return None if row is None else _account_record(row)

    def account(self, account_id: str) -> AccountRecord | None:
        """The account ``account_id`` (active or erased), or None."""
        with self._tx("account") as s:
            row = s.get(AccountRow, account_id)
            return None if row is None else _account_record(row)

    # ---- sessions and carts ----
    def open_session(self, session_id: str, account_id: str, recording: str, entry_t_s: float,
                     kind: str = "customer") -> SessionRecord:
        """Open a shopping session at ``entry_t_s`` (seconds, recording clock).

        ``kind`` is ``customer`` or ``staff`` (an associate restocking: never charged).

        Idempotent: opening the same session again with the same account, recording and entry
        time returns the stored session.

        Raises:
            StorageError: unknown account, or ``session_id`` exists with other values.
        """
        with self._tx("open_session") as s:
            row = s.get(SessionRow, session_id)
            if row is None:
                if s.get(AccountRow, account_id) is None:
                    raise cv.Refused(f"account {account_id!r} is unknown")
                row = SessionRow(
                    session_id=session_id,
                    account_id=account_id,
                    recording=recording,
                    entry_t_s=entry_t_s,
                    status="open",
                    kind=kind,
                )
                s.add(row)
            elif (row.account_id, row.recording, row.entry_t_s) != (account_id, recording, entry_t_s):
                raise cv.Refused(f"session {session_id!r} already exists with other values")
            return cv.session_record(row)

    def session(self, session_id: str) -> SessionRecord | None:
        """The stored session, or None."""
        with self._tx("session") as s:
            row = s.get(SessionRow, session_id)
            return None if row is None else cv.session_record(row)

    def add_cart_line(
        self, session_id: str, event_id: int, upc: str, quantity_delta: int, t_s: float, confidence: float,
        *, correction: bool = False,
    ) -> int:
        """Append a pick (``quantity_delta`` > 0) or put-back (< 0) to an open session's cart ledger.

        The cart never goes negative: a put-back of more units than the cart holds removes what is
        there (the rule of :func:`walkout.carts.cart.apply_line`); the ledger keeps both the asked
        and the applied delta. ``(session_id, event_id, upc)`` is the idempotency key: repeating a
        line with the same delta writes nothing and returns the same result.

        Args:
            session_id: an open session.
            event_id: the shelf event behind the line.
            upc: product UPC.
            quantity_delta: signed units, non-zero.
            t_s: event time, seconds on the recording clock.
            confidence: decision confidence in [0, 1].
            correction: a reviewer's correction (by convention ``event_id`` = minus the review id):
                also allowed once the session has exited, until it is finalized.

        Returns:
            The part of a removal that found no unit (<= 0; 0 when nothing was clamped).

        Raises:
            StorageError: unknown or closed session (or exited, unless ``correction``), zero
                delta, confidence outside [0, 1], or the key repeated with a different delta.
        """
        if quantity_delta == 0:
            raise StorageError("add_cart_line: quantity_delta must be non-zero")
        if not 0.0 <= confidence <= 1.0:  # also refuses NaN
            raise StorageError(f"add_cart_line: confidence {confidence} is not in [0, 1]")
        with self._tx("add_cart_line") as s:
            self._open_session_row(s, session_id, exited_ok=correction)
            key = (CartLineRow.session_id == session_id, CartLineRow.event_id == event_id, CartLineRow.upc == upc)
            prior = s.scalars(select(CartLineRow).where(*key)).one_or_none()
            if prior is not None:
                if prior.quantity_delta != quantity_delta:
                    raise cv.Refused(f"event {event_id} already booked {prior.quantity_delta:+d} of {upc}")
                return prior.quantity_delta - prior.applied_delta
            applied = book_cart_line(s, session_id, event_id, upc, quantity_delta, t_s, confidence)
            return int(quantity_delta) - applied

    def cart(self, session_id: str) -> dict[str, int]:
        """UPC -> units in the session's cart (sum of the ledger; zero lines omitted; {} if unknown)."""
        with self._tx("cart") as s:
            total = func.sum(CartLineRow.applied_delta)
            rows = s.execute(
                select(CartLineRow.upc, total)
                .where(CartLineRow.session_id == session_id)
                .group_by(CartLineRow.upc)
                .having(total != 0)
                .order_by(CartLineRow.upc)
            )
            return {upc: int(q) for upc, q in rows}

    def close_session(self, session_id: str, exit_t_s: float, receipt: Receipt) -> Receipt:
        """Close a session at ``exit_t_s`` and store its receipt, all in one transaction.

        Idempotent: closing a closed session with an equal receipt returns the stored receipt.

        Args:
            session_id: an open or exited (or already closed) session.
            exit_t_s: exit time, seconds on the recording clock; must equal ``receipt.exit_t_s``.
            receipt: the session's receipt; its session, account and entry time must match the
                session, its subtotal the sum of its lines and its total subtotal + tax.

        Returns:
            The stored receipt.

        Raises:
            StorageError: unknown session, a receipt inconsistent with the session or with itself,
                a receipt the database refuses, or a closed session with a different receipt.
                The session then stays as it was (open, without receipt).
        """
        with self._tx("close_session") as s:
            row = self._session_row(s, session_id, lock=True)
            cv.check_receipt(row, exit_t_s, receipt)
            if row.status == "deleted" or (row.status == "exited" and row.exit_t_s != exit_t_s):
                raise cv.Refused(f"session {session_id!r} is {row.status} (exit at {row.exit_t_s}), cannot close at {exit_t_s}")
            if row.status == "closed":
                stored = cv.load_receipt(s, row)
                if stored != receipt:
                    raise cv.Refused(f"session {session_id!r} is already closed with a different receipt")
                return stored
            row.exit_t_s, row.status, row.closed_at = exit_t_s, "closed", utc_now()
            head = ReceiptRow(
                session_id=session_id,
                subtotal_cents=receipt.subtotal_cents,
                tax_cents=receipt.tax_cents,
                total_cents=receipt.total_cents,
                currency=receipt.currency,
                entry_t_s=receipt.entry_t_s,
                exit_t_s=receipt.exit_t_s,
            )
            s.add(head)
            s.flush()
            s.add_all(
                ReceiptLineRow(
                    receipt_id=head.receipt_id,
                    line_no=i,
                    upc=line.upc,
                    name=line.name,
                    quantity=line.quantity,
                    unit_price_cents=line.unit_price_cents,
                    taxable=line.taxable,
                )
                for i, line in enumerate(receipt.lines)
            )
            s.flush()
            return receipt

    def exit_session(self, session_id: str, exit_t_s: float) -> SessionRecord:
        """Mark a session exited at ``exit_t_s`` (its last member left): the cart is final, the
        receipt waits for finalization (:mod:`walkout.operations.checkout`).

        Idempotent: exiting an exited or closed session at the same time returns it unchanged.

        Raises:
            StorageError: unknown or deleted session, or an exit time other than the stored one.
        """
        with self._tx("exit_session") as s:
            row = self._session_row(s, session_id, lock=True)
            if row.status == "open":
                if exit_t_s < row.entry_t_s:
                    raise cv.Refused(f"exit at {exit_t_s} s is before the entry at {row.entry_t_s} s")
                row.status, row.exit_t_s, row.exited_at = "exited", exit_t_s, utc_now()
            elif row.status == "deleted" or row.exit_t_s != exit_t_s:
                raise cv.Refused(f"session {session_id!r} is {row.status} (exit at {row.exit_t_s}), cannot exit at {exit_t_s}")
            return cv.session_record(row)

    def receipt(self, session_id: str) -> Receipt | None:
        """The stored receipt of a session, rebuilt as a :class:`~walkout.carts.receipt.Receipt` (or None)."""
        with self._tx("receipt") as s:
            row = s.get(SessionRow, session_id)
            return None if row is None else cv.load_receipt(s, row)

    def _session_row(self, s: Session, session_id: str, *, lock: bool = False) -> SessionRow:
        query = select(SessionRow).where(SessionRow.session_id == session_id)
        row = s.scalars(query.with_for_update() if lock else query).one_or_none()
        if row is None:
            raise cv.Refused(f"session {session_id!r} is unknown")
        return row

    def _open_session_row(self, s: Session, session_id: str, *, exited_ok: bool = False) -> SessionRow:
        row = self._session_row(s, session_id, lock=True)  # serialises ledger writers per session
        if row.status != "open" and not (exited_ok and row.status == "exited"):
            raise cv.Refused(f"session {session_id!r} is {row.status}")
        return row

    # ---- inventory ----
    def set_stock(self, rows: Iterable[tuple[str, str, int]]) -> int:
        """Replace the stock of every plate named in ``rows`` by exactly these (plate, upc, count) rows.

        Plates not named keep their stock. Returns the number of rows written.

        Raises:
            StorageError: a bad plate id, a negative count, or a (plate, upc) pair given twice.
        """
        with self._tx("set_stock") as s:
            wanted: dict[tuple[str, str], int] = {}
            for plate_id, upc, count in rows:
                key = (cv.plate(plate_id), upc)
                if key in wanted:
                    raise cv.Refused(f"plate {key[0]} lists {upc} twice")
                if int(count) < 0:
                    raise cv.Refused(f"negative count {count} for {upc} on plate {key[0]}")
                wanted[key] = int(count)
            plates = {p for p, _ in wanted}
            if plates:
                s.execute(delete(PlateStockRow).where(PlateStockRow.plate_id.in_(plates)))
            s.add_all(PlateStockRow(plate_id=p, upc=u, count=c) for (p, u), c in wanted.items())
            return len(wanted)

    def stock(self) -> list[tuple[str, str, int]]:
        """All stock rows as (plate_id "G.S.P", upc, count), in plate then UPC order."""
        with self._tx("stock") as s:
            rows = [(r.plate_id, r.upc, r.count) for r in s.scalars(select(PlateStockRow))]
            return sorted(rows, key=lambda r: (PlateId.parse(r[0]), r[1]))

    def adjust_stock(self, plate_id: str, upc: str, delta: int) -> StockChange:
        """Add ``delta`` units (negative = removed) of ``upc`` to a plate, clamping the count at zero.

        Returns:
            The new count and the part of a removal that found no unit (``unapplied`` <= 0).

        Raises:
            StorageError: a bad plate id.
        """
        with self._tx("adjust_stock") as s:
            pid = cv.plate(plate_id)
            query = select(PlateStockRow).where(PlateStockRow.plate_id == pid, PlateStockRow.upc == upc)
            row = s.scalars(query.with_for_update()).one_or_none()
            wanted = (row.count if row is not None else 0) + int(delta)
            count = max(wanted, 0)
            if row is not None:
                row.count, row.updated_at = count, utc_now()
            elif count > 0:
                s.add(PlateStockRow(plate_id=pid, upc=upc, count=count))
            return StockChange(pid, upc, count, min(wanted, 0))

    # ---- review queue and event log ----
    def add_review_item(self, item: ReviewItem, recording: str = "") -> int:
        """Queue a review item (status open); returns its review id.

        Idempotent per (recording, event_id, reason): a repeat returns the existing id.
        ``evidence`` must be JSON-serialisable (tuples come back as lists; NaN is refused).
        """
        with self._tx("add_review_item") as s:
            query = select(ReviewItemRow.review_id).where(
                ReviewItemRow.recording == recording,
                ReviewItemRow.event_id == item.event_id,
                ReviewItemRow.reason == item.reason,
            )
            existing = s.scalar(query)
            if existing is not None:
                return int(existing)
            row = ReviewItemRow(
                recording=recording,
                event_id=item.event_id,
                t_s=item.t_s,
                reason=item.reason,
                confidence=item.confidence,
                evidence=dict(item.evidence),
                status="open",
                session_id=item.session_id,
            )
            s.add(row)
            s.flush()
            return row.review_id

    def open_review_items(self, recording: str | None = None) -> list[ReviewRecord]:
        """Open review items (of one recording, or all), in time then event order."""
        with self._tx("open_review_items") as s:
            query = select(ReviewItemRow).where(ReviewItemRow.status == "open")
            if recording is not None:
                query = query.where(ReviewItemRow.recording == recording)
            rows = s.scalars(query.order_by(ReviewItemRow.t_s, ReviewItemRow.event_id, ReviewItemRow.review_id))
            return [cv.review_record(r) for r in rows]

    def resolve_review_item(self, review_id: int) -> None:
        """Mark a review item resolved (resolving twice is a no-op).

        Raises:
            StorageError: unknown review id.
        """
        with self._tx("resolve_review_item") as s:
            row = s.get(ReviewItemRow, review_id)
            if row is None:
                raise cv.Refused(f"review item {review_id} is unknown")
            if row.status != "resolved":
                row.status, row.resolved_at = "resolved", utc_now()

    def log_shelf_event(self, event: ShelfEvent, recording: str, attribution: Attribution | None = None) -> bool:
        """Log a shelf event and, if decided, the engine's attribution of it.

        Idempotent per (recording, event_id): returns True if written, False if already logged
        (the stored row is left unchanged).

        Raises:
            StorageError: the attribution names another event or an unknown session.
        """
        with self._tx("log_shelf_event") as s:
            if attribution is not None and attribution.event_id != event.event_id:
                raise cv.Refused(f"attribution is for event {attribution.event_id}, not {event.event_id}")
            query = select(ShelfEventRow.row_id).where(
                ShelfEventRow.recording == recording, ShelfEventRow.event_id == event.event_id
            )
            if s.scalar(query) is not None:
                return False
            s.add(cv.shelf_event_row(event, recording, attribution))
            return True

    def shelf_events(self, recording: str) -> list[ShelfEventRecord]:
        """The logged shelf events of a recording, in event id order."""
        with self._tx("shelf_events") as s:
            query = select(ShelfEventRow).where(ShelfEventRow.recording == recording)
            return [cv.shelf_event_record(r) for r in s.scalars(query.order_by(ShelfEventRow.event_id))]


def _account_record(row: AccountRow) -> AccountRecord:
    role = cast(Literal["customer", "associate", "manager"], row.role)
    status = cast(Literal["active", "erased"], row.status or "active")
    return AccountRecord(row.account_id, row.name, row.email, row.token, role, cv.utc(row.created_at), status)
