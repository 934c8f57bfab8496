"""Identity: validating tokens with Keystone, as keystonemiddleware does.

``TokenBackend`` is the interface; ``KeystoneTokenBackend`` asks Keystone
(``GET /v3/auth/tokens`` with ``X-Subject-Token``, authenticated as the
control plane's service user through keystoneauth1) and caches valid tokens
for a short time, never past their expiry.  ``IdentityActivities.check_token``
is the first step of every operation's workflow.

    InvalidToken          missing, unknown, expired or revoked  -> 401
    KeystoneUnavailable   Keystone unreachable or failing       -> 503
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from abc import ABC, abstractmethod
from datetime import datetime

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.types.identity import CheckTokenInput, Identity
from novaflow import errors

AUTH_REQUIRED = "The request you have made requires authentication."


class InvalidToken(Exception):
    """The token is missing, malformed, unknown, expired or revoked."""


class KeystoneUnavailable(Exception):
    """Keystone could not be asked (down, timing out or failing)."""


class TokenBackend(ABC):
    """Turns a token into the identity it stands for."""

    @abstractmethod
    def validate(self, token: str | None, allow_expired: bool = False) -> Identity:
        """Return the token's identity or raise InvalidToken / KeystoneUnavailable.

        ``allow_expired``: accept a token that expired after it was checked at
        the API (as keystonemiddleware does for a request that carries a
        service token); revoked tokens are refused all the same."""

    async def avalidate(self, token: str | None) -> Identity:
        """``validate`` without blocking the event loop."""
        return await asyncio.to_thread(self.validate, token)


def identity_from_token(body: dict) -> Identity:
    """Identity from Keystone's token body (``{"token": {...}}``)."""
    tok = body["token"]
    project = tok.get("project") or {}
    user = tok.get("user") or {}
    return Identity(user_id=user.get("id", ""), user_name=user.get("name", ""),
                    project_id=project.get("id", ""), project_name=project.get("name", ""),
                    domain_id=(project.get("domain") or user.get("domain") or {}).get("id", ""),
                    roles=sorted(r["name"] for r in tok.get("roles") or []))


def _expires_at(body: dict) -> float:
    raw = body["token"].get("expires_at")
    if not raw:
        return time.time()
    return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()


class TokenCache:
    """Valid tokens by hash, each kept until min(now + ttl, its expiry)."""

    def __init__(self, ttl: float, max_entries: int = 10000):
        self.ttl = ttl
        self.max_entries = max_entries
        self._items: dict[str, tuple[float, Identity]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def get(self, token: str) -> Identity | None:
        key = self.key(token)
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            if hit[0] <= time.time():
                del self._items[key]
                return None
            return hit[1]

    def put(self, token: str, ident: Identity, expires_at: float) -> None:
        if self.ttl <= 0:
            return
        until = min(time.time() + self.ttl, expires_at)
        with self._lock:
            if len(self._items) >= self.max_entries:
                now = time.time()
                self._items = {k: v for k, v in self._items.items() if v[0] > now}
                while len(self._items) >= self.max_entries:
                    self._items.pop(next(iter(self._items)))
            self._items[self.key(token)] = (until, ident)


class KeystoneTokenBackend(TokenBackend):
    """Validates tokens with Keystone as the service user; caches valid ones."""

    def __init__(self, auth_url: str, username: str, password: str, project_name: str,
                 user_domain_id: str = "default", project_domain_id: str = "default",
                 cache_time: float = 300.0, timeout: float = 5.0):
        self.auth_url = auth_url.rstrip("/")
        auth = v3.Password(auth_url=self.auth_url, username=username, password=password,
                           project_name=project_name, user_domain_id=user_domain_id,
                           project_domain_id=project_domain_id)
        self.session = ks_session.Session(auth=auth, timeout=timeout)
        self.cache = TokenCache(cache_time)

    def validate(self, token: str | None, allow_expired: bool = False) -> Identity:
        if not token or len(token) > 8192:
            raise InvalidToken(AUTH_REQUIRED)
        cached = self.cache.get(token)
        if cached is not None:
            return cached
        try:
            resp = self.session.get(f"{self.auth_url}/auth/tokens", raise_exc=False,
                                    headers={"X-Subject-Token": token},
                                    params={"allow_expired": 1} if allow_expired else None)
        except (ks_exc.ConnectionError, ks_exc.ConnectTimeout, ks_exc.RequestTimeout,
                ks_exc.DiscoveryFailure) as exc:
            raise KeystoneUnavailable("The identity service is unavailable.") from exc
        except ks_exc.Unauthorized as exc:
            # Our own service credentials were refused: nobody can be checked.
            raise KeystoneUnavailable("The identity service refused the control "
                                      "plane's service credentials.") from exc
        except ks_exc.ClientException as exc:
            raise KeystoneUnavailable("The identity service is unavailable.") from exc
        if resp.status_code in (401, 403, 404):
            raise InvalidToken(AUTH_REQUIRED)
        if resp.status_code != 200:
            raise KeystoneUnavailable(
                f"The identity service answered {resp.status_code} to a token check.")
        body = resp.json()
        ident = identity_from_token(body)
        expires_at = _expires_at(body)
        # An expired token (allow_expired) must never be served from the cache;
        # one still valid is cached whoever asked, so the builds' own check of
        # the token that the API has just checked finds it there.
        if expires_at > time.time():
            self.cache.put(token, ident, expires_at)
        return ident

    async def avalidate(self, token: str | None) -> Identity:
        if token and (cached := self.cache.get(token)) is not None:
            return cached  # warm cache: no thread hop
        return await asyncio.to_thread(self.validate, token)


def keystone_backend(settings) -> KeystoneTokenBackend:
    """The backend for ``settings``' Keystone and service user."""
    return KeystoneTokenBackend(
        settings.keystone_auth_url(), settings.service_user,
        settings.effective_service_password(), settings.service_project,
        cache_time=settings.token_cache_time, timeout=settings.keystone_timeout)


class IdentityActivities:
    """The token check every operation's workflow starts with."""

    def __init__(self, backend: TokenBackend):
        self.backend = backend

    @activity.defn(name="check_token")
    def check_token(self, inp: CheckTokenInput) -> Identity:
        """The caller's token, checked again with the service user's authority:
        it may have expired since the API took the request (Keystone's
        ``allow_expired`` window, as Nova's service tokens allow), but not
        been revoked."""
        try:
            ident = self.backend.validate(inp.ctx.token, allow_expired=True)
        except InvalidToken as exc:
            raise ApplicationError(str(exc), type=errors.INVALID_TOKEN,
                                   non_retryable=True) from exc
        except KeystoneUnavailable as exc:
            raise ApplicationError(str(exc), type="KeystoneUnavailable") from exc
        if ident.project_id != inp.ctx.project_id and "admin" not in ident.roles:
            raise ApplicationError("token does not belong to the server's project",
                                   type=errors.INVALID_TOKEN, non_retryable=True)
        return ident
