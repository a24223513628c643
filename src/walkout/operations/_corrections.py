"""How a reviewer's correction of a shelf event is carried out (private to :mod:`walkout.operations.review`).

:func:`plan` compares the verdict with what the engine booked for the event and says what must
change: compensating cart lines for sessions not finalized, re-priced money adjustments for
closed sessions, stock corrections where the stock ledger holds the event's movements.
:func:`pay` moves the money (once per key), :func:`book` writes a compensating cart line,
:func:`written` is the decision JSON of what was done and :func:`notify` e-mails the payers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from walkout.carts import render
from walkout.carts.payments import PaymentProvider
from walkout.carts.receipt import tax_cents
from walkout.core.errors import OperationError
from walkout.core.store import PlateId, Store
from walkout.engine.db import Database
from walkout.engine.db.ledgers import book_cart_line
from walkout.engine.db.models import CartLineRow, ReceiptLineRow, ReceiptRow, ReviewItemRow, SessionRow, ShelfEventRow
from walkout.engine.db.models_ops import StockMovementRow
from walkout.operations import money, outbox
from walkout.operations._common import ADJUSTMENTS, notice, refunded_dispute_units, review_adjusted_units
from walkout.operations.inventory import _move as move


@dataclass(frozen=True)
class CartCorrection:
    """A compensating cart line: ``delta`` units of ``upc`` asked, ``applied`` moved (clamped at zero)."""

    session_id: str
    upc: str
    delta: int
    applied: int


@dataclass(frozen=True)
class Adjustment:
    """Money moved for a closed session: ``units`` ((upc, delta), ...) re-priced to ``amount_cents``.

    ``kind`` is ``refund`` or ``charge`` (None when the units' price is zero); ``payment_id`` the
    recorded payment.
    """

    session_id: str
    units: tuple[tuple[str, int], ...]
    kind: Literal["charge", "refund"] | None
    amount_cents: int
    payment_id: int | None


@dataclass(frozen=True)
class Plan:
    """What a correction changes: cart lines, closed-session adjustments and stock."""

    cart: tuple[tuple[str, str, int], ...]  # (session, upc, delta) of sessions not finalized
    closed: tuple[tuple[str, tuple[tuple[str, int], ...], int], ...]  # (session, ((upc, delta), ...), signed cents)
    stock: tuple[tuple[str, str, int], ...]  # (plate, upc, delta)


def plan(s: Session, task: ReviewItemRow, decision: dict[str, Any], store: Store) -> Plan:
    """Compare the verdict with what the engine booked for the event; what must change where."""
    sid = decision["session_id"]
    if sid is not None:
        session = s.get(SessionRow, sid)
        if session is None or session.recording != task.recording:
            raise OperationError(f"decide: session_id {sid!r} is not a session of recording {task.recording!r}")
        if session.kind != "customer" or session.status == "deleted":
            raise OperationError(
                f"decide: session_id {sid!r} is a {session.kind} session ({session.status}); "
                "use session_id=None for nobody or an associate"
            )
    booked: dict[tuple[str, str], int] = {}
    query = (
        select(CartLineRow.session_id, CartLineRow.upc, func.sum(CartLineRow.applied_delta))
        .join(SessionRow, SessionRow.session_id == CartLineRow.session_id)
        .where(SessionRow.recording == task.recording, CartLineRow.event_id == task.event_id)
        .group_by(CartLineRow.session_id, CartLineRow.upc)
    )
    for s_id, upc, total in s.execute(query):
        booked[(str(s_id), str(upc))] = int(total or 0)
    sign = direction(s, task, booked)
    truth = {(sid, str(u)): sign * int(q) for u, q in decision["items"]} if sid is not None else {}
    diff = {k: truth.get(k, 0) - booked.get(k, 0) for k in sorted(set(truth) | set(booked))}
    cart: list[tuple[str, str, int]] = []
    closed_units: dict[str, list[tuple[str, int]]] = {}
    for (s_id, upc), delta in diff.items():
        if delta == 0:
            continue
        status = s.scalar(select(SessionRow.status).where(SessionRow.session_id == s_id))
        if status in ("open", "exited"):
            cart.append((s_id, upc, delta))
        elif status == "closed":
            closed_units.setdefault(s_id, []).append((upc, delta))
    closed = []
    for s_id, units in closed_units.items():
        cents, effective = reprice(s, s_id, units, store)
        if effective:
            closed.append((s_id, effective, cents))
    return Plan(tuple(cart), tuple(closed), stock_plan(s, task, sign, decision["items"]))


def direction(s: Session, task: ReviewItemRow, booked: dict[tuple[str, str], int]) -> int:
    """+1 if the event is a pick (units into a cart), -1 for a put-back."""
    kind = s.scalar(
        select(ShelfEventRow.kind).where(
            ShelfEventRow.recording == task.recording, ShelfEventRow.event_id == task.event_id
        )
    )
    if kind is not None:
        return 1 if kind == "pick" else -1
    total = sum(booked.values())
    return -1 if total < 0 else 1


def reprice(
    s: Session, session_id: str, units: list[tuple[str, int]], store: Store
) -> tuple[int, tuple[tuple[str, int], ...]]:
    """What correcting a closed session by ``units`` ((upc, delta), ...) changes on its charge.

    The units charged now are the receipt's, minus refunded disputes, plus earlier reviewers'
    adjustments; a removal finds at most those (never below zero). Both totals are priced with
    the receipt's prices (the catalogue's for a product not on it) and the store's tax rate.

    Returns:
        (signed cents: > 0 to charge, < 0 to refund; the effective (upc, delta) pairs, zeros dropped).
    """
    receipt = s.scalars(select(ReceiptRow).where(ReceiptRow.session_id == session_id)).one()
    lines = list(s.scalars(select(ReceiptLineRow).where(ReceiptLineRow.receipt_id == receipt.receipt_id)))
    price = {r.upc: (r.unit_price_cents, bool(r.taxable)) for r in lines}
    qty = {r.upc: r.quantity for r in lines}
    for (_sid, upc), n in refunded_dispute_units(s, session_id).items():
        qty[upc] = qty.get(upc, 0) - n
    for (_sid, upc), delta in review_adjusted_units(s, session_id).items():
        qty[upc] = qty.get(upc, 0) + delta
    after = dict(qty)
    for upc, delta in units:
        after[upc] = max(after.get(upc, 0) + delta, 0)
        if upc not in price:
            p = store.product_by_upc[upc]
            price[upc] = (p.price_cents, p.taxable)

    def total(q: dict[str, int]) -> int:
        sub = sum(n * price[u][0] for u, n in q.items() if n > 0)
        taxable = sum(n * price[u][0] for u, n in q.items() if n > 0 and price[u][1])
        return sub + tax_cents(taxable, store.tax_rate)

    effective = tuple((u, after[u] - max(qty.get(u, 0), 0)) for u, _d in units if after[u] != max(qty.get(u, 0), 0))
    return total(after) - total(qty), effective


def stock_plan(s: Session, task: ReviewItemRow, sign: int, items: list[list[Any]]) -> tuple[tuple[str, str, int], ...]:
    """Stock corrections, where the stock ledger holds the event's movements."""
    rows = list(
        s.scalars(
            select(StockMovementRow).where(
                StockMovementRow.recording == task.recording, StockMovementRow.event_id == task.event_id
            )
        )
    )
    if not rows:
        return ()
    booked: dict[str, int] = {}
    plate: dict[str, str] = {}
    for r in rows:
        booked[r.upc] = booked.get(r.upc, 0) + r.delta
        plate.setdefault(r.upc, r.plate_id)
    truth = {str(u): -sign * int(q) for u, q in items}
    event_plates = sorted((PlateId.parse(p) for p in (task.evidence or {}).get("plates", [])), key=tuple)
    fallback = str(event_plates[0]) if event_plates else rows[0].plate_id
    out = []
    for upc in sorted(set(truth) | set(booked)):
        delta = truth.get(upc, 0) - booked.get(upc, 0)
        if delta:
            out.append((plate.get(upc, fallback), upc, delta))
    return tuple(out)


