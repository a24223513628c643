"""The two append-only ledgers' booking rules, inside an open transaction.

Shared by the repository (:class:`walkout.engine.db.Database`: the engine's writes) and the
store-operations layer (:mod:`walkout.operations`: reviewers' corrections, restocks), so a rule
is written once: a cart never goes below zero, and a plate's stock never goes below zero, with
what was asked and what applied both kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from walkout.engine.db._convert import Refused
from walkout.engine.db.models import CartLineRow, PlateStockRow, utc_now
from walkout.engine.db.models_ops import StockMovementRow


def book_cart_line(s: Session, session_id: str, event_id: int, upc: str, quantity_delta: int, t_s: float,
                   confidence: float) -> int:
    """Append a cart line; a put-back removes at most the units the cart holds of ``upc``.

    The caller has locked and checked the session (open, or exited for a correction).

    Returns:
        ``applied_delta``: the units that moved the cart (0 >= applied >= quantity_delta for a put-back).
    """
    held = s.scalar(
        select(func.coalesce(func.sum(CartLineRow.applied_delta), 0)).where(
            CartLineRow.session_id == session_id, CartLineRow.upc == upc
        )
    )
    applied = max(int(quantity_delta), -int(held or 0))
    s.add(CartLineRow(session_id=session_id, event_id=event_id, upc=upc, quantity_delta=int(quantity_delta),
                      applied_delta=applied, t_s=t_s, confidence=confidence))
    return applied


@dataclass(frozen=True)
class Booked:
    """A booked stock movement: its row, the plate's count after it, the part of a removal that
    found no unit (<= 0), and whether it had been booked before (nothing changed now)."""

    row: StockMovementRow
    count: int
    unapplied: int
    replayed: bool


def book_stock_movement(s: Session, *, recording: str, event_id: int, plate_id: str, upc: str, delta: int,
                        reason: str, session_id: str | None, t_s: float, misplaced: bool = False) -> Booked:
    """Log a stock movement and apply it to ``plate_stock`` (clamped at zero).

    ``(recording, event_id, plate_id, upc)`` is the idempotency key: a repeat with the same delta,
    reason and session changes nothing (``replayed``). ``plate_id`` must be normalised ("G.S.P").

    Raises:
        Refused: the key was booked before with another delta, reason or session.
    """
    key = (StockMovementRow.recording == recording, StockMovementRow.event_id == event_id,
           StockMovementRow.plate_id == plate_id, StockMovementRow.upc == upc)
    prior = s.scalars(select(StockMovementRow).where(*key)).one_or_none()
    stock = s.scalars(select(PlateStockRow).where(PlateStockRow.plate_id == plate_id, PlateStockRow.upc == upc)
                      .with_for_update()).one_or_none()
    have = stock.count if stock is not None else 0
    if prior is not None:
        if (prior.delta, prior.reason, prior.session_id) != (delta, reason, session_id):
            raise Refused(f"event_id {event_id}: movement {recording}/{event_id} of {upc} on {plate_id} is already "
                          f"recorded as {prior.delta:+d} ({prior.reason}, session {prior.session_id})")
        return Booked(prior, have, 0, True)
    row = StockMovementRow(recording=recording, event_id=event_id, plate_id=plate_id, upc=upc, delta=int(delta),
                           reason=reason, misplaced=misplaced, session_id=session_id, t_s=t_s)
    s.add(row)
    wanted = have + int(delta)
    count = max(wanted, 0)
    if stock is not None:
        stock.count, stock.updated_at = count, utc_now()
    elif count > 0:
        s.add(PlateStockRow(plate_id=plate_id, upc=upc, count=count))
    s.flush()
    return Booked(row, count, min(wanted, 0), False)
