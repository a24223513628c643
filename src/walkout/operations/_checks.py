"""Input checks shared by the store operations (private).

Each check raises :class:`~walkout.core.errors.OperationError` whose message names the operation
and the field, e.g. ``"register_account: email 'bob' is not an e-mail address"``, before anything
is written.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from walkout.core.errors import OperationError, StorageError

# A pragmatic shape check (one @, a dot in the domain, no spaces or control characters), not RFC 5322.
_EMAIL = re.compile(
    r"^[^@\s\x00-\x1f\x7f]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def email(op: str, field: str, value: object) -> str:
    """``value`` if it has the shape of an e-mail address (at most 320 characters)."""
    if not isinstance(value, str) or len(value) > 320 or not _EMAIL.match(value):
        raise OperationError(f"{op}: {field} {value!r} is not an e-mail address")
    return value


def ident(op: str, field: str, value: object, max_len: int = 64) -> str:
    """``value`` if it is an id: letters, digits and ``. _ : -``, starting alphanumeric, at most ``max_len``."""
    if not isinstance(value, str) or not 0 < len(value) <= max_len or not _ID.match(value):
        raise OperationError(
            f"{op}: {field} {value!r} must be 1-{max_len} letters, digits, '.', '_', ':' or '-', starting alphanumeric"
        )
    return value


def text(op: str, field: str, value: object, max_len: int, *, allow_empty: bool = False) -> str:
    """``value`` if it is a string of at most ``max_len`` characters without control characters
    (tabs and newlines allowed), non-blank unless ``allow_empty``."""
    if not isinstance(value, str):
        raise OperationError(f"{op}: {field} must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise OperationError(f"{op}: {field} must not be empty")
    if len(value) > max_len:
        raise OperationError(f"{op}: {field} is {len(value)} characters long, at most {max_len} allowed")
    if _CONTROL.search(value):
        raise OperationError(f"{op}: {field} contains control characters")
    return value


def key(op: str, value: object) -> str:
    """``value`` if it is a usable idempotency key (1-128 printable characters, no spaces)."""
    if not isinstance(value, str) or not 0 < len(value) <= 128 or not value.isprintable() or " " in value:
        raise OperationError(f"{op}: idempotency_key {value!r} must be 1-128 printable characters without spaces")
    return value


def cents(op: str, field: str, value: object, *, positive: bool = True) -> int:
    """``value`` if it is an integer amount of cents (> 0 when ``positive``, else >= 0); bools refused."""
    if isinstance(value, bool) or not isinstance(value, int) or value < (1 if positive else 0):
        bound = "> 0" if positive else ">= 0"
        raise OperationError(f"{op}: {field} must be an integer number of cents {bound}, got {value!r}")
    return value


def is_integrity_error(exc: StorageError) -> bool:
    """True if the database refused a row for a constraint (unique, foreign key, check, not null)."""
    return isinstance(exc.__cause__, IntegrityError)


def utc(t: datetime) -> datetime:
    """``t`` as timezone-aware UTC (SQLite hands back naive UTC stamps)."""
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)
