"""A transactional outbox for e-mail (receipts, refund notices).

An operation that decides to send an e-mail writes it to ``outbox_messages`` (:func:`enqueue`,
once per idempotency key) and :func:`deliver` hands queued messages to a
:class:`walkout.io.mail.MailSender` afterwards: no e-mail is lost when the mail server is down,
and none is written for a change that rolled back (the transactional-outbox pattern, Chris
Richardson, *Microservices Patterns*, 2018, ch. 3).

Delivery is at least once: a process that dies after the server accepted a message and before it
was marked sent sends it again on the next :func:`deliver`. Each message carries a stable
``Message-ID`` derived from its key so a receiving system can recognise the repeat. A
:class:`~walkout.core.errors.MailError` counts an attempt and keeps the message queued; after
``max_attempts`` it is marked ``failed``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Literal, cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from walkout.core.errors import MailError, OperationError, StorageError
from walkout.engine.db import Database
from walkout.engine.db.models import utc_now
from walkout.engine.db.models_ops import OutboxMessageRow
from walkout.io.mail import MailSender, build_message
from walkout.operations import _checks

MAX_ATTEMPTS = 5
Status = Literal["queued", "sent", "failed"]


@dataclass(frozen=True)
class OutboxMessage:
    """A stored e-mail and its delivery state.

    Attributes:
        message_id: the outbox id.
        idempotency_key: what makes it exist once (``receipt:<session>``, ``refund:<payment>``, ...).
        account_id: the account it is for (None: none).
        kind: what it is (``receipt``, ``refund``, ...).
        to_addr: recipient address.
        subject: subject line.
        body_text: plain-text body.
        body_html: HTML body.
        attachment_pdf: a PDF attached to it, or None.
        status: ``queued``, ``sent`` or ``failed`` (gave up after ``max_attempts``).
        attempts: failed delivery attempts so far.
        last_error: the last delivery error, or None.
        created_at: when it was queued (timezone-aware UTC).
        sent_at: when the mail server accepted it, or None.
    """

    message_id: int
    idempotency_key: str
    account_id: str | None
    kind: str
    to_addr: str
    subject: str
    body_text: str
    body_html: str
    attachment_pdf: bytes | None
    status: Status
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class DeliveryReport:
    """What one :func:`deliver` run did, as outbox message ids.

    Attributes:
        sent: accepted by the mail server now.
        retrying: failed now, still queued for another attempt.
        failed: failed now for the last time (marked failed).
    """

    sent: tuple[int, ...] = ()
    retrying: tuple[int, ...] = ()
    failed: tuple[int, ...] = ()


def enqueue(
    db: Database,
    *,
    idempotency_key: str,
    account_id: str | None,
    kind: str,
    to_addr: str,
    subject: str,
    body_text: str,
    body_html: str,
    attachment_pdf: bytes | None = None,
) -> int:
    """Queue an e-mail once per ``idempotency_key``; returns its outbox id.

    A repeated key returns the existing message's id and writes nothing (its contents are kept).

    Raises:
        OperationError: a malformed field (named): key, kind (1-16 letters), recipient address,
            subject (1-200 characters, one line), bodies that are not strings, an attachment that
            is not a PDF.
        StorageError: the database failed (e.g. an unknown ``account_id``).
    """
    op = "enqueue"
    _checks.key(op, idempotency_key)
    _checks.ident(op, "kind", kind, 16)
    _checks.email(op, "to_addr", to_addr)
    _checks.text(op, "subject", subject, 200)
    if "\n" in subject or "\t" in subject:
        raise OperationError(f"{op}: subject must be one line")
    _checks.text(op, "body_text", body_text, 1_000_000, allow_empty=True)
    _checks.text(op, "body_html", body_html, 1_000_000, allow_empty=True)
    if attachment_pdf is not None and (not isinstance(attachment_pdf, bytes) or not attachment_pdf.startswith(b"%PDF")):
        raise OperationError(f"{op}: attachment_pdf must be PDF bytes (starting with %PDF)")
    try:
        with db.transaction(op) as s:
            existing = _id_by_key(s, idempotency_key)
            if existing is not None:
                return existing
            row = OutboxMessageRow(
                idempotency_key=idempotency_key,
                account_id=account_id,
                kind=kind,
                to_addr=to_addr,
                subject=subject,
                body_text=body_text,
                body_html=body_html,
                attachment_pdf=attachment_pdf,
                status="queued",
                attempts=0,
            )
            s.add(row)
            s.flush()
            return row.message_id
    except StorageError as exc:
        if not _checks.is_integrity_error(exc):
            raise
        with db.transaction(op) as s:
            existing = _id_by_key(s, idempotency_key)
        if existing is None:
            raise
        return existing


def deliver(
    db: Database,
    mailer: MailSender,
    *,
    sender: str,
    limit: int = 100,
    max_attempts: int = MAX_ATTEMPTS,
    message_ids: Collection[int] | None = None,
) -> DeliveryReport:
    """Send up to ``limit`` queued messages (oldest first, or only ``message_ids``) with ``mailer``.

    Each message is built with :func:`walkout.io.mail.build_message` (text + HTML alternative,
    the PDF attached as ``<key>.pdf``) and marked ``sent`` with ``sent_at`` once the server took
    it. A :class:`~walkout.core.errors.MailError` increments ``attempts`` and records
    ``last_error``; the message stays queued until ``max_attempts`` failures, then is ``failed``.

    Args:
        db: the walkout database.
        mailer: the mail sender (e.g. :class:`walkout.io.mail.SmtpSender`).
        sender: the From address.
        limit: at most this many messages (>= 1).
        max_attempts: failures after which a message is given up (>= 1).
        message_ids: deliver only these (those still queued); None for any queued message.

    Raises:
        OperationError: a malformed sender, limit or max_attempts.
        StorageError: the database failed (a message sent but not marked is sent again next time).
    """
    op = "deliver"
    _checks.email(op, "sender", parseaddr(sender)[1])
    for name, value in (("limit", limit), ("max_attempts", max_attempts)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise OperationError(f"{op}: {name} must be an integer >= 1, got {value!r}")
    domain = parseaddr(sender)[1].rpartition("@")[2]
    with db.transaction(op) as s:
        query = select(OutboxMessageRow).where(OutboxMessageRow.status == "queued")
        if message_ids is not None:
            query = query.where(OutboxMessageRow.message_id.in_(list(message_ids)))
        batch = [_record(r) for r in s.scalars(query.order_by(OutboxMessageRow.message_id).limit(limit))]
    sent: list[int] = []
    retrying: list[int] = []
    failed: list[int] = []
    for msg in batch:
        try:
            mailer.send(_email(msg, sender, domain))
        except MailError as exc:
            gave_up = _count_failure(db, msg, str(exc), max_attempts)
            (failed if gave_up else retrying).append(msg.message_id)
            continue
        with db.transaction(op) as s:
            s.execute(
                update(OutboxMessageRow)
                .where(OutboxMessageRow.message_id == msg.message_id, OutboxMessageRow.status == "queued")
                .values(status="sent", sent_at=utc_now())
            )
        sent.append(msg.message_id)
    return DeliveryReport(tuple(sent), tuple(retrying), tuple(failed))


def messages(db: Database, account_id: str | None = None) -> list[OutboxMessage]:
    """The outbox's messages (of one account, or all), oldest first."""
    with db.transaction("messages") as s:
        query = select(OutboxMessageRow).order_by(OutboxMessageRow.message_id)
        if account_id is not None:
            query = query.where(OutboxMessageRow.account_id == account_id)
        return [_record(r) for r in s.scalars(query)]


