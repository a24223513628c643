"""What store staff (associates and managers) see and do: sessions, inventory, the review queue.

Thin views over :mod:`walkout.operations` (inventory, review) and the session tables; they add
the product names of the store's catalogue and nothing else.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, cast

from sqlalchemy import select

from walkout.carts.payments import PaymentProvider
from walkout.core.store import Store
from walkout.engine.db import Database
from walkout.engine.db.models import ReviewItemRow, SessionRow
from walkout.engine.db.models_ops import SessionMemberRow
from walkout.operations import inventory as inv
from walkout.operations import review
from walkout.service.errors import NotFound
from walkout.service.schemas import (
    InventoryPublic,
    MemberPublic,
    MisplacedPublic,
    PlateStockPublic,
    ProductStockPublic,
    ReviewDecisionPublic,
    ReviewTaskPublic,
    SessionDetailPublic,
    SessionPublic,
)
from walkout.service.shopping import priced_cart, receipt

SessionStatus = Literal["open", "exited", "closed", "deleted"]
MAX_SESSIONS = 1000


def sessions(db: Database, status: SessionStatus | None = None, limit: int = 100) -> list[SessionPublic]:
    """Sessions (of one status, or all), newest first, at most ``limit`` (<= 1000)."""
    query = select(SessionRow).order_by(SessionRow.created_at.desc(), SessionRow.session_id)
    if status is not None:
        query = query.where(SessionRow.status == status)
    with db.transaction("sessions") as s:
        return [_session(r) for r in s.scalars(query.limit(min(limit, MAX_SESSIONS)))]


def session_detail(db: Database, store: Store, session_id: str) -> SessionDetailPublic:
    """A session with its members, priced cart, receipt (once finalized) and review tasks.

    Raises:
        NotFound: unknown session.
    """
    with db.transaction("session_detail") as s:
        row = s.get(SessionRow, session_id)
        if row is None:
            raise NotFound(f"session {session_id!r} is unknown")
        head = _session(row)
        members = [
            MemberPublic(member_no=m.member_no, entry_t_s=m.entry_t_s, exit_t_s=m.exit_t_s)
            for m in s.scalars(
                select(SessionMemberRow)
                .where(SessionMemberRow.session_id == session_id)
                .order_by(SessionMemberRow.member_no)
            )
        ]
    lines, subtotal = priced_cart(store, db.cart(session_id))
    tasks = review.tasks(db, status=None, session_id=session_id)
    return SessionDetailPublic(
        **head.model_dump(),
        members=members,
        cart=lines,
        subtotal_cents=subtotal,
        receipt=receipt(db, session_id),
        review_ids=[t.review_id for t in tasks],
    )


def _session(row: SessionRow) -> SessionPublic:
    return SessionPublic(
        session_id=row.session_id,
        account_id=row.account_id,
        recording=row.recording,
        kind=cast(Literal["customer", "staff"], row.kind or "customer"),
        status=cast(SessionStatus, row.status),
        entry_t_s=row.entry_t_s,
        exit_t_s=row.exit_t_s,
        created_at=row.created_at,
    )


# ---------------------------------------------------------------- inventory
def inventory(db: Database, store: Store) -> InventoryPublic:
    """Units per product (every catalogue product, 0 when none is on a shelf; plus any stocked UPC the
    catalogue lacks) with thresholds and the low flag, and units per plate."""
    names = {p.upc: p.name for p in store.products}
    stocked = {p.upc: p for p in inv.product_stock(db)}
    products = []
    for upc in [*names, *sorted(set(stocked) - set(names))]:
        p = stocked.get(upc)
        units, on, threshold = (0, (), None) if p is None else (p.units, p.plates, p.threshold)
        low = threshold is not None and units <= threshold
        products.append(
            ProductStockPublic(
                upc=upc, name=names.get(upc, upc), units=units, plates=list(on), threshold=threshold, low=low
            )
        )
    plates = [
        PlateStockPublic(plate_id=r.plate_id, upc=r.upc, name=names.get(r.upc, r.upc), units=r.units)
        for r in inv.plate_stock(db)
    ]
    return InventoryPublic(products=products, plates=plates, low=[p.upc for p in products if p.low])


def set_threshold(db: Database, store: Store, upc: str, threshold: int | None) -> ProductStockPublic:
    """Set (None: remove) a catalogue product's low-stock threshold and raise or clear its alert.

    Raises:
        NotFound: the store does not sell ``upc``.
    """
    if upc not in store.product_by_upc:
        raise NotFound(f"set_threshold: {store.name} sells no product {upc!r}")
    inv.set_threshold(db, upc, threshold)
    inv.raise_alerts(db)
    return next(p for p in inventory(db, store).products if p.upc == upc)


def misplaced(db: Database, store: Store) -> list[MisplacedPublic]:
    """Units lying on plates outside their product's facings (:func:`walkout.operations.inventory.misplaced`)."""
    names = {p.upc: p.name for p in store.products}
    return [
        MisplacedPublic(
            plate_id=m.plate_id,
            upc=m.upc,
            name=names.get(m.upc, m.upc),
            units=m.units,
            facing_plates=list(m.facing_plates),
        )
        for m in inv.misplaced(db, store)
    ]


# ---------------------------------------------------------------- review
def review_tasks(db: Database, status: Literal["open", "resolved"] | None = "open") -> list[ReviewTaskPublic]:
    """Review tasks (open, resolved or all) in recording-time order."""
    return [ReviewTaskPublic.model_validate(dataclasses.asdict(t)) for t in review.tasks(db, status=status)]


def decide(
    db: Database,
    store: Store,
    provider: PaymentProvider,
    review_id: int,
    *,
    reviewer_id: str,
    action: Literal["approve", "correct", "reject"],
    items: list[tuple[str, int]] | None,
    session_id: str | None,
) -> ReviewDecisionPublic:
    """Record a reviewer's verdict (:func:`walkout.operations.review.decide`).

    Raises:
        NotFound: unknown review task.
        OperationError: a verdict that does not fit the task (e.g. items with ``approve``).
        PaymentError: the provider declined a refund or charge (the task stays open).
    """
    with db.transaction("decide") as s:
        if s.get(ReviewItemRow, review_id) is None:
            raise NotFound(f"decide: review task {review_id} is unknown")
    out = review.decide(
        db,
        review_id,
        reviewer_id=reviewer_id,
        action=action,
        store=store,
        items=items,
        session_id=session_id,
        provider=provider,
    )
    dispute: dict[str, Any] | None = None if out.dispute is None else dataclasses.asdict(out.dispute)
    return ReviewDecisionPublic(
        review_id=out.review_id,
        kind=out.kind,
        action=out.action,
        decided_by=out.decided_by,
        replayed=out.replayed,
        cart=[dataclasses.asdict(c) for c in out.cart],
        adjustments=[dataclasses.asdict(a) for a in out.adjustments],
        stock=list(out.stock),
        dispute=dispute,
    )
