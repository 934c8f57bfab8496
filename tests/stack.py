"""Test support: the embedded stack in a background thread, and waiting on
conditions with deadlines (never a bare sleep)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

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


class StackThread:
    """An EmbeddedStack running on its own event loop in a daemon thread."""

    def __init__(self, state_dir: Path, hosts: int = 3, host_specs: list | None = None,
                 virt: str = "test", **settings_overrides: Any):
        # The suite boots far more than Nova's default quota (10 instances,
        # 20 cores) per project; quota tests set their project's limits.
        settings_overrides.setdefault("quota", {"instances": -1, "cores": -1, "ram": -1})
        settings = Settings(state_dir=state_dir, api_port=free_port(), **settings_overrides)
        self.stack = EmbeddedStack(settings=settings, hosts=hosts,
                                   temporal_port=free_port(), ui_port=free_port(),
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
