"""A worker interceptor that heartbeats every activity of a host worker while
it runs.

Host steps are called with a heartbeat timeout (workflows/common.py
``on_host``), so a worker that dies or freezes with a step in flight is
noticed within seconds instead of after the step's start-to-close timeout: its
heartbeats stop.  A step that is merely slow on a live worker keeps
heartbeating and is bounded by its start-to-close timeout as before.  The
heartbeat also carries a cancellation back to the worker (Temporal answers a
heartbeat of a cancelled activity by cancelling it), so a delete reaches a
running host step.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from temporalio.worker import (
    ActivityInboundInterceptor,
    ActivityOutboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)


class _Inbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, interval_s: float):
        super().__init__(next)
        self.interval_s = interval_s
        self._outbound: ActivityOutboundInterceptor | None = None

    def init(self, outbound: ActivityOutboundInterceptor) -> None:
        # The worker's own heartbeat, callable on its event loop.  (The
        # activity-context ``activity.heartbeat`` of a threaded activity waits
        # for the loop: called from the loop itself it would block it.)
        self._outbound = outbound
        super().init(outbound)

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        ticker = asyncio.create_task(self._beat())
        try:
            return await self.next.execute_activity(input)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker

    async def _beat(self) -> None:
        while True:
            self._outbound.heartbeat()
            await asyncio.sleep(self.interval_s)


class HeartbeatInterceptor(Interceptor):
    """Heartbeat every ``interval_s`` seconds from each running activity."""

    def __init__(self, interval_s: float = 1.0):
        self.interval_s = interval_s

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next, self.interval_s)
