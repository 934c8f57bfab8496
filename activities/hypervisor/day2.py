"""Host-side activities of the day-2 operations (trigger_crash_dump, rebuild),
over the driver's Day2Driver contract (day2_driver.py).  They run on the
host's own queue and never touch the database.

Failures carry the type the API maps to Nova's answers: NotSupported ->
400 "Triggering crash dump is not supported", GuestNotRunning -> 409.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.hypervisor.day2_driver import Day2Driver, GuestNotRunning, NotSupported
from activities.hypervisor.day2_host import Day2HostActivities
from activities.hypervisor.driver import DomainNotFound, DriverError
from activities.types.day2 import (
    GUEST_ACTION_FAILED,
    GUEST_NOT_RUNNING,
    NOT_SUPPORTED,
    GuestActionInput,
    RebuildDomainInput,
)
from activities.types.hypervisor import SpawnResult
from novaflow import errors


class HostDay2Activities(Day2HostActivities):
    """Guest actions on one compute host."""

    @activity.defn(name="trigger_crash_dump")
    def trigger_crash_dump(self, inp: GuestActionInput) -> None:
        if not isinstance(self.driver, Day2Driver):
            raise ApplicationError(f"{self.hostname}'s driver cannot inject an NMI",
                                   type=NOT_SUPPORTED, non_retryable=True)
        try:
            self.driver.inject_nmi(inp.server_id)
        except DomainNotFound as exc:
            raise ApplicationError(f"server {inp.server_id} has no domain on {self.hostname}",
                                   type=errors.NOT_FOUND, non_retryable=True) from exc
        except NotSupported as exc:
            raise ApplicationError(str(exc), type=NOT_SUPPORTED, non_retryable=True) from exc
        except GuestNotRunning as exc:
            raise ApplicationError(str(exc), type=GUEST_NOT_RUNNING,
                                   non_retryable=True) from exc
        except DriverError as exc:
            raise ApplicationError(f"trigger_crash_dump on {self.hostname} failed: {exc}",
                                   type=GUEST_ACTION_FAILED, non_retryable=True) from exc
        self.log.info("NMI injected", server_id=inp.server_id)

    @activity.defn(name="rebuild_domain")
    def rebuild_domain(self, inp: RebuildDomainInput) -> SpawnResult:
        """Destroy and spawn the server's domain from its new image, here."""
        if not isinstance(self.driver, Day2Driver):
            raise ApplicationError(f"{self.hostname}'s driver cannot rebuild",
                                   type=NOT_SUPPORTED, non_retryable=True)
        try:
            dom = self.driver.rebuild(inp.spawn, inp.preserve_ephemeral, inp.power_on)
        except DriverError as exc:
            self.log.warning("rebuild failed", server_id=inp.spawn.server_id, error=str(exc))
            raise ApplicationError(f"rebuild on {self.hostname} failed: {exc}",
                                   type=errors.SPAWN_FAILED, non_retryable=True) from exc
        self.log.info("rebuilt", server_id=inp.spawn.server_id, image=inp.spawn.image.id)
        return SpawnResult(host=self.hostname, domain_name=dom.name,
                           power_state=dom.power_state)

    @activity.defn(name="live_migration_force_complete")
    def live_migration_force_complete(self, inp: GuestActionInput) -> None:
        """Source side: make the running live migration converge."""
        if not isinstance(self.driver, Day2Driver):
            raise ApplicationError(f"{self.hostname}'s driver cannot force a migration",
                                   type=NOT_SUPPORTED, non_retryable=True)
        try:
            self.driver.live_migration_force_complete(inp.server_id)
        except NotSupported as exc:
            raise ApplicationError(str(exc), type=NOT_SUPPORTED, non_retryable=True) from exc
        except DriverError as exc:
            raise ApplicationError(f"force_complete on {self.hostname} failed: {exc}",
                                   type=GUEST_ACTION_FAILED, non_retryable=True) from exc
        self.log.info("live migration forced to complete", server_id=inp.server_id)

    def all(self) -> list:
        return [self.trigger_crash_dump, self.rebuild_domain, self.live_migration_force_complete]
