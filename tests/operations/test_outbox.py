"""The e-mail outbox: one message per key, delivery, retries, giving up."""

from __future__ import annotations

import pytest

from walkout.core.errors import OperationError
from walkout.operations import outbox

PDF = b"%PDF-1.4 fake"


def queue(db, key="receipt:s-1", **overrides) -> int:
    fields = {
        "idempotency_key": key,
        "account_id": "a-1",
        "kind": "receipt",
        "to_addr": "a-1@example.invalid",
        "subject": "Your receipt",
        "body_text": "Total $7.80",
        "body_html": "<p>Total $7.80</p>",
    } | overrides
    return outbox.enqueue(db, **fields)


@pytest.fixture
def account(seed):
    return seed("a-1")[0]


def test_enqueue_once_per_key(db, account):
    first = queue(db)
    assert queue(db, subject="A different subject") == first
    [msg] = outbox.messages(db)
    assert (msg.message_id, msg.status, msg.attempts, msg.subject, msg.sent_at) == (
        first,
        "queued",
        0,
        "Your receipt",
        None,
    )
    assert outbox.message_id_by_key(db, "receipt:s-1") == first
    assert outbox.messages(db, account_id="someone-else") == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"idempotency_key": ""}, "enqueue: idempotency_key"),
        ({"kind": ""}, "enqueue: kind"),
        ({"kind": "a-very-long-kind-name"}, "enqueue: kind"),
        ({"to_addr": "nobody"}, "enqueue: to_addr 'nobody' is not an e-mail address"),
        ({"to_addr": "a@example.org\r\nBcc: b@example.org"}, "enqueue: to_addr"),
        ({"subject": ""}, "enqueue: subject must not be empty"),
        ({"subject": "line one\nBcc: b@example.org"}, "enqueue: subject must be one line"),
        ({"subject": "s" * 201}, "enqueue: subject is 201 characters long"),
        ({"body_text": None}, "enqueue: body_text must be a string"),
        ({"body_html": b"<p>"}, "enqueue: body_html must be a string"),
        ({"attachment_pdf": b"GIF89a"}, "enqueue: attachment_pdf must be PDF bytes"),
    ],
)
def test_enqueue_refuses_bad_fields(db, account, overrides, message):
    with pytest.raises(OperationError, match=message):
        queue(db, **overrides)
    assert outbox.messages(db) == []


def test_deliver_sends_text_html_and_pdf_and_marks_sent(db, account, mailer):
    mid = queue(db, attachment_pdf=PDF)
    report = outbox.deliver(db, mailer, sender="Corner Shop <receipts@shop.example>")
    assert report == outbox.DeliveryReport(sent=(mid,))
    [email] = mailer.sent
    assert (email["To"], email["From"], email["Subject"]) == (
        "a-1@example.invalid",
        "Corner Shop <receipts@shop.example>",
        "Your receipt",
    )
    assert email["Message-ID"].endswith("@shop.example>") and email["Date"]
    assert email.get_body(("plain",)).get_content().strip() == "Total $7.80"
    assert email.get_body(("html",)).get_content().strip() == "<p>Total $7.80</p>"
    [pdf] = list(email.iter_attachments())
    assert (pdf.get_content_type(), pdf.get_filename(), pdf.get_content()) == (
        "application/pdf",
        "receipt-s-1.pdf",
        PDF,
    )
    [msg] = outbox.messages(db)
    assert msg.status == "sent" and msg.sent_at is not None and msg.attempts == 0
    assert outbox.deliver(db, mailer, sender="receipts@shop.example") == outbox.DeliveryReport()
    assert len(mailer.sent) == 1


def test_a_mail_error_is_retried_then_given_up(db, account, make_mailer):
    mid = queue(db)
    down = make_mailer(fail=3)
    assert outbox.deliver(db, down, sender="r@shop.example", max_attempts=3) == outbox.DeliveryReport(retrying=(mid,))
    assert outbox.deliver(db, down, sender="r@shop.example", max_attempts=3).retrying == (mid,)
    msg = outbox.message(db, mid)
    assert (msg.status, msg.attempts) == ("queued", 2)
    assert "Connection refused" in msg.last_error
    assert outbox.deliver(db, down, sender="r@shop.example", max_attempts=3) == outbox.DeliveryReport(failed=(mid,))
    assert outbox.message(db, mid).status == "failed"
    assert outbox.deliver(db, make_mailer(), sender="r@shop.example") == outbox.DeliveryReport()


class CrashAfterSend:
    """The server accepts the message, then the process dies before marking it sent."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def send(self, message) -> None:
        self.inner.send(message)
        raise SystemExit("killed after the server accepted the message")


def test_delivery_is_at_least_once_with_a_stable_message_id(db, account, mailer):
    mid = queue(db)
    with pytest.raises(SystemExit):
        outbox.deliver(db, CrashAfterSend(mailer), sender="r@shop.example")
    assert outbox.message(db, mid).status == "queued"
    assert outbox.deliver(db, mailer, sender="r@shop.example").sent == (mid,)
    first, second = mailer.sent
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Message-ID"].startswith(f"<walkout.{mid}.")


def test_deliver_limit_and_message_ids(db, account, mailer):
    ids = [queue(db, key=f"k{i}") for i in range(4)]
    assert outbox.deliver(db, mailer, sender="r@shop.example", message_ids=[ids[2]]).sent == (ids[2],)
    assert outbox.deliver(db, mailer, sender="r@shop.example", limit=2).sent == (ids[0], ids[1])
    assert outbox.deliver(db, mailer, sender="r@shop.example").sent == (ids[3],)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sender": "nobody"}, "deliver: sender"),
        ({"sender": "r@shop.example", "limit": 0}, "deliver: limit must be an integer >= 1"),
        ({"sender": "r@shop.example", "max_attempts": 0}, "deliver: max_attempts must be an integer >= 1"),
    ],
)
def test_deliver_refuses_bad_arguments(db, mailer, kwargs, message):
    with pytest.raises(OperationError, match=message):
        outbox.deliver(db, mailer, **kwargs)
