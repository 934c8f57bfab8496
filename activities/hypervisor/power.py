"""Host-side activities for power actions and host reports.

They run on the host's own queue over its ComputeDriver and never touch the
database: a power action returns the power state libvirt reports afterwards;
``report_host`` returns the host's inventory and every domain on it, which
the host monitor records on the control plane (activities/host_reports.py).
"""

from __future__ import annotations

from collections.abc import Callable

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.hypervisor.driver import ComputeDriver, DomainInfo, DomainNotFound, DriverError
from activities.types.hosts import DomainReport, HostReport, HostReportInput
from activities.types.hypervisor import PowerActionInput, PowerActionResult
from novaflow import errors, logs

# The failure type of a power action the hypervisor refused (the server keeps
# its vm_state; the operation's action records why).
POWER_ACTION_FAILED = "PowerActionFailed"


class HostPowerActivities:
    """Power actions and the periodic report of one compute host."""

    def __init__(self, driver: ComputeDriver, hostname: str):
        self.driver = driver
        self.hostname = hostname
        self.log = logs.get_logger("novaflow.host").bind(host=hostname)

    def _run(self, verb: str, inp: PowerActionInput,
             fn: Callable[[], DomainInfo]) -> PowerActionResult:
        try:
            dom = fn()
        except DomainNotFound as exc:
            raise ApplicationError(f"{verb} on {self.hostname}: server {inp.server_id} has no "
                                   "domain on this host", type=errors.NOT_FOUND,
                                   non_retryable=True) from exc
        except DriverError as exc:
            self.log.warning(f"{verb} failed", server_id=inp.server_id, error=str(exc))
            raise ApplicationError(f"{verb} on {self.hostname} failed: {exc}",
                                   type=POWER_ACTION_FAILED, non_retryable=True) from exc
        self.log.info(verb, server_id=inp.server_id, power_state=dom.power_state)
        return PowerActionResult(power_state=dom.power_state)

    @activity.defn(name="power_on")
    def power_on(self, inp: PowerActionInput) -> PowerActionResult:
        return self._run("power_on", inp, lambda: self.driver.power_on(inp.server_id))

    @activity.defn(name="power_off")
    def power_off(self, inp: PowerActionInput) -> PowerActionResult:
        return self._run("power_off", inp, lambda: self.driver.power_off(
            inp.server_id, timeout=inp.shutdown_timeout_s))

    @activity.defn(name="reboot")
    def reboot(self, inp: PowerActionInput) -> PowerActionResult:
        return self._run("reboot", inp, lambda: self.driver.reboot(inp.server_id, hard=inp.hard))

    @activity.defn(name="pause")
    def pause(self, inp: PowerActionInput) -> PowerActionResult:
        return self._run("pause", inp, lambda: self.driver.pause(inp.server_id))

    @activity.defn(name="unpause")
    def unpause(self, inp: PowerActionInput) -> PowerActionResult:
        return self._run("unpause", inp, lambda: self.driver.unpause(inp.server_id))

    @activity.defn(name="suspend")
    def suspend(self, inp: PowerActionInput) -> PowerActionResult:
        return self._run("suspend", inp, lambda: self.driver.suspend(inp.server_id))

    @activity.defn(name="resume")
    def resume(self, inp: PowerActionInput) -> PowerActionResult:
        return self._run("resume", inp, lambda: self.driver.resume(inp.server_id))

    @activity.defn(name="report_host")
    def report_host(self, inp: HostReportInput) -> HostReport:
        """The host's inventory and the power state of every domain on it."""
        info = self.driver.node_info()
        domains = [DomainReport(server_id=d.server_id, name=d.name, power_state=d.power_state)
                   for d in self.driver.list_domains()]
        return HostReport(hostname=self.hostname, inventory=info.inventory(), domains=domains)

    def all(self) -> list:
        return [self.power_on, self.power_off, self.reboot, self.pause, self.unpause,
                self.suspend, self.resume, self.report_host]
