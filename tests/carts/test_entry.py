"""Rotating signed entry tokens and staff badges: issue, verify, refuse (and never crash)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from walkout.carts.entry import (
    CLOCK_SKEW_S,
    ENTRY_TOKEN_TTL_S,
    EntryDesk,
    EntryVerdict,
    InMemoryUsedTokens,
    account_key,
    issue_entry_token,
    issue_staff_badge,
)

SECRET = b"store-secret-for-tests-0123456789"
T0 = 1_700_000_000
NONCE = bytes(range(8))
ROLES = {"demo-000": "customer", "demo-001": "customer", "demo-060": "associate", "gone-7": "closed"}


def desk(used: InMemoryUsedTokens | None = None) -> EntryDesk:
    return EntryDesk(SECRET, ROLES.get, used if used is not None else InMemoryUsedTokens())


def token(account_id: str = "demo-000", issued: int = T0, nonce: bytes = NONCE, secret: bytes = SECRET) -> str:
    return issue_entry_token(account_key(secret, account_id), account_id, issued, nonce)


def b64mac(key: bytes, msg: str) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, msg.encode(), hashlib.sha256).digest()[:16]).rstrip(b"=").decode()


# ---- issuing


def test_account_key_is_hmac_of_the_store_secret():
    expected = hmac.new(SECRET, b"walkout-entry-v1:demo-000", hashlib.sha256).digest()
    assert account_key(SECRET, "demo-000") == expected
    assert account_key(SECRET, "demo-001") != expected
    assert account_key(SECRET + b"x", "demo-000") != expected


def test_token_format_and_mac():
    t = token()
    assert t.startswith("WO2.demo-000.1700000000.AAECAwQFBgc.")
    assert t == f"WO2.demo-000.1700000000.AAECAwQFBgc.{b64mac(account_key(SECRET, 'demo-000'), t.rsplit('.', 1)[0])}"
    assert len(t) == 58  # short: it goes in a QR code
    assert len(token("a" * 64, nonce=bytes(16))) == 4 + 64 + 1 + 10 + 1 + 22 + 1 + 22


def test_badge_format_and_mac():
    b = issue_staff_badge(SECRET, "demo-060")
    assert b == f"WOB.demo-060.{b64mac(account_key(SECRET, 'demo-060'), 'WOB.demo-060')}"


@pytest.mark.parametrize(
    ("account_id", "issued", "nonce", "error"),
    [
        ("demo-000", T0, bytes(8), None),
        ("a" * 64, 0, bytes(16), None),
        ("", T0, bytes(8), ValueError),
        ("a" * 65, T0, bytes(8), ValueError),
        ("demo.000", T0, bytes(8), ValueError),
        ("démo", T0, bytes(8), ValueError),
        ("demo 000", T0, bytes(8), ValueError),
        ("demo-000", -1, bytes(8), ValueError),
        ("demo-000", 10**12, bytes(8), ValueError),
        ("demo-000", 1.5, bytes(8), ValueError),
        ("demo-000", True, bytes(8), ValueError),
        ("demo-000", T0, bytes(7), ValueError),
        ("demo-000", T0, bytes(17), ValueError),
    ],
)
def test_issue_validates(account_id, issued, nonce, error):
    key = b"k" * 32
    if error is None:
        assert issue_entry_token(key, account_id, issued, nonce).startswith(f"WO2.{account_id}.{issued}.")
    else:
        with pytest.raises(error):
            issue_entry_token(key, account_id, issued, nonce)


@pytest.mark.parametrize("secret", [b"", b"short", "a-str-secret-of-enough-length!!"])
def test_short_or_non_bytes_secrets_are_refused(secret):
    with pytest.raises(ValueError, match="store_secret"):
        account_key(secret, "demo-000")
    with pytest.raises(ValueError, match="store_secret"):
        EntryDesk(secret, ROLES.get, InMemoryUsedTokens())


# ---- verifying app tokens


def test_round_trip_admits_a_customer():
    v = desk().verify(token(), T0 + 2.5)
    assert v == EntryVerdict(True, "demo-000", "customer", "demo-000:1700000000:AAECAwQFBgc", "admitted", "admitted")


@pytest.mark.parametrize(
    ("now_offset_s", "code", "reason"),
    [
        (0.0, "admitted", "admitted"),
        (29.0, "admitted", "admitted"),
        (ENTRY_TOKEN_TTL_S, "admitted", "admitted"),
        (31.0, "expired", "expired: issued 31 s ago (tokens last 30 s)"),
        (41.0, "expired", "expired: issued 41 s ago (tokens last 30 s)"),
        (30.5, "expired", "expired: issued 30.5 s ago (tokens last 30 s)"),
        (86_400.0, "expired", "expired: issued 86400 s ago (tokens last 30 s)"),
        (-CLOCK_SKEW_S, "admitted", "admitted"),
        (-4.0, "admitted", "admitted"),
        (-6.0, "not_yet_valid", "not yet valid: issued 6 s in the future (is the phone's clock right?)"),
        (-3600.0, "not_yet_valid", "not yet valid: issued 3600 s in the future (is the phone's clock right?)"),
    ],
)
def test_token_lifetime(now_offset_s, code, reason):
    used = InMemoryUsedTokens()
    v = desk(used).verify(token(), T0 + now_offset_s)
    assert (v.code, v.reason, v.admitted) == (code, reason, code == "admitted")
    assert v.account_id == "demo-000"
    assert v.kind == ("customer" if v.admitted else None)
    assert len(used) == (1 if v.admitted else 0)  # refused tokens are not consumed


def test_replay_is_refused_and_a_fresh_nonce_admitted():
    d = desk()
    assert d.verify(token(), T0 + 1).admitted
    again = d.verify(token(), T0 + 3)
    assert (again.admitted, again.code) == (False, "replayed")
    assert again.reason == "replayed: token already used at 2023-11-14T22:13:21Z"
    assert again.token_id == "demo-000:1700000000:AAECAwQFBgc"
    assert d.verify(token(nonce=bytes(range(1, 9))), T0 + 3).admitted  # the app's next token
    assert d.verify(token(issued=T0 + 1), T0 + 3).admitted  # same nonce, next second: a different token


def test_replay_at_another_desk_sharing_the_used_store_is_refused():
    used = InMemoryUsedTokens()
    assert desk(used).verify(token(), T0).admitted
    assert desk(used).verify(token(), T0 + 1.0).code == "replayed"


def test_the_same_scan_again_is_not_a_replay():
    """A retried request or a rerun of a recording presents the same scan (same time): still admitted."""
    used = InMemoryUsedTokens()
    assert desk(used).verify(token(), T0).admitted
    assert desk(used).verify(token(), T0).admitted
    assert desk(used).verify(token(), T0 + 0.5).code == "replayed"


def _swap_last(text: str) -> str:
    return text[:-1] + ("A" if text[-1] != "A" else "B")


def _forged_cases() -> list[object]:
    good = token()
    head, issued, nonce, mac = good.rsplit(".", 3)
    other_mac = token("demo-001", issued=T0 + 1).rsplit(".", 1)[1]  # a genuine MAC, of another message
    bad, malformed = "forged: bad signature", "forged: malformed token"
    cases = {
        "tampered-mac": (_swap_last(good), bad),
        "tampered-mac-stray-bits": (f"{head}.{issued}.{nonce}.{mac[:-1]}{'B' if mac[-1] != 'B' else 'C'}", bad),
        "tampered-time": (f"{head}.{T0 + 20}.{nonce}.{mac}", bad),  # trying to extend its life
        "tampered-account": (good.replace("demo-000", "demo-001"), bad),
        "mac-of-another-message": (f"WO2.demo-001.{issued}.{nonce}.{other_mac}", bad),
        "tampered-nonce": (f"{head}.{issued}.{_swap_last(nonce)}.{mac}", bad),
        "another-store": (token(secret=b"another-store-secret-0123456789"), bad),
        "wrong-version": (good.replace("WO2.", "WO1."), malformed),
        "trailing-dot": (good + ".", malformed),
        "long-mac": (good + "A", malformed),
        "short-mac": (good[:-1], malformed),
        "leading-zero-time": (f"{head}.0{issued}.{nonce}.{mac}", malformed),
        "padded-nonce": (f"{head}.{issued}.{nonce}=.{mac}", malformed),
        "7-byte-nonce": (f"{head}.{issued}.{nonce[:-1]}.{mac}", malformed),
        "non-canonical-nonce": (f"{head}.{issued}.{nonce[:-1]}B.{mac}", malformed),  # stray base64 bits
        "trailing-newline": (good + "\n", malformed),
        "leading-space": (" " + good, malformed),
        "empty": ("", malformed),
        "old-static-demo-token": ("WO1.70caa5b999847e8ee2fa5e68", malformed),
        "badge-prefix-only": ("WOB.", malformed),
        "huge": ("x" * 10_000, malformed),
    }
    return [pytest.param(text, reason, id=name) for name, (text, reason) in cases.items()]


@pytest.mark.parametrize(("text", "reason"), _forged_cases())
def test_forged(text, reason):
    v = desk().verify(text, T0 + 1)
    assert v == EntryVerdict(False, None, None, None, reason, "forged")


@pytest.mark.parametrize(
    ("account_id", "code", "reason"),
    [
        ("ghost", "unknown_account", "unknown account: ghost is not registered"),
        ("gone-7", "account_closed", "account closed: gone-7 can no longer enter"),
        ("demo-060", "admitted", "admitted"),  # an associate shopping on their own app
    ],
)
def test_account_state(account_id, code, reason):
    v = desk().verify(token(account_id), T0)
    assert (v.code, v.reason, v.account_id) == (code, reason, account_id)
    assert v.kind == ("customer" if code == "admitted" else None)


def test_role_outside_the_known_set_is_refused():
    d = EntryDesk(SECRET, lambda a: "manager", InMemoryUsedTokens())
    assert d.verify(token(), T0).code == "unknown_account"
    assert d.verify(issue_staff_badge(SECRET, "demo-060"), T0).code == "unknown_account"


@pytest.mark.parametrize("now", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_clock_raises(now):
    with pytest.raises(ValueError, match="now_unix_s"):
        desk().verify(token(), now)


# ---- staff badges


@pytest.mark.parametrize(
    ("account_id", "code", "kind"),
    [
        ("demo-060", "admitted", "staff"),
        ("demo-000", "not_staff", None),
        ("gone-7", "account_closed", None),
        ("ghost", "unknown_account", None),
    ],
)
def test_badges(account_id, code, kind):
    d = desk()
    badge = issue_staff_badge(SECRET, account_id)
    for t in (T0, T0 + 3600.0, T0 + 86_400.0 * 365):  # static: no expiry, no single use
        v = d.verify(badge, t)
        assert (v.code, v.kind, v.account_id, v.token_id) == (code, kind, account_id, f"badge:{account_id}")
    if code == "not_staff":
        assert v.reason == "not staff: demo-000 is not a store associate"


def test_badge_is_refused_once_the_associate_leaves():
    roles = dict(ROLES)
    d = EntryDesk(SECRET, roles.get, InMemoryUsedTokens())
    badge = issue_staff_badge(SECRET, "demo-060")
    assert d.verify(badge, T0).admitted
    roles["demo-060"] = "customer"
    assert d.verify(badge, T0).code == "not_staff"


def test_badge_and_token_are_not_interchangeable():
    badge = issue_staff_badge(SECRET, "demo-060")
    mac = badge.rsplit(".", 1)[1]
    as_token = f"WO2.demo-060.{T0}.AAECAwQFBgc.{mac}"
    assert desk().verify(as_token, T0).code == "forged"
    t_mac = token("demo-060").rsplit(".", 1)[1]
    assert desk().verify(f"WOB.demo-060.{t_mac}", T0).code == "forged"
    assert desk().verify(_swap_last(badge), T0).reason == "forged: bad signature"


# ---- the used-token store


def test_in_memory_used_tokens_consume_and_prune():
    used = InMemoryUsedTokens()
    assert used.consume("a", "acc", 100.0) is None
    assert used.consume("a", "acc", 101.0) == 100.0
    assert used.consume("b", "acc", 120.0) is None
    assert used.prune(100.0 + ENTRY_TOKEN_TTL_S + CLOCK_SKEW_S) == 0
    assert used.prune(100.5 + ENTRY_TOKEN_TTL_S + CLOCK_SKEW_S) == 1
    assert len(used) == 1 and used.consume("b", "acc", 130.0) == 120.0


def test_verdict_is_frozen():
    v = desk().verify(token(), T0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.admitted = False  # type: ignore[misc]


# ---- fuzz: never raises, never admits a mutation


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_random_text_never_raises_or_admits(text):
    v = desk().verify(text, T0)
    assert not v.admitted
    assert v.code == "forged"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="WOB2.-_0123456789AaBbQq", max_size=80))
def test_token_shaped_text_never_raises_or_admits(text):
    v = desk().verify(text, T0)
    assert not v.admitted


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \n\x00é"


@st.composite
def mutations(draw: st.DrawFn, original: str) -> str:
    text = original
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["replace", "insert", "delete"]))
        c = draw(st.sampled_from(_ALPHABET))
        if op == "replace" and i < len(text):
            text = text[:i] + c + text[i + 1 :]
        elif op == "delete" and i < len(text):
            text = text[:i] + text[i + 1 :]
        else:
            text = text[:i] + c + text[i:]
    return text


@pytest.mark.parametrize(
    "original", [token(), issue_staff_badge(SECRET, "demo-060")], ids=["entry-token", "staff-badge"]
)
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_mutations_of_a_valid_token_are_never_admitted(original, data):
    mutated = data.draw(mutations(original))
    v = desk().verify(mutated, T0 + 1)  # a fresh used-store: only the signature can refuse it
    assert v.admitted == (mutated == original)
    if mutated != original:
        assert v.code == "forged"