def money_kind(cents: int) -> Literal["charge", "refund"] | None:
    return None if cents == 0 else ("charge" if cents > 0 else "refund")


def pay(db: Database, provider: PaymentProvider | None, review_id: int, plan: Plan) -> dict[str, int]:
    """Pay each closed session's adjustment (once per key); session -> payment id."""
    paid: dict[str, int] = {}
    for sid, _units, cents in plan.closed:
        what = money_kind(cents)
        if what is None:
            continue
        if provider is None:
            raise OperationError(f"decide: provider is needed to {what} closed session {sid!r}")
        record = money.pay(
            db,
            provider,
            receipt_session_id=sid,
            kind=what,
            amount_cents=abs(cents),
            idempotency_key=f"review:{review_id}:{sid}",
            reason=f"review {review_id}: corrected shelf event",
        )
        paid[sid] = record.payment_id
    return paid


def book(s: Session, session_id: str, review_id: int, upc: str, delta: int, t_s: float) -> CartCorrection:
    """A compensating cart line (the rule of Database.add_cart_line: put-backs clamp at zero)."""
    session = s.scalars(select(SessionRow).where(SessionRow.session_id == session_id).with_for_update()).one()
    if session.status not in ("open", "exited"):
        raise OperationError(f"decide: session {session_id!r} was finalized meanwhile; decide again")
    applied = book_cart_line(s, session_id, -review_id, upc, delta, t_s, 1.0)
    return CartCorrection(session_id, upc, delta, applied)


