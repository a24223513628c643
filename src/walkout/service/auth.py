"""Sign-in: password accounts, bearer tokens and device tokens.

Roles: ``customer`` (signs up in the app), ``associate`` and ``manager`` (store staff, created by a
manager or by ``walkout serve --manager-email``), ``device`` (a shelf, gate, tracker or camera
unit, created by a manager).

- Passwords are hashed with argon2id (RFC 9106) through argon2-cffi's ``PasswordHasher`` and
  stored in PHC string format; a hash made with weaker parameters than the current ones is
  replaced at the next successful login. Login answers an unknown e-mail after the same
  argon2 work as a wrong password, so timing does not tell which e-mails exist.
- Bearer tokens are ``secrets.token_urlsafe(32)`` (256 random bits); only their SHA-256 is
  stored (``api_tokens.token_hash``), so a copy of the database signs nobody in. An account's
  token expires after ``Settings.token_ttl_s``; logout revokes it. A token stops working when
  its account is erased or its role changes.
- A device token is made the same way; its hash is kept on the device (``devices.token_hash``,
  what :func:`verify_device` checks for the MQTT ingest) and as a non-expiring bearer token
  (the device's HTTP calls); revoking the device revokes both.

Every function takes the database first and runs its own transactions; refusals raise
:class:`~walkout.service.errors.AuthFailed`, :class:`~walkout.service.errors.Conflict`,
:class:`~walkout.service.errors.NotFound` or :class:`~walkout.core.errors.OperationError`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from walkout.core.errors import OperationError, StorageError
from walkout.engine.db import AccountRecord, Database
from walkout.engine.db.models import AccountRow, utc_now
from walkout.engine.db.models_auth import DEVICE_KINDS, ApiTokenRow, CredentialRow, DeviceRow
from walkout.operations.accounts import register_account
from walkout.service.errors import AuthFailed, Conflict, NotFound
from walkout.service.settings import PasswordHashParams

Role = Literal["customer", "associate", "manager", "device"]
StaffRole = Literal["associate", "manager"]
DeviceKind = Literal["plates", "gate", "tracker", "camera"]
ROLES: tuple[Role, ...] = ("customer", "associate", "manager", "device")
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024
MAX_BEARER_CHARS = 256
_EMAIL = re.compile(r"^[^@\s\x00]{1,64}@[^@\s\x00]+\.[^@\s\x00]+$")
_DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


@dataclass(frozen=True)
class Principal:
    """Who made a request: a role and the account or device behind it.

    Attributes:
        role: ``customer``, ``associate``, ``manager`` or ``device``.
        account_id: the account (None for a device).
        device_id: the device (None for an account).
    """

    role: Role
    account_id: str | None = None
    device_id: str | None = None


@dataclass(frozen=True)
class IssuedToken:
    """A bearer token just issued (the only time the token itself is known).

    Attributes:
        token: the bearer token (``Authorization: Bearer <token>``).
        role: the role it signs in as.
        account_id: the account it signs in.
        expires_at: when it stops working (aware UTC).
    """

    token: str
    role: Role
    account_id: str
    expires_at: datetime


@dataclass(frozen=True)
class DeviceRecord:
    """A registered device (never its token)."""

    device_id: str
    kind: DeviceKind
    created_at: datetime
    revoked_at: datetime | None
    last_seen_at: datetime | None


class Passwords:
    """argon2id hashing with fixed parameters (:class:`~walkout.service.settings.PasswordHashParams`)."""

    def __init__(self, params: PasswordHashParams = PasswordHashParams()) -> None:
        self._hasher = PasswordHasher(
            time_cost=params.time_cost, memory_cost=params.memory_kib, parallelism=params.parallelism
        )
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        """The PHC-format argon2id hash of ``password`` (a fresh random salt each time)."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches ``password_hash``; None spends the same work and says no."""
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """The hash was made with other parameters than the current ones."""
        return self._hasher.check_needs_rehash(password_hash)


