"""PowerActionWorkflow: start, stop, reboot, pause/unpause, suspend/resume.

One workflow execution per request, id ``<action>-<server uuid>-<action id>``
(e.g. ``stop-…-42``); the API has already checked Nova's allowed vm_states and
set the task_state (``powering-off``…).  The workflow runs the action on the
server's host and records the new vm_state with the power state libvirt
reports.  A failure (or a host that never picks the task up) leaves the
vm_state as it was, clears the task_state and fails the workflow with the
reason.  A delete cancels it: it then stops at once and leaves the rest to the
delete (the host serialises the delete's destroy behind a running action).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.host_reports import HostStateActivities
    from activities.hypervisor.power import POWER_ACTION_FAILED
    from activities.types.context import OpContext
    from activities.types.hypervisor import PowerActionInput, PowerActionResult
    from activities.types.instances import FinishPowerActionInput
    from novaflow.states import TaskState, VmState

from workflows.common import (
    OpTimeouts,
    StepTracking,
    control,
    failure_message,
    failure_type,
    on_host,
)


@dataclass(frozen=True)
class PowerAction:
    """What one power action is: Nova's rules for it and how it runs."""

    name: str  # the instance action's name and the workflow id's prefix
    allowed_vm_states: tuple[str, ...]
    task_state: str
    host_activity: str
    result_vm_state: str
    event: str  # the instance-action event, as Nova names it


_ANY_HARD_REBOOTABLE = (VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED,
                        VmState.ERROR)

# Keyed by the API's action key (``reboot`` splits by its type).
POWER_ACTIONS: dict[str, PowerAction] = {
    "os-start": PowerAction("start", (VmState.STOPPED,), TaskState.POWERING_ON, "power_on",
                            VmState.ACTIVE, "compute_start_instance"),
    "os-stop": PowerAction("stop", (VmState.ACTIVE, VmState.ERROR), TaskState.POWERING_OFF,
                           "power_off", VmState.STOPPED, "compute_stop_instance"),
    "reboot:SOFT": PowerAction("reboot", (VmState.ACTIVE,), TaskState.REBOOTING, "reboot",
                               VmState.ACTIVE, "compute_reboot_instance"),
    "reboot:HARD": PowerAction("reboot", _ANY_HARD_REBOOTABLE, TaskState.REBOOTING_HARD,
                               "reboot", VmState.ACTIVE, "compute_reboot_instance"),
    "pause": PowerAction("pause", (VmState.ACTIVE,), TaskState.PAUSING, "pause",
                         VmState.PAUSED, "compute_pause_instance"),
    "unpause": PowerAction("unpause", (VmState.PAUSED,), TaskState.UNPAUSING, "unpause",
                           VmState.ACTIVE, "compute_unpause_instance"),
    "suspend": PowerAction("suspend", (VmState.ACTIVE,), TaskState.SUSPENDING, "suspend",
                           VmState.SUSPENDED, "compute_suspend_instance"),
    "resume": PowerAction("resume", (VmState.SUSPENDED,), TaskState.RESUMING, "resume",
                          VmState.ACTIVE, "compute_resume_instance"),
}


@dataclass
class PowerActionWorkflowInput:
    ctx: OpContext
    key: str  # a POWER_ACTIONS key
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
        action = POWER_ACTIONS[inp.key]
        ctx = inp.ctx
        t = workflow.now()
        self._step = f"{action.host_activity} on {inp.host}"
        try:
            done: PowerActionResult = await on_host(
                action.host_activity,
                PowerActionInput(server_id=ctx.server_id, hard=inp.key == "reboot:HARD",
                                 shutdown_timeout_s=inp.shutdown_timeout_s),
                inp.host, inp.timeouts, result_type=PowerActionResult,
                summary=f"{action.host_activity} on {inp.host}",
                # A delete cancelling us must not wait for the host.
                wait_cancel=False)
        except ActivityError as exc:
            why = failure_message(exc)
            self._log.add(action.event, t, result="Error", host=inp.host, details=why)
            self._step = f"failed: {why}"
            await control(HostStateActivities.finish_power_action,
                          FinishPowerActionInput(ctx=ctx, task_state=action.task_state,
                                                 error=f"{action.name} failed: {why}",
                                                 events=self._log.take()),
                          summary="finish_power_action (failed)")
            raise ApplicationError(f"{action.name} of {ctx.server_id} failed: {why}",
                                   type=failure_type(exc) or POWER_ACTION_FAILED,
                                   non_retryable=True) from exc
        self._log.add(action.event, t, host=inp.host, details=f"power state {done.power_state}")
        self._step = "finish_power_action"
        await control(HostStateActivities.finish_power_action,
                      FinishPowerActionInput(ctx=ctx, task_state=action.task_state,
                                             vm_state=action.result_vm_state,
                                             power_state=done.power_state,
                                             events=self._log.take()),
                      summary=f"finish_power_action: {action.result_vm_state}")
        self._step = "done"
        return done.power_state
