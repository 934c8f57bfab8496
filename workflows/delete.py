"""DeleteServerWorkflow: stop any build in flight, destroy the domain, free
everything the server holds, mark it deleted.

Workflow id ``delete-<server uuid>``.  Every step is idempotent, so a repeated
delete is harmless.  A build still running is cancelled first (its own
clean-up runs) and waited for, so the two never race on the host.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.instances import InstanceActivities
    from activities.network import NetworkActivities
    from activities.scheduler.activities import SchedulerActivities
    from activities.temporal_ops import TemporalActivities
    from activities.types import (
        DestroyInput,
        MarkDeletedInput,
        OpContext,
        ReleaseClaimInput,
        WaitClosedInput,
    )
    from novaflow.queues import CONTROL_QUEUE

from workflows.common import (
    CONTROL_RETRY,
    HOST_CLEANUP_RETRY,
    OpTimeouts,
    StepLog,
    control,
    failure_message,
    on_host,
)


@dataclass
class DeleteServerInput:
    ctx: OpContext
    running_workflow_ids: list[str] = field(default_factory=list)
    timeouts: OpTimeouts = field(default_factory=OpTimeouts)


@workflow.defn(name="DeleteServerWorkflow")
class DeleteServerWorkflow:
    def __init__(self) -> None:
        self._step = "starting"
        self._log = StepLog()

    @workflow.query
    def current_step(self) -> str:
        return self._step

    @workflow.run
    async def run(self, inp: DeleteServerInput) -> str:
        ctx = inp.ctx
        for wf_id in inp.running_workflow_ids:
            t = workflow.now()
            self._step = f"cancelling {wf_id}"
            try:
                await workflow.get_external_workflow_handle(wf_id).cancel()
            except Exception:  # noqa: BLE001 - it may have finished meanwhile
                pass
            status = await workflow.execute_activity_method(
                TemporalActivities.wait_workflow_closed, WaitClosedInput(workflow_id=wf_id),
                task_queue=CONTROL_QUEUE, start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=timedelta(seconds=10), retry_policy=CONTROL_RETRY,
                summary=f"wait for {wf_id} to stop")
            self._log.add("cancel_running_operation", t, details=f"{wf_id}: {status}")

        self._step = "get_instance_location"
        loc = await control(InstanceActivities.get_instance_location, ctx,
                            summary="get_instance_location")
        if loc.host:
            t = workflow.now()
            self._step = f"destroy_domain on {loc.host}"
            try:
                existed = await on_host("destroy_domain", DestroyInput(server_id=ctx.server_id),
                                        loc.host, inp.timeouts, retry=HOST_CLEANUP_RETRY,
                                        summary=f"destroy_domain on {loc.host}")
                self._log.add("destroy_domain", t, host=loc.host,
                              details="destroyed" if existed else "already gone")
            except ActivityError as exc:
                self._log.add("destroy_domain", t, result="Error", host=loc.host,
                              details=failure_message(exc))
        t = workflow.now()
        self._step = "release_claim"
        freed = await control(SchedulerActivities.release_claim,
                              ReleaseClaimInput(ctx=ctx, consumer_id=ctx.server_id),
                              summary="release all claims")
        ports = await control(NetworkActivities.deallocate_network, ctx,
                              summary="deallocate_network")
        self._log.add("release_resources", t,
                      details=f"{freed} allocation(s), {ports} port(s)")
        self._step = "mark_deleted"
        await control(InstanceActivities.mark_deleted,
                      MarkDeletedInput(ctx=ctx, events=self._log.take()),
                      summary="mark_deleted")
        self._step = "done"
        return "deleted"
