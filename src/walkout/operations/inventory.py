"""Inventory: live stock, low-stock thresholds and alerts, misplaced units, the stock ledger, shrinkage.

Stock is kept in two tables that :func:`record_movement` writes in one transaction, so they never
disagree about a movement:

- ``plate_stock``: units of each UPC on each plate ("G.S.P") now. The engine's live planogram
  lists a facing's units on the facing's first plate, and misplaced units on the first plate they
  landed on (:meth:`walkout.inventory.planogram.LivePlanogram.stock_rows`). Counts never go
  negative: a removal of more units than a plate holds empties it (the rest is reported as
  ``unapplied``).
- ``stock_movements``: every change and why. ``reason`` is ``pick`` / ``putback`` (a shopper),
  ``restock`` / ``facing`` (an associate), ``correction`` (a reviewer or a stock count).
  ``(recording, event_id, plate_id, upc)`` is the idempotency key. Manual restocks (outside a
  recording) are filed under the pseudo-recording ``associate:<account_id>`` with the caller's
  restock id as ``event_id``, so the ledger says who restocked.

Shrinkage (:func:`shrinkage`), per product, in units::

    left_shelves = - sum(delta of movements with reason pick, putback or correction)
    charged      =   sum(quantity of receipt lines)            # receipts exist for closed sessions only
                   - sum(quantity of refunded disputes)
                   + sum(units a reviewer's correction charged (+) or refunded (-) on closed sessions)
    shrinkage    = left_shelves - charged

i.e. units that left the shelves, net of put-backs, and that nobody paid for. Associates' moves
(restock, facing) are excluded: they move stock without selling it. Units in the carts of
sessions not finalized yet count as shrinkage until their receipt is stored, so compare finished
days. A negative value means more units were charged than the shelves saw leave (an
over-charge, or a movement the engine missed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from walkout.core.errors import OperationError
from walkout.core.store import Facing, PlateId, Store
from walkout.engine.db import Database
from walkout.engine.db._convert import Refused
from walkout.engine.db.ledgers import book_stock_movement
from walkout.engine.db.models import AccountRow, PlateStockRow, ReceiptLineRow, SessionRow
from walkout.engine.db.models_ops import ProductSettingRow, StockAlertRow, StockMovementRow
from walkout.operations._common import aware_utc, refunded_dispute_units, review_adjusted_units

__all__ = [
    "REASONS",
    "AlertChanges",
    "MisplacedStock",
    "Movement",
    "PlateStock",
    "ProductStock",
    "ShrinkageRow",
    "low_stock",
    "misplaced",
    "plate_stock",
    "product_stock",
    "raise_alerts",
    "record_movement",
    "restock",
    "set_threshold",
    "shrinkage",
]

REASONS = ("pick", "putback", "restock", "facing", "correction")
SHOPPER_REASONS = ("pick", "putback", "correction")  # movements that count for shrinkage


@dataclass(frozen=True)
class PlateStock:
    """``units`` of ``upc`` on plate ``plate_id`` ("G.S.P")."""

    plate_id: str
    upc: str
    units: int


@dataclass(frozen=True)
class ProductStock:
    """A product's units across all plates.

    Attributes:
        upc: product UPC.
        units: units on all plates.
        plates: the plates holding at least one unit, in plate order.
        threshold: the low-stock threshold in units (None: never low).
    """

    upc: str
    units: int
    plates: tuple[str, ...]
    threshold: int | None

    @property
    def low(self) -> bool:
        """At or below its threshold."""
        return self.threshold is not None and self.units <= self.threshold


@dataclass(frozen=True)
class AlertChanges:
    """What :func:`raise_alerts` changed: UPCs whose alert it raised, and whose alert it cleared."""

    raised: tuple[str, ...]
    cleared: tuple[str, ...]


@dataclass(frozen=True)
class MisplacedStock:
    """``units`` of ``upc`` lying on ``plate_id``, which is none of the plates of its facings.

    ``facing_plates`` are the plates where the product belongs (empty: not in the planogram).
    """

    plate_id: str
    upc: str
    units: int
    facing_plates: tuple[str, ...]


@dataclass(frozen=True)
class Movement:
    """A stock movement and the plate's count after it.

    Attributes:
        count: units of ``upc`` on the plate after the movement (never negative).
        unapplied: the part of a removal that found no unit (<= 0).
        replayed: the movement had been recorded before (nothing changed now).
    """

    recording: str
    event_id: int
    plate_id: str
    upc: str
    delta: int
    reason: str
    session_id: str | None
    t_s: float
    misplaced: bool
    count: int
    unapplied: int
    replayed: bool = False


@dataclass(frozen=True)
class ShrinkageRow:
    """Shrinkage of one product in units (see the module docstring for the definition)."""

    upc: str
    left_shelves_units: int
    charged_units: int

    @property
    def shrinkage_units(self) -> int:
        """Units that left the shelves and were charged to nobody."""
        return self.left_shelves_units - self.charged_units


# ---------------------------------------------------------------- live stock
def plate_stock(db: Database) -> list[PlateStock]:
    """Every plate's units per UPC (empty rows omitted), in plate then UPC order."""
    return [PlateStock(p, u, n) for p, u, n in db.stock() if n > 0]


