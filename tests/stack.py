"""Test support: the embedded stack in a background thread, and waiting on
conditions with deadlines (never a bare sleep)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import identity
from identity import TOKEN_EXPIRATION, Login

from novaflow.credentials import PASSWORDS_FILE
from novaflow.settings import Settings
from workers.stack import EmbeddedStack

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], T], timeout: float = 30.0, interval: float = 0.05,
             what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


async def wait_until(check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05,
                     what: str = "condition") -> Any:
    """``wait_for`` for async tests: ``check`` may be a coroutine function."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while loop.time() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


class StackThread:
    """An EmbeddedStack running on its own event loop in a daemon thread."""

    def __init__(self, state_dir: Path, hosts: int = 3, host_specs: list | None = None,
                 virt: str = "test", keystone_of: StackThread | None = None,
                 **settings_overrides: Any):
        """``keystone_of``: share that stack's Keystone (and Glance) instead of
        starting one."""
        self.keystone_of = keystone_of
        # The suite boots far more than Nova's default quota (10 instances,
        # 20 cores) per project; quota tests set their project's limits.
        settings_overrides.setdefault("quota", {"instances": -1, "cores": -1, "ram": -1})
        # Keystone for tests: cheap password hashing, short-lived tokens, and a
        # token cache short enough for the revocation test to wait it out.
        settings_overrides.setdefault("keystone_password_hash_rounds", 4)
        settings_overrides.setdefault("keystone_token_expiration", TOKEN_EXPIRATION)
        settings_overrides.setdefault("token_cache_time", 2.0)
        settings_overrides.setdefault("metadata_port", free_port())  # never Nova's 8775
        if keystone_of is not None:
            settings_overrides["keystone_url"] = keystone_of.auth_url
            settings_overrides["service_password"] = keystone_of.passwords["novaflow"]
            # Its own endpoints (network, compute...) in a region of its own.
            settings_overrides.setdefault("region_name", f"Region-{state_dir.name}")
            passwords_file = state_dir / PASSWORDS_FILE
            passwords_file.write_text(json.dumps(keystone_of.passwords))
        settings_overrides.setdefault("console_proxy_port", free_port())
        settings = Settings(state_dir=state_dir, api_port=free_port(), **settings_overrides)
        self.stack = EmbeddedStack(settings=settings, hosts=hosts,
                                   temporal_port=free_port(), ui_port=free_port(),
                                   keystone_port=free_port(), glance_port=free_port(),
                                   own_keystone=keystone_of is None,
                                   headless=True, host_specs=host_specs, virt=virt)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                       name="novaflow-stack")

    def start(self, timeout: float = 120) -> None:
        self.thread.start()
        self.call(self.stack.start(), timeout=timeout)

    def call(self, coro: Any, timeout: float = 60) -> Any:
        """Run a coroutine on the stack's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        try:
            self.call(self.stack.stop(), timeout=60)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)

    @property
    def api_url(self) -> str:
        return self.stack.api_url

    @property
    def db(self):
        return self.stack.db

    @property
    def auth_url(self) -> str:
        return self.stack.settings.keystone_auth_url()

    @property
    def passwords(self) -> dict[str, str]:
        return self.stack.passwords

    def login(self, user: str, project: str | None = None) -> Login:
        """One of the stack's users: admin, demo, reader, other, novaflow."""
        default = {"admin": "admin", "demo": "demo", "reader": "demo", "other": "other",
                   "novaflow": "service", "glance": "service"}
        return Login(user, self.passwords[user], project or default[user])

    def client(self, user: str, timeout: float = 30):
        """An httpx client of the API as one of the stack's users."""
        return identity.client(self.api_url, self.auth_url, self.login(user), timeout)

    @property
    def glance_url(self) -> str:
        """The real Glance's URL (the one in Keystone's catalog)."""
        if self.stack.glance is None:
            return self.keystone_of.glance_url
        return self.stack.glance.url

    def glance_client(self, user: str, timeout: float = 30):
        """An httpx client of Glance's v2 API as one of the stack's users."""
        return identity.client(f"{self.glance_url}/v2", self.auth_url, self.login(user),
                               timeout)

    def ensure_user(self, user: str, project: str, role: str = "member") -> Login:
        """A Keystone user with ``role`` on ``project``, both made if missing."""
        from workers.keystone_setup import IdentityAdmin

        password = f"pw-{user}-{project}"
        admin = IdentityAdmin(self.auth_url, self.passwords["admin"])
        admin.ensure_user(user, password, project, role)
        return Login(user, password, project)
