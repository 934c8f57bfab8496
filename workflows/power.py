"""PowerActionWorkflow: start, stop, reboot, pause/unpause, suspend/resume.

One workflow execution per request, id ``<action>-<server uuid>-<action id>``
(e.g. ``stop-…-42``); the API has already checked the transitions table
(novaflow/states.py) and set the task_state (``powering-off``…).  The
workflow runs the action on the server's host and records the vm_state the
table says it ends in, with the power state libvirt reports.  A failure (or
a host that never picks the task up) leaves the vm_state as it was, clears
the task_state and fails the workflow with the reason.  A delete cancels it:
it then stops at once and leaves the rest to the delete (the host serialises
the delete's destroy behind a running action).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.host_reports import HostStateActivities
    from activities.hypervisor.power import POWER_ACTION_FAILED, HostPowerActivities
    from activities.types.context import OpContext
    from activities.types.hypervisor import PowerActionInput, PowerActionResult
    from activities.types.instances import FinishPowerActionInput
    from novaflow.states import transition

from workflows.common import OpTimeouts, control, failure_message, failure_type, on_host
from workflows.steps import StepTracking


@dataclass(frozen=True)
class PowerAction:
    """How one power action runs on its host; its states are in the
    transitions table (novaflow/states.py) under the same key."""

    host_activity: Any  # a method of HostPowerActivities
    event: str  # the instance-action event, as Nova names it


# Keyed by the transitions table's key (``reboot`` splits by its type).
POWER_ACTIONS: dict[str, PowerAction] = {
    "start": PowerAction(HostPowerActivities.power_on, "compute_start_instance"),
    "stop": PowerAction(HostPowerActivities.power_off, "compute_stop_instance"),
    "reboot:SOFT": PowerAction(HostPowerActivities.reboot, "compute_reboot_instance"),
    "reboot:HARD": PowerAction(HostPowerActivities.reboot, "compute_reboot_instance"),
    "pause": PowerAction(HostPowerActivities.pause, "compute_pause_instance"),
    "unpause": PowerAction(HostPowerActivities.unpause, "compute_unpause_instance"),
    "suspend": PowerAction(HostPowerActivities.suspend, "compute_suspend_instance"),
    "resume": PowerAction(HostPowerActivities.resume, "compute_resume_instance"),
    # A soft-deleted server restored (its soft delete only powered it off).
    "restore": PowerAction(HostPowerActivities.power_on, "compute_restore_instance"),
}


@dataclass
class PowerActionWorkflowInput:
    ctx: OpContext
    key: str  # a POWER_ACTIONS key, also the transitions table's
    host: str
    shutdown_timeout_s: float = 60.0
    timeouts: OpTimeouts = field(default_factory=OpTimeouts)


@workflow.defn(name="PowerActionWorkflow")
class PowerActionWorkflow(StepTracking):
    def __init__(self) -> None:
        super().__init__()


    @workflow.run
    async def run(self, inp: PowerActionWorkflowInput) -> int:
        """Returns the power state the server ends in."""
        action, states = POWER_ACTIONS[inp.key], transition(inp.key)
        ctx, host = inp.ctx, inp.host
        name = action.host_activity.__name__
        try:
            with self.steps.step(action.event, host=host, where=f"{name} on {host}") as step:
                done: PowerActionResult = await on_host(
                    action.host_activity,
                    PowerActionInput(server_id=ctx.server_id, hard=inp.key == "reboot:HARD",
                                     shutdown_timeout_s=inp.shutdown_timeout_s),
                    host, inp.timeouts, summary=f"{name} on {host}",
                    # A delete cancelling us must not wait for the host.
                    wait_cancel=False)
                step.details = f"power state {done.power_state}"
        except ActivityError as exc:
            why = failure_message(exc)
            self.steps.at(f"failed: {why}")
            await control(HostStateActivities.finish_power_action,
                          FinishPowerActionInput(ctx=ctx, task_state=states.task_state,
                                                 error=f"{states.operation} failed: {why}",
                                                 events=self.steps.take()),
                          summary="finish_power_action (failed)")
            raise ApplicationError(f"{states.operation} of {ctx.server_id} failed: {why}",
                                   type=failure_type(exc) or POWER_ACTION_FAILED,
                                   non_retryable=True) from exc
        vm_state = states.ends_in[0]
        self.steps.at("finish_power_action")
        await control(HostStateActivities.finish_power_action,
                      FinishPowerActionInput(ctx=ctx, task_state=states.task_state,
                                             vm_state=vm_state, power_state=done.power_state,
                                             events=self.steps.take()),
                      summary=f"finish_power_action: {vm_state}")
        self.steps.at("done")
        return done.power_state
