"""SQLAlchemy models of sign-in (private to :mod:`walkout.engine.db` and :mod:`walkout.service`).

Password credentials of accounts, the bearer tokens the REST API accepts, and the registry of
store devices (shelf plates, gates, trackers, cameras) with their device tokens. Same conventions
as :mod:`walkout.engine.db.models` (wall-clock stamps timezone-aware UTC); created by migration
``0003``.

No secret is stored in the clear: passwords as argon2id hashes (RFC 9106, PHC string format),
bearer and device tokens as the hex SHA-256 of the token (the token itself carries 256 random
bits, so a fast hash is enough: nothing to brute-force).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from walkout.engine.db.models import ID, Base, utc_now

TOKEN_HASH = String(64)  # hex SHA-256
ROLES = ("customer", "associate", "manager", "device")
DEVICE_KINDS = ("plates", "gate", "tracker", "camera")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class CredentialRow(Base):
    """An account's sign-in: its e-mail (lower-cased, unique) and argon2 password hash."""

    __tablename__ = "credentials"
    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lower"),)

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.account_id"), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class DeviceRow(Base):
    """A store device allowed to send data (``kind`` plates, gate, tracker or camera).

    ``token_hash`` is the SHA-256 of its device token (what the MQTT ingest checks); a revoked
    device (``revoked_at`` set) is refused everywhere.
    """

    __tablename__ = "devices"
    __table_args__ = (CheckConstraint(_in("kind", DEVICE_KINDS), name="kind"),)

    device_id: Mapped[str] = mapped_column(ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(TOKEN_HASH, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiTokenRow(Base):
    """A bearer token of the REST API: an account's (from login or signup) or a device's.

    Exactly one of ``account_id`` and ``device_id`` is set, and ``role`` is ``device`` exactly
    when ``device_id`` is. ``expires_at`` None: valid until revoked (device tokens).
    """

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role"),
        CheckConstraint(
            "(role = 'device' AND device_id IS NOT NULL AND account_id IS NULL)"
            " OR (role <> 'device' AND account_id IS NOT NULL AND device_id IS NULL)",
            name="principal",
        ),
    )

    token_hash: Mapped[str] = mapped_column(TOKEN_HASH, primary_key=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.account_id"), index=True)
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.device_id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
