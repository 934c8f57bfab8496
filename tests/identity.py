"""Test support for identity: logging in to the session's real Keystone and
httpx clients whose token is renewed before Keystone's (short, in tests)
expiry; users and projects made on demand for tests that want their own."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import compute_schemas
import httpx

# Keystone's token lifetime in the test stack (tests/conftest.py): short, so
# the expired-token test runs in seconds.  Clients renew at half of it.
TOKEN_EXPIRATION = 30
RENEW_AFTER = TOKEN_EXPIRATION / 2


@dataclass
class Login:
    user: str
    password: str
    project: str


# Every token the tests were given, so the history test can look for them.
ISSUED: list[str] = []


def issue_token(auth_url: str, login: Login) -> tuple[str, dict]:
    """POST /v3/auth/tokens with a password; returns (token, token body)."""
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": login.user, "domain": {"id": "default"}, "password": login.password}}},
        "scope": {"project": {"name": login.project, "domain": {"id": "default"}}}}}
    resp = httpx.post(f"{auth_url}/auth/tokens", json=body, timeout=30)
    assert resp.status_code == 201, resp.text
    ISSUED.append(resp.headers["x-subject-token"])
    return resp.headers["x-subject-token"], resp.json()["token"]


class KeystoneAuth(httpx.Auth):
    """Sets X-Auth-Token (unless the request has one) to a fresh token."""

    def __init__(self, auth_url: str, login: Login):
        self.auth_url = auth_url
        self.login = login
        self._token: str | None = None
        self._issued = 0.0
        self._lock = threading.Lock()
        self.body: dict = {}

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() - self._issued > RENEW_AFTER:
                self._token, self.body = issue_token(self.auth_url, self.login)
                self._issued = time.monotonic()
            return self._token

    @property
    def project_id(self) -> str:
        self.token()
        return self.body["project"]["id"]

    @property
    def user_id(self) -> str:
        self.token()
        return self.body["user"]["id"]

    def auth_flow(self, request: httpx.Request):
        if "x-auth-token" not in request.headers:
            request.headers["X-Auth-Token"] = self.token()
        yield request


def client(base_url: str, auth_url: str, login: Login, timeout: float = 30) -> httpx.Client:
    """An httpx client of the API logged in as ``login``."""
    auth = KeystoneAuth(auth_url, login)
    c = httpx.Client(base_url=base_url, auth=auth, timeout=timeout,
                     event_hooks=compute_schemas.hooks())
    c.keystone = auth  # type: ignore[attr-defined]
    return c