def product_stock(db: Database) -> list[ProductStock]:
    """Units per product across plates, with thresholds; products with a threshold and no stock
    row appear with 0 units. In UPC order."""
    with db.transaction("product_stock") as s:
        return _product_stock(s)


def _product_stock(s: Session) -> list[ProductStock]:
    units: dict[str, int] = {}
    plates: dict[str, list[PlateId]] = {}
    for row in s.scalars(select(PlateStockRow)):
        units[row.upc] = units.get(row.upc, 0) + row.count
        if row.count > 0:
            plates.setdefault(row.upc, []).append(PlateId.parse(row.plate_id))
    thresholds = {r.upc: r.low_stock_threshold for r in s.scalars(select(ProductSettingRow))}
    return [
        ProductStock(upc, units.get(upc, 0), tuple(str(p) for p in sorted(plates.get(upc, []))), thresholds.get(upc))
        for upc in sorted(set(units) | set(thresholds))
    ]


def set_threshold(db: Database, upc: str, units: int | None) -> None:
    """Set (or with None, remove) a product's low-stock threshold, in units across all plates.

    Raises:
        OperationError: an empty UPC, or ``units`` not a non-negative integer.
    """
    if not isinstance(upc, str) or not upc.strip():
        raise OperationError(f"set_threshold: upc {upc!r} is not a UPC")
    if units is not None and (not isinstance(units, int) or isinstance(units, bool) or units < 0):
        raise OperationError(f"set_threshold: units {units!r} is not a non-negative integer")
    with db.transaction("set_threshold") as s:
        row = s.get(ProductSettingRow, upc)
        if units is None:
            if row is not None:
                s.delete(row)
        elif row is None:
            s.add(ProductSettingRow(upc=upc, low_stock_threshold=units))
        else:
            row.low_stock_threshold = units


def low_stock(db: Database) -> list[ProductStock]:
    """Products at or below their threshold, in UPC order."""
    return [p for p in product_stock(db) if p.low]


