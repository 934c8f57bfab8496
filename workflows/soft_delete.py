"""SoftDeleteServerWorkflow: a delete while ``reclaim_instance_interval`` > 0.

Id ``soft-delete-<server uuid>-<action id>``.  The API has taken task_state
``soft-deleting``.  The guest is powered off on its host and the server
becomes SOFT_DELETED (its host, ports, volumes and allocation kept, so
``restore`` can bring it back).  Then a durable timer waits the reclaim
interval: a workflow timer survives worker restarts, where Nova polls in a
periodic task.  When it fires, ``begin_reclaim`` takes the server for its
delete only if it is still soft-deleted by this workflow (a restore, a
forceDelete or a newer soft delete meanwhile make the timer a no-op), and
the ordinary DeleteServerWorkflow runs as a child, id ``delete-<uuid>``,
abandoned on close so nothing cuts it short.

A power-off that fails leaves the server's vm_state as it was (the action
records why) and nothing is reclaimed.  A delete during the power-off
cancels this workflow (a busy server is deleted at once).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.day2 import Day2Activities
    from activities.host_reports import HostStateActivities
    from activities.hypervisor.power import POWER_ACTION_FAILED, HostPowerActivities
    from activities.types.context import OpContext
    from activities.types.day2 import BeginReclaimInput
    from activities.types.hypervisor import PowerActionInput, PowerActionResult
    from activities.types.instances import FinishPowerActionInput
    from novaflow.states import TaskState, VmState

from workflows.common import (
    OPERATION,
    PROJECT_ID,
    SERVER_ID,
    OpTimeouts,
    control,
    failure_message,
    failure_type,
    on_host,
)
from workflows.delete import DeleteServerInput, DeleteServerWorkflow
from workflows.steps import StepTracking


@dataclass
class SoftDeleteServerInput:
    ctx: OpContext
    host: str
    reclaim_after_s: float
    timeouts: OpTimeouts = field(default_factory=OpTimeouts)


@workflow.defn(name="SoftDeleteServerWorkflow")
class SoftDeleteServerWorkflow(StepTracking):
    @workflow.run
    async def run(self, inp: SoftDeleteServerInput) -> str:
        """'reclaimed', or 'kept' when the server was restored or deleted first."""
        ctx, host = inp.ctx, inp.host
        try:
            with self.steps.step("compute_soft_delete_instance", host=host,
                                 where=f"power_off on {host}") as step:
                done: PowerActionResult = await on_host(
                    HostPowerActivities.power_off,
                    PowerActionInput(server_id=ctx.server_id), host, inp.timeouts,
                    summary=step.summary, wait_cancel=False)
        except ActivityError as exc:
            why = failure_message(exc)
            await control(HostStateActivities.finish_power_action, FinishPowerActionInput(
                ctx=ctx, task_state=TaskState.SOFT_DELETING, error=f"soft_delete failed: {why}",
                events=self.steps.take()), summary="finish_power_action (failed)")
            raise ApplicationError(f"soft delete of {ctx.server_id} failed: {why}",
                                   type=failure_type(exc) or POWER_ACTION_FAILED,
                                   non_retryable=True) from exc
        kept = await control(HostStateActivities.finish_power_action, FinishPowerActionInput(
            ctx=ctx, task_state=TaskState.SOFT_DELETING, vm_state=VmState.SOFT_DELETED,
            power_state=done.power_state, events=self.steps.take()),
            summary="finish_power_action: soft-delete")
        if not kept:  # a delete took the server over meanwhile
            return "kept"
        self.steps.at(f"waiting {inp.reclaim_after_s:g} s to reclaim")
        await asyncio.sleep(inp.reclaim_after_s)  # a durable timer
        self.steps.at("begin_reclaim")
        delete_id = f"delete-{ctx.server_id}"
        reclaim_ctx = await control(Day2Activities.begin_reclaim, BeginReclaimInput(
            ctx=ctx, soft_delete_workflow_id=workflow.info().workflow_id,
            delete_workflow_id=delete_id), summary="begin_reclaim")
        if reclaim_ctx is None:
            self.steps.at("done: restored or deleted meanwhile")
            return "kept"
        self.steps.at("reclaim: delete")
        await workflow.execute_child_workflow(
            DeleteServerWorkflow.run, DeleteServerInput(ctx=reclaim_ctx, timeouts=inp.timeouts),
            id=delete_id, parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            search_attributes=TypedSearchAttributes([
                SearchAttributePair(SERVER_ID, ctx.server_id),
                SearchAttributePair(PROJECT_ID, ctx.project_id),
                SearchAttributePair(OPERATION, "delete")]),
            static_summary=f"reclaim soft-deleted server {ctx.server_id}")
        self.steps.at("done")
        return "reclaimed"