def message_id_by_key(db: Database, idempotency_key: str) -> int | None:
    """The id of the message queued under ``idempotency_key``, or None."""
    with db.transaction("message_id_by_key") as s:
        return _id_by_key(s, idempotency_key)


def message(db: Database, message_id: int) -> OutboxMessage | None:
    """One outbox message, or None."""
    with db.transaction("message") as s:
        row = s.get(OutboxMessageRow, message_id)
        return None if row is None else _record(row)


def _email(msg: OutboxMessage, sender: str, domain: str) -> EmailMessage:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", msg.idempotency_key).strip("-") or "attachment"
    attachments = () if msg.attachment_pdf is None else ((f"{stem}.pdf", "application/pdf", msg.attachment_pdf),)
    digest = hashlib.sha256(msg.idempotency_key.encode()).hexdigest()[:20]
    return build_message(
        sender,
        msg.to_addr,
        msg.subject,
        msg.body_text,
        msg.body_html,
        attachments,
        message_id=f"<walkout.{msg.message_id}.{digest}@{domain}>",
    )


def _count_failure(db: Database, msg: OutboxMessage, error: str, max_attempts: int) -> bool:
    """Record a failed attempt; True if the message is now given up."""
    with db.transaction("deliver") as s:
        row = s.get(OutboxMessageRow, msg.message_id)
        if row is None or row.status != "queued":
            return False
        row.attempts += 1
        row.last_error = error[:500]
        if row.attempts >= max_attempts:
            row.status = "failed"
        return row.status == "failed"


def _id_by_key(s: Session, key: str) -> int | None:
    found = s.scalar(select(OutboxMessageRow.message_id).where(OutboxMessageRow.idempotency_key == key))
    return None if found is None else int(found)


def _record(row: OutboxMessageRow) -> OutboxMessage:
    return OutboxMessage(
        row.message_id,
        row.idempotency_key,
        row.account_id,
        row.kind,
        row.to_addr,
        row.subject,
        row.body_text,
        row.body_html,
        None if row.attachment_pdf is None else bytes(row.attachment_pdf),
        cast(Status, row.status),
        row.attempts,
        row.last_error,
        _checks.utc(row.created_at),
        None if row.sent_at is None else _checks.utc(row.sent_at),
    )