def raise_alerts(db: Database, *, now: datetime | None = None) -> AlertChanges:
    """Raise an alert for each product at or below its threshold that has no open alert, and clear
    the open alert of each product above its threshold again (restocked, or threshold removed).

    Idempotent: a second call without a stock change changes nothing.

    Args:
        db: the database.
        now: the wall-clock time stamped on raised and cleared alerts (aware; default: now).

    Raises:
        OperationError: a naive ``now``.
    """
    t = aware_utc("raise_alerts", now)
    with db.transaction("raise_alerts") as s:
        stock = {p.upc: p for p in _product_stock(s)}
        open_alerts = {a.upc: a for a in s.scalars(select(StockAlertRow).where(StockAlertRow.cleared_at.is_(None)))}
        raised, cleared = [], []
        for upc, p in stock.items():
            if p.low and upc not in open_alerts:
                s.add(StockAlertRow(upc=upc, count=p.units, threshold=p.threshold, raised_at=t))
                raised.append(upc)
        for upc, alert in open_alerts.items():
            if upc not in stock or not stock[upc].low:
                alert.cleared_at = t
                cleared.append(upc)
        return AlertChanges(tuple(raised), tuple(sorted(cleared)))


def misplaced(db: Database, store: Store, planogram: Iterable[Facing] | None = None) -> list[MisplacedStock]:
    """Units lying on a plate that is none of the facing plates of their product.

    Args:
        db: the database.
        store: the store (its UPCs and default planogram).
        planogram: the operating planogram to check against (e.g. a recording's
            ``RecordingMeta.planogram``); default ``store.planogram``.

    Returns:
        One row per (plate, UPC) with units, in plate then UPC order.
    """
    facings = tuple(store.planogram if planogram is None else planogram)
    home: dict[str, set[PlateId]] = {}
    for f in facings:
        home.setdefault(f.upc, set()).update(f.plates)
    out = []
    for row in plate_stock(db):
        where = home.get(row.upc, set())
        if PlateId.parse(row.plate_id) not in where:
            out.append(MisplacedStock(row.plate_id, row.upc, row.units, tuple(str(p) for p in sorted(where))))
    return out


# ---------------------------------------------------------------- the stock ledger
def record_movement(
    db: Database,
    *,
    recording: str,
    event_id: int,
    plate_id: str,
    upc: str,
    delta: int,
    reason: str,
    session_id: str | None,
    t_s: float,
    misplaced: bool = False,
) -> Movement:
    """Record a stock movement and apply it to ``plate_stock`` in one transaction.

    Args:
        db: the database.
        recording: the recording (or pseudo-recording) the movement belongs to.
        event_id: the shelf event (or restock / review id) behind the movement.
        plate_id: the plate, "G.S.P".
        upc: product UPC.
        delta: signed units, non-zero (< 0: units left the plate).
        reason: ``pick``, ``putback``, ``restock``, ``facing`` or ``correction``.
        session_id: the session that moved the units (None: nobody linked).
        t_s: time of the movement, seconds on the recording clock.
        misplaced: the units were taken from or put on a plate outside their facing.

    Returns:
        The movement and the plate's count after it. Idempotent per (recording, event_id,
        plate_id, upc): a repeat with the same delta, reason and session returns the stored
        movement with ``replayed=True`` and changes nothing.

    Raises:
        OperationError: naming the field: a bad plate id, a zero or non-integer delta, an
            unknown reason or session, or the key recorded before with other values.
    """
    pid = _plate("record_movement", plate_id)
    _check_movement("record_movement", delta, reason, upc)
    with db.transaction("record_movement") as s:
        if session_id is not None and s.get(SessionRow, session_id) is None:
            raise OperationError(f"record_movement: session_id {session_id!r} is unknown")
        return _move(
            s,
            recording=recording,
            event_id=event_id,
            plate_id=pid,
            upc=upc,
            delta=delta,
            reason=reason,
            session_id=session_id,
            t_s=t_s,
            misplaced=misplaced,
        )


def _move(
    s: Session,
    *,
    recording: str,
    event_id: int,
    plate_id: str,
    upc: str,
    delta: int,
    reason: str,
    session_id: str | None,
    t_s: float,
    misplaced: bool = False,
) -> Movement:
    """:func:`record_movement` inside an open transaction ``s`` (inputs already checked; for the operations modules)."""
    try:
        b = book_stock_movement(s, recording=recording, event_id=event_id, plate_id=plate_id, upc=upc, delta=delta,
                                reason=reason, session_id=session_id, t_s=t_s, misplaced=misplaced)
    except Refused as exc:
        raise OperationError(f"record_movement: {exc}") from None
    return _movement(b.row, b.count, b.unapplied, replayed=b.replayed)


