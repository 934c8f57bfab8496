"""Activities a host worker runs on its own task queue, over its driver.

Driver errors become ApplicationErrors the workflows can tell apart:
``SpawnFailed`` is permanent for this host (the workflow reschedules
elsewhere); anything unexpected is left retryable.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.hypervisor.driver import ComputeDriver, DomainNotFound, DriverError, NodeInfo
from activities.types.hypervisor import DestroyInput, SpawnInput, SpawnResult
from novaflow import errors, logs


class HostActivities:
    """The hypervisor actions of one compute host."""

    def __init__(self, driver: ComputeDriver, hostname: str):
        self.driver = driver
        self.hostname = hostname
        self.log = logs.get_logger("novaflow.host").bind(host=hostname)

    @activity.defn(name="spawn")
    def spawn(self, inp: SpawnInput) -> SpawnResult:
        info = activity.info()
        log = self.log.bind(server_id=inp.server_id, workflow_id=info.workflow_id)
        try:
            dom = self.driver.spawn(inp)
        except DriverError as exc:
            log.warning("spawn failed", error=str(exc))
            raise ApplicationError(f"spawn on {self.hostname} failed: {exc}",
                                   type=errors.SPAWN_FAILED, non_retryable=True) from exc
        log.info("spawned", domain=dom.name)
        return SpawnResult(host=self.hostname, domain_name=dom.name, power_state=dom.power_state)

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

    @activity.defn(name="node_info")
    def node_info(self) -> NodeInfo:
        return self.driver.node_info()

    def all(self) -> list:
        return [self.spawn, self.destroy_domain, self.get_power_state, self.node_info]
