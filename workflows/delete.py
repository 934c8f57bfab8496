"""DeleteServerWorkflow: delete a server from any state.

Workflow id ``delete-<server uuid>``.  Steps, each idempotent so a repeated
delete is harmless:

1. Find what the server holds (hosts that may have its domain: its host,
   the hosts of unfinished migrations and of its allocations; allocation
   consumers: the server and its migrations).
2. Cancel every operation still running on it (the build, a resize…) and
   wait until each has stopped, so their own clean-ups never race ours; then
   look again, since they may have moved things meanwhile.
3. Destroy the domain on every such host, in parallel.  A host that is down
   (its service missed its heartbeats, or its worker does not pick the task
   up in time) is not waited for: a PendingHostCleanup row records the
   domain, and the host monitor destroys it when the host reports again.
4. Release every allocation, free the ports and volumes, mark the server
   deleted.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.host_reports import HostStateActivities
    from activities.hypervisor.activities import HostActivities
    from activities.instances import InstanceActivities
    from activities.network import NetworkActivities
    from activities.scheduler.activities import SchedulerActivities
    from activities.temporal_ops import TemporalActivities
    from activities.types.context import OpContext
    from activities.types.hypervisor import DestroyInput
    from activities.types.instances import (
        DeleteTargets,
        MarkDeletedInput,
        QueueHostCleanupInput,
        WaitClosedInput,
    )
    from activities.types.scheduling import ReleaseClaimInput
    from activities.volumes import VolumeActivities

from workflows.common import (
    CONTROL_RETRY,
    HOST_CLEANUP_RETRY,
    OpTimeouts,
    control,
    failure_message,
    on_host,
)
from workflows.steps import StepTracking


@dataclass
class DeleteServerInput:
    ctx: OpContext
    running_workflow_ids: list[str] = field(default_factory=list)
    timeouts: OpTimeouts = field(default_factory=OpTimeouts)


@workflow.defn(name="DeleteServerWorkflow")
class DeleteServerWorkflow(StepTracking):
    def __init__(self) -> None:
        super().__init__()


    @workflow.run
    async def run(self, inp: DeleteServerInput) -> str:
        ctx = inp.ctx
        self.steps.at("get_delete_targets")
        before: DeleteTargets = await control(HostStateActivities.get_delete_targets, ctx,
                                              summary="get_delete_targets")
        own = workflow.info().workflow_id
        running = [w for w in dict.fromkeys(inp.running_workflow_ids + before.workflow_ids)
                   if w != own]
        for wf_id in running:
            await self._stop_operation(wf_id)
        after = before
        if running:
            self.steps.at("get_delete_targets (after cancelling)")
            after = await control(HostStateActivities.get_delete_targets, ctx,
                                  summary="get_delete_targets after cancelling")

        hosts = list(dict.fromkeys(before.hosts + after.hosts))
        down = set(after.down_hosts)
        self.steps.at("destroy_domain on " + (", ".join(hosts) or "no host"))
        await asyncio.gather(*(self._destroy_on(ctx, host, host in down, inp.timeouts)
                               for host in hosts))

        freed = 0
        with self.steps.step("release_resources") as step:
            for consumer in dict.fromkeys(before.consumer_ids + after.consumer_ids):
                freed += await control(SchedulerActivities.release_claim,
                                       ReleaseClaimInput(ctx=ctx, consumer_id=consumer),
                                       summary=f"release allocations of {consumer}")
            ports = await control(NetworkActivities.deallocate_network, ctx,
                                  summary="deallocate_network")
            if workflow.patched("release-volumes"):  # histories from before volumes replay
                await control(VolumeActivities.release_volumes, ctx, summary="release_volumes")
            step.details = f"{freed} allocation(s), {ports} port(s)"
        self.steps.at("mark_deleted")
        await control(InstanceActivities.mark_deleted,
                      MarkDeletedInput(ctx=ctx, events=self.steps.take()),
                      summary="mark_deleted")
        self.steps.at("done")
        return "deleted"

    async def _stop_operation(self, wf_id: str) -> None:
        """Cancel an operation in flight and wait until it has cleaned up and stopped."""
        with self.steps.step("cancel_running_operation", where=f"cancelling {wf_id}") as step:
            try:
                await workflow.get_external_workflow_handle(wf_id).cancel()
            except Exception:
                pass
            status = await workflow.execute_activity_method(
                TemporalActivities.wait_workflow_closed, WaitClosedInput(workflow_id=wf_id),
                # The control worker's own queue: the one this workflow runs on.
                task_queue=workflow.info().task_queue,
                start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=timedelta(seconds=10), retry_policy=CONTROL_RETRY,
                summary=f"wait for {wf_id} to stop")
            step.details = f"{wf_id}: {status}"

    async def _destroy_on(self, ctx: OpContext, host: str, known_down: bool,
                          timeouts: OpTimeouts) -> None:
        why = "host is down"
        if not known_down:
            try:
                with self.steps.step("destroy_domain", host=host) as step:
                    existed = await on_host(HostActivities.destroy_domain,
                                            DestroyInput(server_id=ctx.server_id), host,
                                            timeouts, retry=HOST_CLEANUP_RETRY,
                                            summary=f"destroy_domain on {host}")
                    step.details = "destroyed" if existed else "no domain there"
                return
            except ActivityError as exc:
                why = failure_message(exc)
        # Do not hold the delete for a host that is away: it cleans up when it returns.
        await control(HostStateActivities.queue_host_cleanup,
                      QueueHostCleanupInput(ctx=ctx, host=host,
                                            reason=f"destroy when {host} returns: {why}"),
                      summary=f"queue_host_cleanup on {host}")