def _movement(row: StockMovementRow, count: int, unapplied: int, *, replayed: bool = False) -> Movement:
    return Movement(
        row.recording,
        row.event_id,
        row.plate_id,
        row.upc,
        row.delta,
        row.reason,
        row.session_id,
        row.t_s,
        bool(row.misplaced),
        count,
        unapplied,
        replayed,
    )


def _plate(op: str, plate_id: str) -> str:
    try:
        return str(PlateId.parse(plate_id))
    except ValueError:
        raise OperationError(f"{op}: plate_id {plate_id!r} is not of the form 'gondola.shelf.plate'") from None


def _check_movement(op: str, delta: int, reason: str, upc: str) -> None:
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise OperationError(f"{op}: delta {delta!r} is not a non-zero number of units")
    if reason not in REASONS:
        raise OperationError(f"{op}: reason {reason!r} is not one of {', '.join(REASONS)}")
    if not isinstance(upc, str) or not upc.strip():
        raise OperationError(f"{op}: upc {upc!r} is not a UPC")


def restock(
    db: Database,
    *,
    plate_id: str,
    upc: str,
    units: int,
    associate_id: str,
    restock_id: int,
    t_s: float = 0.0,
) -> Movement:
    """An associate put ``units`` of ``upc`` on a plate (outside any recording).

    Filed under the pseudo-recording ``associate:<associate_id>`` with ``event_id`` =
    ``restock_id`` (the caller's id of this restock, e.g. a task number): idempotent per
    (associate, restock id, plate, UPC).

    Raises:
        OperationError: naming the field: ``units`` not positive, an unknown or non-associate
            (or erased) account, a bad plate id, or the restock id reused with other values.
    """
    if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
        raise OperationError(f"restock: units {units!r} is not a positive number of units")
    pid = _plate("restock", plate_id)
    _check_movement("restock", units, "restock", upc)
    with db.transaction("restock") as s:
        account = s.get(AccountRow, associate_id)
        if account is None or account.role != "associate" or account.status != "active":
            raise OperationError(f"restock: associate_id {associate_id!r} is not an active associate account")
        return _move(
            s,
            recording=f"associate:{associate_id}",
            event_id=restock_id,
            plate_id=pid,
            upc=upc,
            delta=units,
            reason="restock",
            session_id=None,
            t_s=t_s,
        )


# ---------------------------------------------------------------- shrinkage
def shrinkage(db: Database) -> list[ShrinkageRow]:
    """Per product: units that left the shelves minus units charged (see the module docstring).

    Returns:
        One row per product that moved or was charged, in UPC order.
    """
    with db.transaction("shrinkage") as s:
        left: dict[str, int] = {}
        moved = (
            select(StockMovementRow.upc, func.sum(StockMovementRow.delta))
            .where(StockMovementRow.reason.in_(SHOPPER_REASONS))
            .group_by(StockMovementRow.upc)
        )
        for upc, total in s.execute(moved):
            left[upc] = -int(total or 0)
        charged: dict[str, int] = {}
        sold = select(ReceiptLineRow.upc, func.sum(ReceiptLineRow.quantity)).group_by(ReceiptLineRow.upc)
        for upc, total in s.execute(sold):
            charged[upc] = int(total or 0)
        for (_sid, upc), units in refunded_dispute_units(s).items():
            charged[upc] = charged.get(upc, 0) - units
        for (_sid, upc), units in review_adjusted_units(s).items():
            charged[upc] = charged.get(upc, 0) + units
        return [ShrinkageRow(u, left.get(u, 0), charged.get(u, 0)) for u in sorted(set(left) | set(charged))]
