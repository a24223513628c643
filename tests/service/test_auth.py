"""Sign-up, login, logout, tokens and device tokens, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from service_world import FAST_HASH, PASSWORD, bearer, fresh_email, login, settings, signup
from sqlalchemy import select

from walkout.core.errors import OperationError
from walkout.engine.db.models import AccountRow
from walkout.engine.db.models_auth import ApiTokenRow, CredentialRow, DeviceRow
from walkout.operations.privacy import erase_account
from walkout.service import auth, create_app
from walkout.service.auth import Passwords, Principal
from walkout.service.settings import PasswordHashParams


def _rows(db, model):
    with db.transaction("test") as s:
        return [{c.key: getattr(r, c.key) for c in model.__table__.columns} for r in s.scalars(select(model))]


def test_signup_login_logout(api):
    c = api.client
    email = fresh_email("Ada")
    answer = signup(c, email.upper(), name="Ada Lovelace")
    assert answer["role"] == "customer" and answer["account_id"].startswith("c-")
    me = c.get("/api/me", headers=bearer(answer["token"])).json()
    assert me == {
        **me,
        "account_id": answer["account_id"],
        "name": "Ada Lovelace",
        "role": "customer",
        "email": email.upper(),
    }
    token = login(c, email)  # the e-mail signs in whatever its case
    assert token != answer["token"]
    assert c.post("/api/auth/logout", headers=bearer(token)).status_code == 204
    assert c.get("/api/me", headers=bearer(token)).status_code == 401
    assert c.post("/api/auth/logout", headers=bearer(token)).status_code == 401
    assert c.get("/api/me", headers=bearer(answer["token"])).status_code == 200  # the other token lives on


def test_wrong_password_and_unknown_email_get_the_same_answer(api):
    email = fresh_email()
    signup(api.client, email)
    wrong = api.client.post("/api/auth/login", json={"email": email, "password": "not the password"})
    unknown = api.client.post("/api/auth/login", json={"email": fresh_email(), "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "login: wrong e-mail or password"}
    assert wrong.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"email": "not-an-email", "password": PASSWORD, "name": "A"}, 422),
        ({"email": "a@example.com", "password": "short", "name": "A"}, 422),
        ({"email": "a@example.com", "password": PASSWORD, "name": ""}, 422),
        ({"email": "a@example.com", "password": PASSWORD}, 422),
        ({"email": "a@example.com", "password": PASSWORD, "name": "A", "role": "manager"}, 422),
    ],
)
def test_signup_refuses_bad_input(api, body, status):
    r = api.client.post("/api/auth/signup", json=body)
    assert r.status_code == status, r.text
    assert set(r.json()) == {"detail"}


def test_signup_refuses_a_registered_email_in_any_case(api):
    email = fresh_email()
    signup(api.client, email)
    r = api.client.post("/api/auth/signup", json={"email": email.upper(), "password": PASSWORD, "name": "Twin"})
    assert r.status_code == 409 and "already registered" in r.json()["detail"]
    assert len(_rows(api.db, CredentialRow)) == 1  # and no orphan account was left behind
    with api.db.transaction("test") as s:
        assert len(list(s.scalars(select(AccountRow)))) == 1


def test_passwords_and_tokens_are_stored_hashed(api):
    email = fresh_email()
    token = signup(api.client, email)["token"]
    (cred,) = _rows(api.db, CredentialRow)
    assert cred["email"] == email.lower()
    assert cred["password_hash"].startswith("$argon2id$") and PASSWORD not in cred["password_hash"]
    assert PasswordHasher().verify(cred["password_hash"], PASSWORD)
    (row,) = _rows(api.db, ApiTokenRow)
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest() != token
    assert row["role"] == "customer" and row["expires_at"] is not None


def test_login_rehashes_a_password_hashed_with_old_parameters(api, store):
    email = fresh_email()
    signup(api.client, email)
    (before,) = _rows(api.db, CredentialRow)
    stronger = PasswordHashParams(time_cost=2, memory_kib=16, parallelism=1)
    with TestClient(create_app(settings(api.url, store, password_hash=stronger))) as client:
        login(client, email)
    (after,) = _rows(api.db, CredentialRow)
    assert before["password_hash"] != after["password_hash"] and "t=2" in after["password_hash"]
    login(api.client, email)  # still the same password


def test_expired_and_unknown_tokens_are_refused(api):
    account_id = signup(api.client)["account_id"]
    past = datetime.now(UTC) - timedelta(hours=2)
    old = auth.issue_token(api.db, account_id, "customer", ttl_s=3600, now=past)
    assert api.client.get("/api/me", headers=bearer(old.token)).status_code == 401
    assert api.client.get("/api/me", headers={"Authorization": "Basic dXNlcjpwdw=="}).status_code == 401
    assert auth.authenticate(api.db, "y" * 10_000) is None
    assert auth.authenticate(api.db, "") is None


def test_an_erased_account_is_signed_out_and_cannot_log_in(api):
    email = fresh_email()
    answer = signup(api.client, email)
    report = erase_account(api.db, answer["account_id"])
    assert report.deleted["credentials"] == 1 and report.deleted["api_tokens"] == 1
    assert api.client.get("/api/me", headers=bearer(answer["token"])).status_code == 401
    r = api.client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 401
    assert _rows(api.db, CredentialRow) == []


def test_a_token_stops_when_the_role_changes(api):
    answer = signup(api.client)
    with api.db.transaction("test") as s:
        s.get(AccountRow, answer["account_id"]).role = "associate"
    assert api.client.get("/api/me", headers=bearer(answer["token"])).status_code == 401


def test_staff_accounts_log_in_with_their_role(api):
    passwords = Passwords(FAST_HASH)
    email = fresh_email("boss")
    manager = auth.create_manager(api.db, passwords, email=email, password=PASSWORD)
    assert manager.role == "manager"
    r = api.client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert r.json()["role"] == "manager" and r.json()["account_id"] == manager.account_id
    staff = api.client.post(
        "/api/staff",
        headers=bearer(r.json()["token"]),
        json={"email": fresh_email("floor"), "password": PASSWORD, "name": "Floor", "role": "associate"},
    )
    assert staff.status_code == 201 and staff.json()["role"] == "associate"
    again = api.client.post(
        "/api/staff", headers=bearer(r.json()["token"]), json={"email": email, "password": PASSWORD, "name": "Twin"}
    )
    assert again.status_code == 409
    with pytest.raises(OperationError, match="password must be"):
        auth.create_manager(api.db, passwords, email=fresh_email(), password="short")


def test_device_tokens(api):
    passwords = Passwords(FAST_HASH)
    email = fresh_email("boss")
    auth.create_manager(api.db, passwords, email=email, password=PASSWORD)
    manager = bearer(login(api.client, email))
    made = api.client.post("/api/devices", json={"kind": "gate", "device_id": "gate-1"}, headers=manager)
    assert made.status_code == 201
    token = made.json()["token"]
    assert auth.verify_device(api.db, "gate-1", token)
    assert not auth.verify_device(api.db, "gate-1", token + "x")
    assert not auth.verify_device(api.db, "gate-2", token)
    assert not auth.verify_device(api.db, "gate-1", None)  # type: ignore[arg-type]
    assert auth.authenticate(api.db, token) == Principal("device", device_id="gate-1")
    (device,) = _rows(api.db, DeviceRow)
    assert device["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    again = api.client.post("/api/devices", json={"kind": "gate", "device_id": "gate-1"}, headers=manager)
    assert again.status_code == 409
    beat = api.client.post("/api/devices/gate-1/heartbeat", headers=bearer(token))
    assert beat.status_code == 200 and beat.json()["last_seen_at"] is not None
    other = api.client.post("/api/devices", json={"kind": "plates"}, headers=manager).json()
    assert other["device_id"].startswith("plates-")
    assert api.client.post(f"/api/devices/{other['device_id']}/heartbeat", headers=bearer(token)).status_code == 403
    revoked = api.client.delete("/api/devices/gate-1", headers=manager)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert not auth.verify_device(api.db, "gate-1", token)
    assert api.client.post("/api/devices/gate-1/heartbeat", headers=bearer(token)).status_code == 401
    assert api.client.delete("/api/devices/nope", headers=manager).status_code == 404
    listed = api.client.get("/api/devices", headers=manager).json()
    assert [d["device_id"] for d in listed] == sorted(["gate-1", other["device_id"]])
    assert "token" not in listed[0] and "token_hash" not in listed[0]
