"""Host-side steps of rescue / unrescue over the driver's Day2Driver
contract: boot the rescue domain, restore the original one.  They run on the
host's own queue and never touch the database."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.hypervisor.day2_driver import Day2Driver, NotSupported
from activities.hypervisor.day2_host import Day2HostActivities
from activities.hypervisor.driver import DriverError
from activities.types.day2 import NOT_SUPPORTED, GuestActionInput
from activities.types.hypervisor import PowerActionResult
from activities.types.rescue import RESCUE_FAILED, RescueDomainInput


class HostRescueActivities(Day2HostActivities):
    """Rescue on one compute host."""

    def _run(self, what: str, server_id: str, fn) -> PowerActionResult:
        if not isinstance(self.driver, Day2Driver):
            raise ApplicationError(f"{self.hostname}'s driver cannot {what}",
                                   type=NOT_SUPPORTED, non_retryable=True)
        try:
            dom = fn(self.driver)
        except NotSupported as exc:
            raise ApplicationError(str(exc), type=NOT_SUPPORTED, non_retryable=True) from exc
        except DriverError as exc:
            self.log.warning(f"{what} failed", server_id=server_id, error=str(exc))
            raise ApplicationError(f"{what} on {self.hostname} failed: {exc}",
                                   type=RESCUE_FAILED, non_retryable=True) from exc
        self.log.info(what, server_id=server_id)
        return PowerActionResult(power_state=dom.power_state)

    @activity.defn(name="rescue_domain")
    def rescue_domain(self, inp: RescueDomainInput) -> PowerActionResult:
        return self._run("rescue", inp.spawn.server_id,
                         lambda d: d.rescue(inp.spawn, inp.rescue_image))

    @activity.defn(name="unrescue_domain")
    def unrescue_domain(self, inp: GuestActionInput) -> PowerActionResult:
        return self._run("unrescue", inp.server_id, lambda d: d.unrescue(inp.server_id))

    def all(self) -> list:
        return [self.rescue_domain, self.unrescue_domain]
