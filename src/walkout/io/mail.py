"""Outgoing e-mail: the mail-sender interface and its SMTP implementation.

Messages are standard-library :class:`email.message.EmailMessage` objects (RFC 5322 / MIME:
a plain-text part, an HTML alternative and optional attachments). :class:`SmtpSender` hands them
to an SMTP server with :mod:`smtplib` (RFC 5321); tests run a local ``aiosmtpd`` server.
"""

from __future__ import annotations

import mailbox
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Protocol

from walkout.core.errors import MailError


class MailSender(Protocol):
    """Something that delivers e-mail; raises :class:`walkout.core.errors.MailError` on failure."""

    def send(self, message: EmailMessage) -> None: ...


def build_message(
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    attachments: tuple[tuple[str, str, bytes], ...] = (),
    *,
    message_id: str | None = None,
) -> EmailMessage:
    """An e-mail with a plain-text body, an optional HTML alternative and attachments.

    The structure is multipart/mixed (when there are attachments) around multipart/alternative
    (text, then HTML: RFC 2046 puts the preferred part last). A ``Date`` header is set (RFC 5322
    requires one).

    Args:
        sender: the From address.
        to: the recipient address.
        subject: the subject line (one line).
        text: the plain-text body.
        html: the HTML alternative (multipart/alternative), or None.
        attachments: (filename, MIME type "major/minor", content bytes) each.
        message_id: the ``Message-ID`` header, ``"<unique@domain>"`` (a stable id lets a
            receiving system recognise a message sent twice); None for none.

    Raises:
        ValueError: a malformed MIME type, or a header value with a line break.
    """
    for name, value in (("sender", sender), ("to", to), ("subject", subject), ("message_id", message_id or "")):
        if "\n" in value or "\r" in value:
            raise ValueError(f"{name} {value!r} contains a line break")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = formatdate(localtime=False)
    if message_id is not None:
        msg["Message-ID"] = message_id
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, mime, content in attachments:
        major, _, minor = mime.partition("/")
        if not major or not minor:
            raise ValueError(f"attachment {filename!r}: MIME type {mime!r} is not 'major/minor'")
        msg.add_attachment(content, maintype=major, subtype=minor, filename=filename)
    return msg


@dataclass(frozen=True)
class SmtpSender:
    """Sends e-mail through an SMTP server.

    Attributes:
        host: the server's host name.
        port: the server's port (25, 587 with ``starttls``, or a test server's port).
        timeout_s: connection and command timeout.
        starttls: upgrade the connection with STARTTLS before sending.
        username: log in with these credentials when set.
        password: the password for ``username``.
    """

    host: str = "127.0.0.1"
    port: int = 25
    timeout_s: float = 10.0
    starttls: bool = False
    username: str | None = None
    password: str | None = None

    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` to the server.

        Raises:
            MailError: naming the server and what went wrong (connection refused, timeout, a
                recipient refused, ...).
        """
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username is not None:
                    smtp.login(self.username, self.password or "")
                refused = smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"smtp {self.host}:{self.port}: {exc}") from exc
        if refused:
            raise MailError(f"smtp {self.host}:{self.port}: recipients refused: {refused}")


class MaildirSender:
    """Delivers e-mail into a local Maildir (``cur``/``new``/``tmp``; readable by any mail client
    or ``python -m mailbox``): the demo's "mail server", so its receipts can be opened.

    Args:
        path: the Maildir directory (created if missing).

    Raises:
        MailError: the directory cannot be created or written.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._box = mailbox.Maildir(self.path, create=True)
        except OSError as exc:
            raise MailError(f"maildir {self.path}: {exc}") from exc

    def send(self, message: EmailMessage) -> None:
        """Add ``message`` to the Maildir's ``new`` folder."""
        try:
            self._box.add(message)
        except OSError as exc:
            raise MailError(f"maildir {self.path}: {exc}") from exc
