"""Activities a host worker runs on its own task queue, over its driver.

Driver errors become ApplicationErrors the workflows can tell apart:
``SpawnFailed`` is permanent for this host (the workflow reschedules
elsewhere); anything unexpected is left retryable.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.hypervisor.console import ConsoleOutputInput, ConsoleOutputResult
from activities.hypervisor.day2_driver import Day2Driver, GuestNotRunning, NotSupported
from activities.hypervisor.driver import (
    ComputeDriver,
    ConsoleUnavailable,
    DomainNotFound,
    DriverError,
    NodeInfo,
)
from activities.hypervisor.fencing import Fence
from activities.types.consoles import ConsoleEndpoint, ConsoleEndpointInput
from activities.types.day2 import GUEST_NOT_RUNNING, NOT_SUPPORTED
from activities.types.diagnostics import DiagnosticsInput, GuestDiagnostics
from activities.types.hypervisor import DestroyInput, SpawnInput, SpawnResult
from novaflow import errors, logs


def _may_be_superseded() -> bool:
    """Whether the build can have given this spawn's attempt up, so the fence
    must ask it (a query through Temporal: 5.7 ms and 4 ms of the server's CPU
    each, twice a boot).  A build gives a started attempt up only when Temporal
    times it out (no heartbeat for ``heartbeat_timeout``: the worker froze or
    lost Temporal) or when it is cancelled (a delete, the build timeout).  So
    a spawn younger than half its heartbeat timeout (half: the host's clock
    and Temporal's may be a little apart) and not cancelled is still current;
    the build's clean-up after a cancel destroys on this host behind it."""
    info = activity.info()
    if activity.is_cancelled() or not info.heartbeat_timeout or not info.started_time:
        return True
    age = time.time() - info.started_time.timestamp()
    return age >= info.heartbeat_timeout.total_seconds() / 2


class HostActivities:
    """The hypervisor actions of one compute host."""

    def __init__(self, driver: ComputeDriver, hostname: str, fence: Fence | None = None):
        self.driver = driver
        self.hostname = hostname
        self.fence = fence
        self.log = logs.get_logger("novaflow.host").bind(host=hostname)

    @activity.defn(name="spawn")
    async def spawn(self, inp: SpawnInput) -> SpawnResult:
        """Create and start the domain, if this host is still the attempt's
        chosen one before and after (activities/hypervisor/fencing.py)."""
        workflow_id = activity.info().workflow_id
        work = asyncio.create_task(self._spawn_fenced(inp, workflow_id))
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            # The build gave up on this step (it timed out, or was deleted) while
            # the hypervisor was creating the domain: let that finish, so the
            # second fence check sees the attempt moved on and undoes it.
            with contextlib.suppress(Exception):
                await work
            raise

    async def _spawn_fenced(self, inp: SpawnInput, workflow_id: str) -> SpawnResult:
        log = self.log.bind(server_id=inp.server_id, workflow_id=workflow_id)
        started = time.monotonic()
        await self._fence(inp, workflow_id)
        try:
            dom = await asyncio.to_thread(self.driver.spawn, inp)
        except DriverError as exc:
            log.warning("spawn failed", error=str(exc))
            raise ApplicationError(f"spawn on {self.hostname} failed: {exc}",
                                   type=errors.SPAWN_FAILED, non_retryable=True) from exc
        try:
            await self._fence(inp, workflow_id)
        except ApplicationError:  # a late spawn undoes itself
            await asyncio.to_thread(self.driver.destroy, inp.server_id)
            raise
        log.info("spawned", domain=dom.name, seconds=round(time.monotonic() - started, 2),
                 prepare_seconds=round(getattr(self.driver, "prepare_seconds", 0.0), 2))
        return SpawnResult(host=self.hostname, domain_name=dom.name, power_state=dom.power_state)

    async def _fence(self, inp: SpawnInput, workflow_id: str) -> None:
        if self.fence is None or not inp.attempt or not _may_be_superseded():
            return
        if not await self.fence.still_chosen(workflow_id, inp.attempt):
            raise ApplicationError(
                f"spawn on {self.hostname} superseded: attempt {inp.attempt} of the build "
                "moved on", type=errors.SPAWN_SUPERSEDED, non_retryable=True)

    @activity.defn(name="destroy_domain")
    def destroy_domain(self, inp: DestroyInput) -> bool:
        existed = self.driver.destroy(inp.server_id)
        self.log.info("destroyed", server_id=inp.server_id, existed=existed)
        return existed

    @activity.defn(name="get_power_state")
    def get_power_state(self, inp: DestroyInput) -> int | None:
        try:
            return self.driver.get_domain(inp.server_id).power_state
        except DomainNotFound:
            return None

    @activity.defn(name="get_console_output")
    def get_console_output(self, inp: ConsoleOutputInput) -> ConsoleOutputResult:
        """The tail of the guest's serial console log, read on this host."""
        try:
            return ConsoleOutputResult(output=self.driver.console_output(inp.server_id,
                                                                         inp.length))
        except DomainNotFound as exc:
            raise ApplicationError(f"server {inp.server_id} has no domain on {self.hostname}",
                                   type=errors.NOT_FOUND, non_retryable=True) from exc
        except DriverError as exc:
            raise ApplicationError(str(exc), type="ConsoleNotAvailable",
                                   non_retryable=True) from exc

    @activity.defn(name="get_console_endpoint")
    def get_console_endpoint(self, inp: ConsoleEndpointInput) -> ConsoleEndpoint:
        """Where the guest's VNC or serial console listens on this host."""
        try:
            return self.driver.console_endpoint(inp.server_id, inp.protocol)
        except DomainNotFound as exc:
            raise ApplicationError(f"server {inp.server_id} has no domain on {self.hostname}",
                                   type=errors.NOT_FOUND, non_retryable=True) from exc
        except ConsoleUnavailable as exc:
            raise ApplicationError(str(exc), type=errors.CONSOLE_UNAVAILABLE,
                                   non_retryable=True) from exc
        except DriverError as exc:
            raise ApplicationError(str(exc), type="ConsoleNotAvailable",
                                   non_retryable=True) from exc

    @activity.defn(name="get_diagnostics")
    def get_diagnostics(self, inp: DiagnosticsInput) -> GuestDiagnostics:
        """The running guest's counters, read on this host.  As Nova's compute
        manager, only a running guest has them: a domain that is not running,
        or not here at all, is GuestNotRunning (the API's 409)."""
        if not isinstance(self.driver, Day2Driver):
            raise ApplicationError(f"{self.hostname}'s driver cannot read diagnostics",
                                   type=NOT_SUPPORTED, non_retryable=True)
        try:
            return self.driver.get_diagnostics(inp.server_id)
        except (DomainNotFound, GuestNotRunning) as exc:
            raise ApplicationError(str(exc), type=GUEST_NOT_RUNNING,
                                   non_retryable=True) from exc
        except NotSupported as exc:
            raise ApplicationError(str(exc), type=NOT_SUPPORTED, non_retryable=True) from exc
        except DriverError as exc:
            self.log.warning("diagnostics failed", server_id=inp.server_id, error=str(exc))
            raise ApplicationError(str(exc), type="DiagnosticsFailed",
                                   non_retryable=True) from exc

    @activity.defn(name="node_info")
    def node_info(self) -> NodeInfo:
        return self.driver.node_info()

    def all(self) -> list:
        return [self.spawn, self.destroy_domain, self.get_power_state, self.node_info,
                self.get_console_output, self.get_console_endpoint, self.get_diagnostics]