def token_hash(token: str) -> str:
    """Hex SHA-256 of a bearer or device token (what the database stores)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalize_email(op: str, email: str) -> str:
    """``email`` stripped and lower-cased (the sign-in key).

    Raises:
        OperationError: not shaped like an e-mail address or longer than 320 characters.
    """
    text = email.strip().lower() if isinstance(email, str) else ""
    if len(text) > 320 or not _EMAIL.match(text):
        raise OperationError(f"{op}: email {email!r} is not an e-mail address")
    return text


def _check_password(op: str, password: str) -> None:
    if not isinstance(password, str) or not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise OperationError(f"{op}: password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")


def _aware(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


# ---------------------------------------------------------------- accounts
def signup(
    db: Database,
    passwords: Passwords,
    *,
    email: str,
    password: str,
    name: str,
    ttl_s: int,
    now: datetime | None = None,
) -> IssuedToken:
    """Create a customer account with a password and sign it in.

    The account is made by :func:`walkout.operations.accounts.register_account` (id ``c-`` + 16
    hex digits; receipts go to ``email``), then its credentials are stored.

    Raises:
        OperationError: a malformed e-mail, password (8-1024 characters) or name.
        Conflict: the e-mail is already registered.
    """
    op = "signup"
    key = normalize_email(op, email)
    _check_password(op, password)
    with db.transaction(op) as s:
        if s.scalar(select(CredentialRow.account_id).where(CredentialRow.email == key)) is not None:
            raise Conflict(f"{op}: email {key!r} is already registered")
    password_hash = passwords.hash(password)
    account = register_account(db, f"c-{secrets.token_hex(8)}", name, email.strip())
    try:
        with db.transaction(op) as s:
            s.add(CredentialRow(account_id=account.account_id, email=key, password_hash=password_hash))
    except StorageError as exc:  # the e-mail was registered concurrently: take the new account back
        with db.transaction(op) as s:
            orphan = s.get(AccountRow, account.account_id)
            if orphan is not None:
                s.delete(orphan)
        raise Conflict(f"{op}: email {key!r} is already registered") from exc
    return issue_token(db, account.account_id, "customer", ttl_s=ttl_s, now=now)


def login(
    db: Database, passwords: Passwords, *, email: str, password: str, ttl_s: int, now: datetime | None = None
) -> IssuedToken:
    """Check an e-mail and password and issue a bearer token with the account's role.

    Raises:
        AuthFailed: unknown e-mail, wrong password or an account that is not active (one message
            for all, so the answer does not tell which).
    """
    key = email.strip().lower() if isinstance(email, str) and "\x00" not in email else ""
    with db.transaction("login") as s:
        row = s.scalars(select(CredentialRow).where(CredentialRow.email == key)).one_or_none()
        stored = None if row is None else row.password_hash
        account = None if row is None else s.get(AccountRow, row.account_id)
    ok = passwords.verify(stored, password if isinstance(password, str) else "")
    if not ok or account is None or account.status != "active":
        raise AuthFailed("login: wrong e-mail or password")
    assert stored is not None
    if passwords.needs_rehash(stored):
        with db.transaction("login") as s:
            cred = s.get(CredentialRow, account.account_id)
            if cred is not None:
                cred.password_hash, cred.updated_at = passwords.hash(password), utc_now()
    return issue_token(db, account.account_id, cast(Role, account.role), ttl_s=ttl_s, now=now)


def issue_token(db: Database, account_id: str, role: Role, *, ttl_s: int, now: datetime | None = None) -> IssuedToken:
    """Issue a bearer token for an account, valid for ``ttl_s`` seconds from ``now``."""
    t = _aware(now or utc_now())
    token = secrets.token_urlsafe(32)
    expires = t + timedelta(seconds=ttl_s)
    with db.transaction("issue_token") as s:
        s.add(
            ApiTokenRow(
                token_hash=token_hash(token), account_id=account_id, role=role, created_at=t, expires_at=expires
            )
        )
    return IssuedToken(token, role, account_id, expires)


def logout(db: Database, bearer: str, now: datetime | None = None) -> bool:
    """Revoke a bearer token; returns whether it was valid until now (revoking twice is a no-op)."""
    t = _aware(now or utc_now())
    with db.transaction("logout") as s:
        row = s.get(ApiTokenRow, token_hash(bearer))
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = t
        return True


def create_staff(
    db: Database, passwords: Passwords, *, email: str, password: str, name: str, role: StaffRole
) -> AccountRecord:
    """Create a store associate or manager account that signs in with ``email`` and ``password``.

    Raises:
        OperationError: a malformed field or role.
        Conflict: the e-mail is already registered.
    """
    op = f"create_{role}" if role in ("associate", "manager") else "create_staff"
    if role not in ("associate", "manager"):
        raise OperationError(f"{op}: role {role!r} must be 'associate' or 'manager'")
    key = normalize_email(op, email)
    _check_password(op, password)
    if not isinstance(name, str) or not 0 < len(name.strip()) <= 200:
        raise OperationError(f"{op}: name must be 1 to 200 characters")
    password_hash = passwords.hash(password)
    account_id = f"{'m' if role == 'manager' else 'a'}-{secrets.token_hex(8)}"
    with db.transaction(op) as s:
        if s.scalar(select(CredentialRow.account_id).where(CredentialRow.email == key)) is not None:
            raise Conflict(f"{op}: email {key!r} is already registered")
        s.add(
            AccountRow(
                account_id=account_id,
                name=name.strip(),
                email=email.strip(),
                role=role,
                token=secrets.token_urlsafe(24),
            )
        )
        s.flush()
        s.add(CredentialRow(account_id=account_id, email=key, password_hash=password_hash))
    record = db.account(account_id)
    assert record is not None
    return record


def create_manager(
    db: Database, passwords: Passwords, *, email: str, password: str, name: str = "Manager"
) -> AccountRecord:
    """Create a manager account (``walkout serve --manager-email``); see :func:`create_staff`."""
    return create_staff(db, passwords, email=email, password=password, name=name, role="manager")


def account_by_email(db: Database, email: str) -> AccountRecord | None:
    """The account that signs in with ``email`` (any case), or None."""
    key = email.strip().lower() if isinstance(email, str) else ""
    with db.transaction("account_by_email") as s:
        account_id = s.scalar(select(CredentialRow.account_id).where(CredentialRow.email == key))
    return None if account_id is None else db.account(account_id)


# ---------------------------------------------------------------- devices
def create_device(db: Database, kind: DeviceKind, device_id: str | None = None) -> tuple[str, str]:
    """Register a device and mint its token.

    Args:
        db: the database.
        kind: ``plates``, ``gate``, ``tracker`` or ``camera``.
        device_id: 1-64 characters (letters, digits, ``. _ : -``, starting alphanumeric);
            default ``<kind>-<8 hex digits>``.

    Returns:
        (device_id, token): the token is shown once; the device sends it with its data.

    Raises:
        OperationError: an unknown kind or a malformed id.
        Conflict: the id is taken.
    """
    op = "create_device"
    if kind not in DEVICE_KINDS:
        raise OperationError(f"{op}: kind {kind!r} must be one of {', '.join(DEVICE_KINDS)}")
    device_id = device_id if device_id is not None else f"{kind}-{secrets.token_hex(4)}"
    if not isinstance(device_id, str) or not _DEVICE_ID.match(device_id):
        raise OperationError(f"{op}: device_id {device_id!r} must be 1-64 letters, digits, '.', '_', ':' or '-'")
    token = secrets.token_urlsafe(32)
    digest = token_hash(token)
    with db.transaction(op) as s:
        if s.get(DeviceRow, device_id) is not None:
            raise Conflict(f"{op}: device_id {device_id!r} is already registered")
        s.add(DeviceRow(device_id=device_id, kind=kind, token_hash=digest))
        s.flush()
        s.add(ApiTokenRow(token_hash=digest, device_id=device_id, role="device"))
    return device_id, token


def verify_device(db: Database, device_id: str, token: str) -> bool:
    """Whether ``token`` is the token of the registered, not revoked device ``device_id``.

    Never raises on its input (anything malformed is False); the hashes are compared in constant
    time (:func:`hmac.compare_digest`).
    """
    if not isinstance(device_id, str) or not isinstance(token, str) or not token or len(token) > MAX_BEARER_CHARS:
        return False
    with db.transaction("verify_device") as s:
        row = s.get(DeviceRow, device_id)
        if row is None or row.revoked_at is not None:
            return False
        return hmac.compare_digest(row.token_hash, token_hash(token))


def revoke_device(db: Database, device_id: str, now: datetime | None = None) -> DeviceRecord:
    """Revoke a device and its bearer token (idempotent).

    Raises:
        NotFound: unknown device.
    """
    t = _aware(now or utc_now())
    with db.transaction("revoke_device") as s:
        row = s.get(DeviceRow, device_id)
        if row is None:
            raise NotFound(f"revoke_device: device {device_id!r} is unknown")
        if row.revoked_at is None:
            row.revoked_at = t
            s.execute(update(ApiTokenRow).where(ApiTokenRow.device_id == device_id).values(revoked_at=t))
        return _device(row)


def heartbeat(db: Database, device_id: str, now: datetime | None = None) -> DeviceRecord:
    """Record that a device is alive (``last_seen_at``).

    Raises:
        NotFound: unknown device.
    """
    t = _aware(now or utc_now())
    with db.transaction("heartbeat") as s:
        row = s.get(DeviceRow, device_id)
        if row is None:
            raise NotFound(f"heartbeat: device {device_id!r} is unknown")
        row.last_seen_at = t
        return _device(row)


def devices(db: Database) -> list[DeviceRecord]:
    """Every registered device, revoked ones included, by id."""
    with db.transaction("devices") as s:
        return [_device(r) for r in s.scalars(select(DeviceRow).order_by(DeviceRow.device_id))]


def _device(row: DeviceRow) -> DeviceRecord:
    def opt(t: datetime | None) -> datetime | None:
        return None if t is None else _aware(t)

    return DeviceRecord(
        row.device_id, cast(DeviceKind, row.kind), _aware(row.created_at), opt(row.revoked_at), opt(row.last_seen_at)
    )


# ---------------------------------------------------------------- requests
def authenticate(db: Database, bearer: str | None, now: datetime | None = None) -> Principal | None:
    """The principal a bearer token signs in, or None (unknown, revoked or expired token; erased
    account or changed role; revoked device)."""
    if not bearer or not isinstance(bearer, str) or len(bearer) > MAX_BEARER_CHARS:
        return None
    t = _aware(now or utc_now())
    with db.transaction("authenticate") as s:
        row = s.get(ApiTokenRow, token_hash(bearer))
        if row is None or row.revoked_at is not None:
            return None
        if row.expires_at is not None and _aware(row.expires_at) <= t:
            return None
        if row.device_id is not None:
            device = s.get(DeviceRow, row.device_id)
            if device is None or device.revoked_at is not None:
                return None
            return Principal("device", device_id=row.device_id)
        account = s.get(AccountRow, row.account_id) if row.account_id is not None else None
        if account is None or account.status != "active" or account.role != row.role:
            return None
        return Principal(cast(Role, row.role), account_id=account.account_id)