def write(
    s: Session, task: ReviewItemRow, plan: Plan, paid: dict[str, int]
) -> tuple[tuple[CartCorrection, ...], tuple[Adjustment, ...]]:
    """Write the plan's cart lines and stock corrections in ``s``; the adjustments as paid."""
    review_id = task.review_id
    cart = tuple(book(s, sid, review_id, upc, delta, task.t_s) for sid, upc, delta in plan.cart)
    for plate, upc, delta in plan.stock:
        move(
            s,
            recording=task.recording,
            event_id=-review_id,
            plate_id=plate,
            upc=upc,
            delta=delta,
            reason="correction",
            session_id=None,
            t_s=task.t_s,
        )
    adjustments = tuple(
        Adjustment(sid, units, money_kind(cents), abs(cents), paid.get(sid)) for sid, units, cents in plan.closed
    )
    return cart, adjustments


def written(
    cart: tuple[CartCorrection, ...], adjustments: tuple[Adjustment, ...], stock: tuple[tuple[str, str, int], ...]
) -> dict[str, Any]:
    return {
        "cart": [[c.session_id, c.upc, c.delta, c.applied] for c in cart],
        ADJUSTMENTS: [{"session_id": a.session_id, "upc": u, "delta": d} for a in adjustments for u, d in a.units],
        "payments": [
            {"session_id": a.session_id, "kind": a.kind, "amount_cents": a.amount_cents, "payment_id": a.payment_id}
            for a in adjustments
            if a.kind is not None
        ],
        "stock": [list(x) for x in stock],
    }


def notify(db: Database, store: Store, review_id: int, adjustments: tuple[Adjustment, ...]) -> None:
    """E-mail each closed session's payer about the adjustment (once per key)."""
    for adj in adjustments:
        if adj.kind is None:
            continue
        receipt = db.receipt(adj.session_id)
        account = None if receipt is None else db.account(receipt.account_id)
        if receipt is None or account is None or account.status != "active":
            continue
        what = ", ".join(f"{d:+d} x {store.product_by_upc[u].name}" for u, d in adj.units)
        reason = f"Receipt corrected after review: {what}"
        if adj.kind == "refund":
            kw: dict[str, Any] = {
                "customer_name": account.name,
                "amount_cents": adj.amount_cents,
                "reason": reason,
                "payment_label": None,
            }
            subject = f"Your refund from {store.name}"
            text, html = render.refund_text(receipt, store, **kw), render.refund_html(receipt, store, **kw)
        else:
            subject = f"A correction of your receipt from {store.name}"
            text, html = notice(
                subject,
                [
                    f"Hi {account.name}, a review of your visit ({adj.session_id}) found an item the receipt missed.",
                    reason,
                    f"We charged {render.format_cents(adj.amount_cents, receipt.currency)} to your payment method.",
                ],
            )
        outbox.enqueue(
            db,
            idempotency_key=f"review:{review_id}:{adj.session_id}",
            account_id=account.account_id,
            kind="refund" if adj.kind == "refund" else "adjustment",
            to_addr=account.email,
            subject=subject,
            body_text=text,
            body_html=html,
        )
