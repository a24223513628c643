"""Rotating signed entry tokens (the app's QR code) and static staff badges, and their verification.

A shopper's app shows a QR code carrying a short-lived token; the entry gate's scanner reads it and
the server checks it here. Tokens rotate: the app issues a fresh one every :data:`ENTRY_TOKEN_TTL_S`
seconds and each is admitted at most once, so a photographed or screenshotted QR code is useless a
few seconds later. Store associates carry a static badge instead (they enter many times a day).

Formats (all ASCII; ``b64`` is base64url without padding, RFC 4648 section 5)::

    WO2.<account_id>.<issued_unix_s>.<b64 nonce>.<b64 mac>    customer token, mac over "WO2.<id>.<issued>.<nonce>"
    WOB.<account_id>.<b64 mac>                                staff badge, mac over "WOB.<id>"

The MAC is HMAC-SHA256 (RFC 2104, FIPS 180-4) truncated to its first 16 bytes (RFC 2104 section 5
allows truncation to at least half the hash output). The key is the per-account key
:func:`account_key`, itself an HMAC of the store secret: the app receives its key at login and the
server derives it again on every scan, so no per-account secret is stored. The two formats sign
messages with different prefixes, so a token can never be passed off as a badge or vice versa.

Tokens are short because they go in a QR code: ``demo-000``'s token is 58 characters, a version-4
QR code at error correction level M (33 x 33 modules); the longest (64-character) account id gives
114 characters, version 7 (45 x 45 modules).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

__all__ = [
    "CLOCK_SKEW_S",
    "ENTRY_TOKEN_TTL_S",
    "EntryDesk",
    "EntryVerdict",
    "InMemoryUsedTokens",
    "MIN_SECRET_BYTES",
    "UsedTokens",
    "VerdictCode",
    "account_key",
    "issue_entry_token",
    "issue_staff_badge",
]

ENTRY_TOKEN_TTL_S = 30
"""Lifetime of a customer token, s: the app shows a new one every 30 s; older tokens are refused."""

CLOCK_SKEW_S = 5
"""How far in the future (phone clock ahead of the server's) a token's issue time may lie, s."""

MIN_SECRET_BYTES = 16
"""Shortest accepted store secret, bytes (RFC 2104 section 3 advises keys of at least the hash
output length, 32 bytes for SHA-256; shorter ones are allowed here for tests but not below 16)."""

VerdictCode = Literal[
    "admitted", "forged", "expired", "replayed", "not_yet_valid", "unknown_account", "not_staff", "account_closed"
]

_MAC_BYTES = 16
_NONCE_BYTES = (8, 16)
_ACCOUNT_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_B64 = r"[A-Za-z0-9_-]"
_TOKEN_RE = re.compile(rf"WO2\.({_B64}{{1,64}})\.(0|[1-9][0-9]{{0,11}})\.({_B64}{{11,22}})\.({_B64}{{22}})")
_BADGE_RE = re.compile(rf"WOB\.({_B64}{{1,64}})\.({_B64}{{22}})")
_MAX_TOKEN_CHARS = 256
_KEY_CONTEXT = b"walkout-entry-v1:"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    """Decode canonical unpadded base64url (the alphabet is checked by the caller's regex); None if not."""
    if len(text) % 4 == 1:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if _b64(raw) == text else None


def _check_account_id(account_id: str) -> None:
    if not isinstance(account_id, str) or _ACCOUNT_RE.fullmatch(account_id) is None:
        raise ValueError(f"account_id must match [A-Za-z0-9_-]{{1,64}}, got {account_id!r}")


def _mac(key: bytes, message: str) -> str:
    return _b64(hmac.new(key, message.encode("ascii"), hashlib.sha256).digest()[:_MAC_BYTES])


def account_key(store_secret: bytes, account_id: str) -> bytes:
    """The per-account signing key: HMAC-SHA256(store_secret, ``b"walkout-entry-v1:" + account_id``).

    The app receives this key at login and signs its rotating tokens with it; the server derives it
    again from the store secret when it verifies a token (HMAC as a key-derivation PRF, RFC 2104).

    Args:
        store_secret: the store's secret, at least :data:`MIN_SECRET_BYTES` bytes.
        account_id: the account, matching ``[A-Za-z0-9_-]{1,64}``.

    Returns:
        The 32-byte key.

    Raises:
        ValueError: the secret is too short or the account id is not allowed.
    """
    if not isinstance(store_secret, bytes) or len(store_secret) < MIN_SECRET_BYTES:
        raise ValueError(f"store_secret must be at least {MIN_SECRET_BYTES} bytes")
    _check_account_id(account_id)
    return hmac.new(store_secret, _KEY_CONTEXT + account_id.encode("utf-8"), hashlib.sha256).digest()


def issue_entry_token(key: bytes, account_id: str, issued_unix_s: int, nonce: bytes) -> str:
    """Issue a customer entry token (what the app's QR code carries; valid for 30 s, one use).

    Format ``WO2.<account_id>.<issued_unix_s>.<nonce>.<mac>`` with the nonce and the MAC in unpadded
    base64url; the MAC is the first 16 bytes of HMAC-SHA256 (RFC 2104) under ``key`` of the text
    before the last dot.

    Args:
        key: the account's key from :func:`account_key` (the app got it at login).
        account_id: the account, matching ``[A-Za-z0-9_-]{1,64}``.
        issued_unix_s: issue time, whole seconds since the Unix epoch (UTC), 0 <= t < 10**12.
        nonce: 8 to 16 random bytes (``secrets.token_bytes(8)``), so two tokens issued in the same
            second differ.

    Returns:
        The token text, e.g. ``WO2.demo-000.1700000000.AAECAwQFBgc.<22 chars>`` (58 characters).

    Raises:
        ValueError: bad account id, time, nonce length or empty key.
    """
    _check_account_id(account_id)
    if isinstance(issued_unix_s, bool) or not isinstance(issued_unix_s, int) or not 0 <= issued_unix_s < 10**12:
        raise ValueError(f"issued_unix_s must be an int in [0, 10**12), got {issued_unix_s!r}")
    if not isinstance(nonce, bytes) or not _NONCE_BYTES[0] <= len(nonce) <= _NONCE_BYTES[1]:
        raise ValueError(f"nonce must be {_NONCE_BYTES[0]} to {_NONCE_BYTES[1]} bytes")
    if not isinstance(key, bytes) or not key:
        raise ValueError("key must be non-empty bytes")
    body = f"WO2.{account_id}.{issued_unix_s}.{_b64(nonce)}"
    return f"{body}.{_mac(key, body)}"


def issue_staff_badge(store_secret: bytes, account_id: str) -> str:
    """Issue a store associate's static badge ``WOB.<account_id>.<mac>`` (does not expire).

    The MAC is the first 16 bytes of HMAC-SHA256 (RFC 2104) under :func:`account_key` of
    ``"WOB.<account_id>"``. A badge cannot be revoked by itself: it stops opening the gate when the
    account stops being an associate (or is closed).

    Args:
        store_secret: the store's secret, at least :data:`MIN_SECRET_BYTES` bytes.
        account_id: the associate's account, matching ``[A-Za-z0-9_-]{1,64}``.

    Returns:
        The badge text.

    Raises:
        ValueError: the secret is too short or the account id is not allowed.
    """
    body = f"WOB.{account_id}"
    return f"{body}.{_mac(account_key(store_secret, account_id), body)}"


@dataclass(frozen=True, slots=True)
class EntryVerdict:
    """What the entry gate does with a scanned token.

    Attributes:
        admitted: open the gate.
        account_id: the account the token names, None if the token is malformed or forged.
        kind: "customer" for an app token, "staff" for a badge; None unless admitted.
        token_id: a stable id of the token, ``"<account>:<issued>:<nonce>"`` for app tokens (the key
            of the one-use check) and ``"badge:<account>"`` for badges; None if forged.
        reason: "admitted" or a one-line refusal the gate can show, e.g.
            "expired: issued 41 s ago (tokens last 30 s)".
        code: machine-readable outcome.
    """

    admitted: bool
    account_id: str | None
    kind: Literal["customer", "staff"] | None
    token_id: str | None
    reason: str
    code: VerdictCode


class UsedTokens(Protocol):
    """The store of already-admitted app tokens (one use each); a database table in production."""

    def consume(self, token_id: str, account_id: str, t_unix_s: float) -> float | None:
        """Atomically mark ``token_id`` used at ``t_unix_s`` (s since the epoch).

        Returns:
            None if the token was fresh (it is now marked) or this is the same scan again (the
            same ``t_unix_s``: a rerun of a recording, a retried request), else the time it was
            first used, s.
        """
        ...


class InMemoryUsedTokens:
    """A thread-safe in-memory :class:`UsedTokens` (tests, the simulator, a single-process gate)."""

    def __init__(self) -> None:
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()

    def consume(self, token_id: str, account_id: str, t_unix_s: float) -> float | None:
        """See :meth:`UsedTokens.consume`; ``account_id`` is not needed in memory."""
        with self._lock:
            earlier = self._used.get(token_id)
            if earlier is None:
                self._used[token_id] = float(t_unix_s)
            return None if earlier == float(t_unix_s) else earlier

    def prune(self, now_unix_s: float) -> int:
        """Forget tokens used before ``now - TTL - skew`` (they can no longer pass the time check).

        A token used at ``t`` was issued at most :data:`CLOCK_SKEW_S` after ``t``, so it expires by
        ``t + CLOCK_SKEW_S + ENTRY_TOKEN_TTL_S``.

        Returns:
            The number of entries removed.
        """
        horizon = now_unix_s - ENTRY_TOKEN_TTL_S - CLOCK_SKEW_S
        with self._lock:
            old = [k for k, t in self._used.items() if t < horizon]
            for k in old:
                del self._used[k]
        return len(old)

    def __len__(self) -> int:
        return len(self._used)


def _seconds(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 0.05 else f"{x:.1f}"


def _when(t_unix_s: float) -> str:
    try:
        return datetime.fromtimestamp(t_unix_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"t={t_unix_s:.1f} s"


def _refuse(code: VerdictCode, reason: str, account_id: str | None = None, token_id: str | None = None) -> EntryVerdict:
    return EntryVerdict(False, account_id, None, token_id, reason, code)


_MALFORMED = _refuse("forged", "forged: malformed token")


def _account_refusal(role: str | None, account_id: str, token_id: str) -> EntryVerdict | None:
    if role == "closed":
        return _refuse("account_closed", f"account closed: {account_id} can no longer enter", account_id, token_id)
    if role not in ("customer", "associate"):
        return _refuse("unknown_account", f"unknown account: {account_id} is not registered", account_id, token_id)
    return None


class EntryDesk:
    """Verifies scanned entry tokens and staff badges at the entry gate (server side).

    Args:
        store_secret: the store's secret (at least :data:`MIN_SECRET_BYTES` bytes), from which every
            account key is derived (:func:`account_key`).
        account_role: ``account_role(account_id)`` -> "customer", "associate", "closed" (closed or
            erased account) or None (unknown account); any other value is refused as unknown.
        used: the one-use store of app tokens (:class:`InMemoryUsedTokens` or a database table).

    Raises:
        ValueError: the store secret is too short.
    """

    def __init__(self, store_secret: bytes, account_role: Callable[[str], str | None], used: UsedTokens) -> None:
        if not isinstance(store_secret, bytes) or len(store_secret) < MIN_SECRET_BYTES:
            raise ValueError(f"store_secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = store_secret
        self._role = account_role
        self._used = used

    def verify(self, token: str, now_unix_s: float) -> EntryVerdict:
        """Check a scanned token or badge and, if it is admitted, consume it (app tokens only).

        Order of checks: format and MAC (forged), account (unknown_account, account_closed), then
        for app tokens age (expired after :data:`ENTRY_TOKEN_TTL_S`, not_yet_valid more than
        :data:`CLOCK_SKEW_S` ahead) and one use (replayed); for badges the role (not_staff). A token
        from an associate's app is admitted as "customer" (an associate shopping on their account).
        MACs are compared in constant time (:func:`hmac.compare_digest`).

        Args:
            token: the scanned text; any string (never raises on its content).
            now_unix_s: the server's clock, s since the Unix epoch.

        Returns:
            The verdict.

        Raises:
            ValueError: ``now_unix_s`` is not finite. Errors of ``account_role`` or ``used`` propagate.
        """
        if not math.isfinite(now_unix_s):
            raise ValueError(f"now_unix_s must be finite, got {now_unix_s!r}")
        if not isinstance(token, str) or len(token) > _MAX_TOKEN_CHARS:
            return _MALFORMED
        if token.startswith("WOB."):
            return self._verify_badge(token)
        m = _TOKEN_RE.fullmatch(token)
        if m is None:
            return _MALFORMED
        account_id, issued_txt, nonce_b64, mac = m.groups()
        nonce = _unb64(nonce_b64)
        if nonce is None or not _NONCE_BYTES[0] <= len(nonce) <= _NONCE_BYTES[1]:
            return _MALFORMED
        body = token[: -len(mac) - 1]
        if not hmac.compare_digest(_mac(account_key(self._secret, account_id), body), mac):
            return _refuse("forged", "forged: bad signature")
        token_id = f"{account_id}:{issued_txt}:{nonce_b64}"
        refusal = _account_refusal(self._role(account_id), account_id, token_id)
        if refusal is not None:
            return refusal
        age_s = now_unix_s - int(issued_txt)
        if age_s > ENTRY_TOKEN_TTL_S:
            reason = f"expired: issued {_seconds(age_s)} s ago (tokens last {ENTRY_TOKEN_TTL_S} s)"
            return _refuse("expired", reason, account_id, token_id)
        if -age_s > CLOCK_SKEW_S:
            reason = f"not yet valid: issued {_seconds(-age_s)} s in the future (is the phone's clock right?)"
            return _refuse("not_yet_valid", reason, account_id, token_id)
        earlier = self._used.consume(token_id, account_id, now_unix_s)
        if earlier is not None:
            return _refuse("replayed", f"replayed: token already used at {_when(earlier)}", account_id, token_id)
        return EntryVerdict(True, account_id, "customer", token_id, "admitted", "admitted")

    def _verify_badge(self, token: str) -> EntryVerdict:
        m = _BADGE_RE.fullmatch(token)
        if m is None:
            return _MALFORMED
        account_id, mac = m.groups()
        if not hmac.compare_digest(_mac(account_key(self._secret, account_id), f"WOB.{account_id}"), mac):
            return _refuse("forged", "forged: bad signature")
        token_id = f"badge:{account_id}"
        role = self._role(account_id)
        refusal = _account_refusal(role, account_id, token_id)
        if refusal is not None:
            return refusal
        if role != "associate":
            return _refuse("not_staff", f"not staff: {account_id} is not a store associate", account_id, token_id)
        return EntryVerdict(True, account_id, "staff", token_id, "admitted", "admitted")
