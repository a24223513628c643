"""A small store world for the review, dispute, inventory and privacy tests (plain helpers).

Accounts with a card on the built-in ledger provider, sessions with cart lines, finalized
receipts (closed and charged), logged shelf events and queued review tasks. Works with the
``db`` and ``shop`` fixtures of tests/operations/conftest.py.
"""

from __future__ import annotations

from sqlalchemy import select

from walkout.carts.receipt import Receipt, make_receipt
from walkout.core.store import PlateId, Store
from walkout.engine.db import Database
from walkout.engine.result import Attribution, ReviewItem
from walkout.events.types import ShelfEvent
from walkout.operations import accounts, money
from walkout.operations.ledger import LedgerProvider

RECORDING = "rec-1"
REVIEWER = "rv-1"


def customer(db: Database, account_id: str, name: str | None = None, email: str | None = None) -> None:
    accounts.register_account(db, account_id, name or f"Name {account_id}", email or f"{account_id}@example.invalid")


def associate(db: Database, account_id: str = REVIEWER) -> None:
    accounts.register_account(db, account_id, f"Associate {account_id}", f"{account_id}@example.invalid", "associate")


def card(db: Database, provider: LedgerProvider, account_id: str) -> str:
    """Put a card on file; returns its provider token."""
    return accounts.add_payment_method(db, provider, account_id, "Visa ending 4242").provider_token


def shopping(
    db: Database, session_id: str, account_id: str, lines: dict[int, tuple[str, int]], recording: str = RECORDING
) -> None:
    """Open a session and book ``{event_id: (upc, delta)}``."""
    db.open_session(session_id, account_id, recording, 10.0)
    for event_id, (upc, delta) in lines.items():
        db.add_cart_line(session_id, event_id, upc, delta, 10.0 + event_id, 0.9)


def finalize(db: Database, store: Store, provider: LedgerProvider, session_id: str, exit_t_s: float = 70.0) -> Receipt:
    """Exit, store the receipt of the cart and charge it (``charge:<session>``)."""
    session = db.session(session_id)
    assert session is not None
    db.exit_session(session_id, exit_t_s)
    receipt = make_receipt(store, session_id, session.account_id, db.cart(session_id), session.entry_t_s, exit_t_s)
    stored = db.close_session(session_id, exit_t_s, receipt)
    if stored.total_cents > 0:
        money.pay(
            db,
            provider,
            receipt_session_id=session_id,
            kind="charge",
            amount_cents=stored.total_cents,
            idempotency_key=f"charge:{session_id}",
            reason="test checkout",
        )
    return stored


def log_event(
    db: Database,
    event_id: int,
    plates: dict[str, float],
    items: tuple[tuple[str, int], ...] = (),
    session_id: str | None = None,
    confidence: float = 0.4,
    recording: str = RECORDING,
) -> None:
    """Log a shelf event with ``{plate: delta_g}`` and the engine's attribution of it."""
    ids = tuple(PlateId.parse(p) for p in plates)
    event = ShelfEvent(
        event_id, ids[0].gondola, ids[0].shelf, 10.0 + event_id, 11.0 + event_id, ids, tuple(plates.values())
    )
    att = Attribution(event_id, event.t_end_s, event.kind, items, confidence, session_id, 1.0)
    db.log_shelf_event(event, recording, att)


def queue(
    db: Database,
    event_id: int,
    session_id: str | None = None,
    shoppers: tuple[tuple[str | None, float], ...] = (),
    recording: str = RECORDING,
    plates: tuple[str, ...] = ("1.1.1",),
) -> int:
    """Queue an event review task as the engine does; returns its review id."""
    evidence = {
        "shelf": "1.1",
        "plates": list(plates),
        "plate_delta_g": [-355.0],
        "products": [["1 x 111", 0.55], ["1 x 333", 0.45]],
        "shoppers": [list(x) for x in shoppers],
    }
    item = ReviewItem(event_id, 11.0 + event_id, "low confidence", 0.4, evidence, session_id)
    return db.add_review_item(item, recording)


def rows(db: Database, model, *where) -> list:
    """All ORM rows of ``model`` matching ``where`` (detached copies of their column values)."""
    with db.transaction("test rows") as s:
        return [
            {c.key: getattr(r, c.key) for c in model.__table__.columns} for r in s.scalars(select(model).where(*where))
        ]
