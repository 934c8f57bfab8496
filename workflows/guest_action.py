"""GuestActionWorkflow: one action on a server's running guest that holds
no task_state and leaves the server's states as they were —
trigger_crash_dump (2.17) today.

Id ``<action>-<server uuid>-<action id>``.  The API has checked the
transitions table; the workflow runs the host step (recorded as an
instance-action event, Nova's ``compute_trigger_crash_dump``) and finishes
the action.  A failure finishes the action with the reason and fails the
workflow with the host step's failure type, which the API, waiting briefly
for the result as Nova's API waits on its RPC call, turns into Nova's 400 or
409.  Nothing is allocated, so nothing can leak; a delete meanwhile simply
finds no domain left to act on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.day2 import Day2Activities
    from activities.hypervisor.day2 import HostDay2Activities
    from activities.types.context import OpContext
    from activities.types.day2 import (
        GUEST_ACTION_FAILED,
        FinishGuestActionInput,
        GuestActionInput,
    )

from workflows.common import OpTimeouts, control, failure_message, failure_type, on_host
from workflows.steps import StepTracking


@dataclass(frozen=True)
class GuestAction:
    """How one guest action runs on its host."""

    host_activity: Any  # a method of HostDay2Activities
    event: str  # the instance-action event, as Nova names it


GUEST_ACTIONS: dict[str, GuestAction] = {
    "trigger_crash_dump": GuestAction(HostDay2Activities.trigger_crash_dump,
                                      "compute_trigger_crash_dump"),
}


@dataclass
class GuestActionWorkflowInput:
    ctx: OpContext
    key: str  # a GUEST_ACTIONS key, also the transitions table's
    host: str
    timeouts: OpTimeouts = field(default_factory=OpTimeouts)


@workflow.defn(name="GuestActionWorkflow")
class GuestActionWorkflow(StepTracking):
    @workflow.run
    async def run(self, inp: GuestActionWorkflowInput) -> None:
        action, ctx, host = GUEST_ACTIONS[inp.key], inp.ctx, inp.host
        try:
            with self.steps.step(action.event, host=host, where=f"{inp.key} on {host}") as step:
                await on_host(action.host_activity, GuestActionInput(server_id=ctx.server_id),
                              host, inp.timeouts, summary=step.summary)
        except ActivityError as exc:
            why = failure_message(exc)
            self.steps.at(f"failed: {why}")
            await control(Day2Activities.finish_guest_action,
                          FinishGuestActionInput(ctx=ctx, error=f"{inp.key} failed: {why}",
                                                 events=self.steps.take()),
                          summary="finish_guest_action (failed)")
            raise ApplicationError(f"{inp.key} of {ctx.server_id} failed: {why}",
                                   type=failure_type(exc) or GUEST_ACTION_FAILED,
                                   non_retryable=True) from exc
        self.steps.at("finish_guest_action")
        await control(Day2Activities.finish_guest_action,
                      FinishGuestActionInput(ctx=ctx, events=self.steps.take()),
                      summary="finish_guest_action")
        self.steps.at("done")
