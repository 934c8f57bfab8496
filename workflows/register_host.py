"""RegisterHostWorkflow: a host worker announcing itself to the control plane.

Started by every host worker when it starts (workflow id
``register-host-<hostname>``), so a new host appears without a manual
discover step; host workers never open the database themselves.  A process
serving many hosts registers them in batches (RegisterHostsWorkflow).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.hosts import HostRegistryActivities
    from activities.types.hosts import RegisterHostInput, RegisterHostResult, RegisterHostsInput

from workflows.common import control


@workflow.defn(name="RegisterHostWorkflow")
class RegisterHostWorkflow:
    @workflow.run
    async def run(self, inp: RegisterHostInput) -> RegisterHostResult:
        return await control(HostRegistryActivities.register_host, inp,
                             summary=f"register {inp.hostname}")


@workflow.defn(name="RegisterHostsWorkflow")
class RegisterHostsWorkflow:
    """Many hosts of one process at once: a workflow per host was the bottleneck of
    bringing up 1,000 simulated hosts (one dev-server round trip each)."""

    @workflow.run
    async def run(self, inp: RegisterHostsInput) -> list[RegisterHostResult]:
        return await control(HostRegistryActivities.register_hosts, inp,
                             summary=f"register {len(inp.hosts)} hosts")
