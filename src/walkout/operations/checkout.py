"""Checkout: finalize an exited session's receipt, charge it once, e-mail it.

When the last member of a shopping group leaves, the engine marks the session ``exited``
(:meth:`walkout.engine.db.Database.exit_session`). :meth:`Checkout.finalize` then, for a customer
session:

1. waits while review tasks of the session are open, at most ``review_wait_s`` after the exit
   (a reviewer's correction can still change the cart);
2. prices the stored cart ledger (:func:`walkout.carts.receipt.make_receipt`) and stores the
   receipt, closing the session (:meth:`~walkout.engine.db.Database.close_session`);
3. charges the total, if any, with the idempotency key ``charge:<session>``
   (:func:`walkout.operations.money.pay`);
4. queues the receipt e-mail (``receipt:<session>``: text, HTML, optionally a PDF) in the
   outbox and delivers it at once.

Every step is idempotent, so finalization can be retried any number of times, also after a crash
between two steps: the stored receipt is reused once the session is closed, the payment is looked
up by its key (and the provider answers a repeated key with its first result), and the e-mail
exists once per key. :meth:`Checkout.finalize_due` finalizes every exited session and resumes
every closed one whose finalization stopped before its e-mail was queued.

Staff sessions (an associate restocking) are closed with no receipt, charge or e-mail.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import and_, exists, func, literal, select

from walkout.carts import render
from walkout.carts.payments import PaymentProvider, ProviderResult
from walkout.carts.receipt import Receipt, make_receipt
from walkout.core.errors import OperationError, PaymentError, StorageError, WalkoutError
from walkout.core.store import Store
from walkout.engine.db import AccountRecord, Database, SessionRecord
from walkout.engine.db.models import AccountRow, ReceiptRow, ReviewItemRow, SessionRow, utc_now
from walkout.engine.db.models_ops import OutboxMessageRow
from walkout.io.mail import MailSender
from walkout.operations import _checks, accounts, money, outbox
from walkout.operations.money import PaymentRecord

OutcomeStatus = Literal["waiting", "finalized", "nothing_to_charge", "payment_failed", "staff", "error"]


@dataclass(frozen=True)
class CheckoutParams:
    """How checkout behaves.

    Attributes:
        review_wait_s: how long after the exit (seconds, recording clock) finalization waits for
            the session's open review tasks; after that the receipt is finalized anyway and a
            later correction becomes a refund or an extra charge.
        pdf: attach the receipt as a PDF (needs the ``pdf`` extra, reportlab).
        sender: the receipts' From address.

    Raises:
        OperationError: a negative or non-finite wait, or a malformed sender.
    """

    review_wait_s: float = 120.0
    pdf: bool = False
    sender: str = "receipts@walkout.invalid"

    def __post_init__(self) -> None:
        wait = self.review_wait_s
        if isinstance(wait, bool) or not isinstance(wait, int | float) or not math.isfinite(wait) or wait < 0:
            raise OperationError(f"CheckoutParams: review_wait_s must be a finite number >= 0, got {wait!r}")
        _checks.email("CheckoutParams", "sender", self.sender)


@dataclass(frozen=True)
class FinalizeOutcome:
    """What :meth:`Checkout.finalize` did for one session.

    ``status``:

    - ``waiting``: review tasks are open and ``review_wait_s`` has not passed; nothing written.
      Retry at ``retry_at_s``.
    - ``finalized``: receipt stored, total charged (``payment`` succeeded), e-mail queued/sent.
    - ``nothing_to_charge``: receipt stored with a zero total, e-mailed, not charged.
    - ``payment_failed``: receipt stored and the session closed; the charge was declined or the
      payer has no payment method (``payment`` is the failed record; ``detail`` says why); the
      e-mail says so. Not retried: collecting it is a store decision.
    - ``staff``: a staff session, closed without receipt, charge or e-mail.
    - ``error``: (only from :meth:`Checkout.finalize_due`) finalizing raised; ``detail`` says what.

    Attributes:
        session_id: the session.
        status: see above.
        receipt: the stored receipt (None: waiting, staff, error).
        payment: the charge record (None: no charge was due or tried).
        message_id: the receipt e-mail's outbox id (None: none, e.g. an erased account).
        mail_status: that message's status after the immediate delivery attempt.
        open_reviews: the session's open review tasks when finalize looked.
        retry_at_s: when waiting ends (recording clock), or None.
        detail: the payment failure or error message; empty otherwise.
    """

    session_id: str
    status: OutcomeStatus
    receipt: Receipt | None = None
    payment: PaymentRecord | None = None
    message_id: int | None = None
    mail_status: Literal["queued", "sent", "failed"] | None = None
    open_reviews: int = 0
    retry_at_s: float | None = None
    detail: str = ""


class Checkout:
    """Finalizes exited sessions: receipt, charge, e-mail.

    Args:
        db: the walkout database (migrated).
        store: the store whose catalogue prices the carts.
        provider: the payment provider (e.g. :class:`walkout.operations.ledger.LedgerProvider`).
        mailer: the mail sender (e.g. :class:`walkout.io.mail.SmtpSender`); None leaves the
            e-mails queued in the outbox for a later :func:`walkout.operations.outbox.deliver`.
        params: see :class:`CheckoutParams`.
    """

    def __init__(
        self,
        db: Database,
        store: Store,
        provider: PaymentProvider,
        mailer: MailSender | None,
        params: CheckoutParams = CheckoutParams(),
    ) -> None:
        self._db, self._store, self._provider, self._mailer, self.params = db, store, provider, mailer, params

    def finalize(
        self, session_id: str, *, now_s: float, crash_after_charge: Callable[[], None] | None = None
    ) -> FinalizeOutcome:
        """Finalize one exited (or resume one closed) session; idempotent and safe to retry.

        Args:
            session_id: an exited or closed session.
            now_s: the current time in seconds on the recording clock (compared with the exit time).
            crash_after_charge: test hook called right after the provider executed the charge and
                before the payment is recorded (raise in it to simulate a crash there).

        Raises:
            OperationError: unknown, open or deleted session, or a cart holding a UPC the store
                does not sell.
            StorageError: the database failed; retrying is safe.
        """
        session = self._db.session(session_id)
        if session is None:
            raise OperationError(f"finalize: session {session_id!r} is unknown")
        if session.status not in ("exited", "closed") or session.exit_t_s is None:
            raise OperationError(
                f"finalize: session {session_id!r} is {session.status}; only exited sessions are finalized"
            )
        if session.kind == "staff":
            self._close_staff(session_id)
            return FinalizeOutcome(session_id, "staff")
        open_reviews = self._open_reviews(session_id)
        if session.status == "exited" and open_reviews and now_s - session.exit_t_s < self.params.review_wait_s:
            retry_at_s = session.exit_t_s + self.params.review_wait_s
            return FinalizeOutcome(session_id, "waiting", open_reviews=open_reviews, retry_at_s=retry_at_s)
        receipt = self._close(session)
        payment, detail = self._charge(receipt, crash_after_charge)
        message_id, mail_status = self._mail(session, receipt, payment)
        if receipt.total_cents == 0:
            status: OutcomeStatus = "nothing_to_charge"
        else:
            status = "finalized" if payment is not None and payment.status == "succeeded" else "payment_failed"
        return FinalizeOutcome(
            session_id, status, receipt, payment, message_id, mail_status, open_reviews, None, detail
        )

    def finalize_due(self, now_s: float) -> list[FinalizeOutcome]:
        """Finalize every exited session (in exit order), then resume every interrupted one.

        Interrupted: closed by checkout (it went through ``exited``) with a receipt but no receipt
        e-mail queued, and an active account: a finalization that stopped after step 2 or 3. A
        session whose finalization raises gets an ``error`` outcome; the others go on.
        """
        outcomes = []
        for session_id in self._due():
            try:
                outcomes.append(self.finalize(session_id, now_s=now_s))
            except WalkoutError as exc:
                outcomes.append(FinalizeOutcome(session_id, "error", detail=str(exc)))
        return outcomes

    # ---- steps ----
    def _due(self) -> list[str]:
        mailed = exists().where(OutboxMessageRow.idempotency_key == literal("receipt:") + SessionRow.session_id)
        with self._db.transaction("finalize_due") as s:
            exited = s.scalars(
                select(SessionRow.session_id)
                .where(SessionRow.status == "exited")
                .order_by(SessionRow.exit_t_s, SessionRow.session_id)
            )
            interrupted = s.scalars(
                select(SessionRow.session_id)
                .join(ReceiptRow, ReceiptRow.session_id == SessionRow.session_id)
                .join(AccountRow, AccountRow.account_id == SessionRow.account_id)
                .where(
                    and_(SessionRow.status == "closed", SessionRow.kind == "customer"),
                    SessionRow.exited_at.is_not(None),
                    AccountRow.status == "active",
                    ~mailed,
                )
                .order_by(SessionRow.exit_t_s, SessionRow.session_id)
            )
            return [*exited, *interrupted]

    def _open_reviews(self, session_id: str) -> int:
        with self._db.transaction("finalize") as s:
            query = select(func.count()).where(ReviewItemRow.session_id == session_id, ReviewItemRow.status == "open")
            return int(s.scalar(query) or 0)

    def _close_staff(self, session_id: str) -> None:
        with self._db.transaction("finalize") as s:
            row = s.scalars(select(SessionRow).where(SessionRow.session_id == session_id).with_for_update()).one()
            if row.status == "exited":
                row.status, row.closed_at = "closed", utc_now()

    def _close(self, session: SessionRecord) -> Receipt:
        """Step 2: the stored receipt of a closed session, else price the cart and close the session."""
        assert session.exit_t_s is not None
        if session.status == "exited":
            cart = self._db.cart(session.session_id)
            try:
                receipt = make_receipt(
                    self._store, session.session_id, session.account_id, cart, session.entry_t_s, session.exit_t_s
                )
            except KeyError as exc:
                raise OperationError(
                    f"finalize: session {session.session_id!r}: the cart holds UPC {exc.args[0]!r}, which the store does not sell"
                ) from exc
            try:
                return self._db.close_session(session.session_id, session.exit_t_s, receipt)
            except StorageError:
                now = self._db.session(session.session_id)
                if now is None or now.status != "closed":
                    raise
                # closed meanwhile by another finalizer (perhaps before a correction): its receipt stands
        stored = self._db.receipt(session.session_id)
        if stored is None:
            raise OperationError(f"finalize: session {session.session_id!r} is closed without a receipt")
        return stored

    def _charge(self, receipt: Receipt, hook: Callable[[], None] | None) -> tuple[PaymentRecord | None, str]:
        """Step 3: charge the total once; returns the payment record and the failure message."""
        if receipt.total_cents == 0:
            return None, ""
        provider = self._provider if hook is None else _HookedProvider(self._provider, hook)
        key = f"charge:{receipt.session_id}"
        try:
            payment = money.pay(
                self._db,
                provider,
                receipt_session_id=receipt.session_id,
                kind="charge",
                amount_cents=receipt.total_cents,
                idempotency_key=key,
                reason=f"Receipt {receipt.session_id} at {self._store.name}"[:200],
            )
        except PaymentError as exc:
            return money.payment_by_key(self._db, key), str(exc)
        return payment, ""

    def _mail(
        self, session: SessionRecord, receipt: Receipt, payment: PaymentRecord | None
    ) -> tuple[int | None, Literal["queued", "sent", "failed"] | None]:
        """Step 4: queue the receipt e-mail once and try to deliver it now."""
        key = f"receipt:{session.session_id}"
        message_id = outbox.message_id_by_key(self._db, key)
        if message_id is None:
            account = accounts.account(self._db, session.account_id)
            if account is None or account.status != "active":
                return None, None  # erased: no address to write to
            message_id = self._enqueue(key, account, receipt, payment)
        if self._mailer is not None:
            outbox.deliver(self._db, self._mailer, sender=self.params.sender, message_ids=[message_id])
        stored = outbox.message(self._db, message_id)
        return message_id, None if stored is None else stored.status

    def _enqueue(self, key: str, account: AccountRecord, receipt: Receipt, payment: PaymentRecord | None) -> int:
        store, name, label = self._store, account.name, _payment_label(receipt, payment)
        stay_s = receipt.exit_t_s - receipt.entry_t_s
        text = render.receipt_text(receipt, store, customer_name=name, time_in_store_s=stay_s, payment_label=label)
        html = render.receipt_html(receipt, store, customer_name=name, time_in_store_s=stay_s, payment_label=label)
        pdf = None
        if self.params.pdf:
            pdf = render.receipt_pdf(receipt, store, customer_name=name, time_in_store_s=stay_s, payment_label=label)
        total = render.format_cents(receipt.total_cents, receipt.currency)
        return outbox.enqueue(
            self._db,
            idempotency_key=key,
            account_id=account.account_id,
            kind="receipt",
            to_addr=account.email,
            subject=f"Your receipt from {store.name}: {total}"[:200],
            body_text=text,
            body_html=html,
            attachment_pdf=pdf,
        )


def _payment_label(receipt: Receipt, payment: PaymentRecord | None) -> str:
    if receipt.total_cents == 0:
        return "nothing charged"
    label = None if payment is None else payment.method_label
    if payment is not None and payment.status == "succeeded":
        return label or "payment method on file"
    return f"payment failed: {label or 'no payment method on file'}; we will contact you"


class _HookedProvider:
    """A provider that calls ``hook`` right after each executed charge (the crash-test seam)."""

    def __init__(self, inner: PaymentProvider, hook: Callable[[], None]) -> None:
        self._inner, self._hook, self.name = inner, hook, inner.name

    def new_payment_method(self, account_id: str, label: str) -> str:
        return self._inner.new_payment_method(account_id, label)

    def charge(
        self, provider_token: str, amount_cents: int, currency: str, idempotency_key: str, description: str
    ) -> ProviderResult:
        result = self._inner.charge(provider_token, amount_cents, currency, idempotency_key, description)
        self._hook()
        return result

    def refund(
        self, provider_token: str, amount_cents: int, currency: str, idempotency_key: str, description: str
    ) -> ProviderResult:
        return self._inner.refund(provider_token, amount_cents, currency, idempotency_key, description)
