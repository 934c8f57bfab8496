"""Shelve, offload and unshelve, as durable workflows.

ShelveServerWorkflow (id ``shelve-<uuid>-<action id>``): the API has taken
task_state ``shelving`` and, for an image-backed server, created the queued
snapshot image (``<name>-shelved``).  The guest is powered off on its host
(event ``compute_shelve_instance``), its disk copied into the image
(task_state ``shelving_image_uploading``) and the server becomes SHELVED,
keeping its host and allocation.  Then, as Nova's ``shelved_offload_time``
says: 0 offloads at once (same action), -1 never, otherwise a durable timer
offloads it later if it is still shelved by this workflow (a workflow timer
survives restarts where Nova polls in a periodic task).

Offload (also ShelveOffloadWorkflow, the admin's ``shelveOffload``): the
domain is destroyed (a host that is down gets a pending host clean-up, as
delete does), its ports unbound from the host (``binding:host_id``
cleared, as Nova does; they stay the server's), the allocation released,
and the server SHELVED_OFFLOADED on no host.

UnshelveServerWorkflow (id ``unshelve-<uuid>-<action id>``): a SHELVED server
is powered on where it is; a SHELVED_OFFLOADED one is scheduled anew through
``workflows.scheduling.place`` (2.77 availability_zone, 2.91 host), its
ports bound to the claimed host, spawned from the snapshot there (a host
that fails it is excluded and the next tried), and the snapshot deleted.
NoValidHost leaves the server SHELVED_OFFLOADED with task_state cleared and
its ports unbound, as Nova's conductor does.

A failed shelve deletes the snapshot image and leaves the vm_state as it was
(the guest may stay powered off; power sync reports it).  A delete cancels
any of these at once; the delete removes the shelved image too.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.host_reports import HostStateActivities
    from activities.hypervisor.activities import HostActivities
    from activities.hypervisor.power import HostPowerActivities
    from activities.instances import InstanceActivities
    from activities.scheduler.activities import SchedulerActivities
    from activities.shelve import ShelveActivities
    from activities.snapshot import SnapshotActivities
    from activities.types.context import OpContext
    from activities.types.hypervisor import (
        DestroyInput,
        PowerActionInput,
        PowerActionResult,
        SpawnInput,
        SpawnResult,
    )
    from activities.types.instances import QueueHostCleanupInput, SetTaskStateInput
    from activities.types.scheduling import ClaimInput, ClaimResult, ReleaseClaimInput
    from activities.types.shelve import (
        BeginOffloadInput,
        FailUnshelveInput,
        FinishOffloadInput,
        FinishShelveInput,
        FinishUnshelveInput,
        UnshelvePlan,
    )
    from activities.types.snapshot import FailSnapshotInput
    from activities.volumes import VolumeActivities
    from novaflow import errors
    from novaflow.states import TaskState, VmState

from workflows.common import OpTimeouts, control, failure_message, failure_type, on_host
from workflows.move_steps import HostStepFailed, best_effort, bind_ports, checkpoint
from workflows.scheduling import HostRejected, Placement, place
from workflows.snapshot import snapshot_on_host
from workflows.steps import STEP_ERRORS, Steps, StepTracking

SHELVE_FAILED = "ShelveFailed"
UNSHELVE_FAILED = "UnshelveFailed"


@dataclass
class ShelveServerInput:
    ctx: OpContext
    host: str
    image_id: str | None  # None: a volume-backed server (nothing to snapshot)
    offload_after_s: float = 0.0  # shelved_offload_time: 0 at once, < 0 never
    timeouts: OpTimeouts = field(default_factory=OpTimeouts)


@dataclass
class ShelveOffloadInput:
    ctx: OpContext
    host: str
    timeouts: OpTimeouts = field(default_factory=OpTimeouts)


@dataclass
class UnshelveServerInput:
    ctx: OpContext
    availability_zone: str | None = None  # 2.77
    host: str | None = None  # 2.91
    max_attempts: int = 3
    timeouts: OpTimeouts = field(default_factory=OpTimeouts)


async def offload(steps: Steps, ctx: OpContext, host: str, timeouts: OpTimeouts) -> None:
    """Free the host: destroy the domain (or queue its clean-up if the host
    is away), release the allocation, SHELVED_OFFLOADED."""
    destroyed, _ = await best_effort(steps, HostActivities.destroy_domain,
                                     DestroyInput(server_id=ctx.server_id), host, timeouts)
    if not destroyed:
        await control(HostStateActivities.queue_host_cleanup, QueueHostCleanupInput(
            ctx=ctx, host=host, reason=f"destroy the offloaded domain when {host} returns"),
            summary=f"queue_host_cleanup on {host}")
    await bind_ports(steps, ctx, None, best=True)
    with steps.step("compute_shelve_offload_instance", host=host,
                    where="release allocation") as step:
        freed = await control(SchedulerActivities.release_claim,
                              ReleaseClaimInput(ctx=ctx, consumer_id=ctx.server_id),
                              summary="release allocation")
        step.details = f"{freed} allocation(s) released"
    steps.at("finish_offload")
    await control(ShelveActivities.finish_offload,
                  FinishOffloadInput(ctx=ctx, events=steps.take()), summary="finish_offload")


@workflow.defn(name="ShelveServerWorkflow")
class ShelveServerWorkflow(StepTracking):
    @workflow.run
    async def run(self, inp: ShelveServerInput) -> str:
        """'shelved', 'offloaded', or 'deleted' (a delete came first)."""
        ctx, host = inp.ctx, inp.host
        uploaded = False
        try:
            with self.steps.step("compute_shelve_instance", host=host,
                                 where=f"power_off on {host}") as step:
                done: PowerActionResult = await on_host(
                    HostPowerActivities.power_off, PowerActionInput(server_id=ctx.server_id),
                    host, inp.timeouts, summary=step.summary)
            checkpoint()
            if inp.image_id:
                await control(InstanceActivities.set_task_state, SetTaskStateInput(
                    ctx=ctx, task_state=TaskState.SHELVING_IMAGE_UPLOADING,
                    expected=[TaskState.SHELVING]), summary="set_task_state image uploading")
                snap = await snapshot_on_host(self.steps, ctx, host, inp.image_id,
                                              inp.timeouts, "compute_shelve_snapshot")
                checkpoint()
                uploaded = snap.uploaded
        except (HostStepFailed, *STEP_ERRORS) as exc:
            why = exc.why if isinstance(exc, HostStepFailed) else failure_message(exc)
            await self._fail(inp, f"shelve failed: {why}")
            raise ApplicationError(f"shelve of {ctx.server_id} failed: {why}",
                                   type=SHELVE_FAILED, non_retryable=True) from exc
        except asyncio.CancelledError:
            await self._fail(inp, "the server was deleted during the shelve")
            raise
        offload_now = inp.offload_after_s == 0
        self.steps.at("finish_shelve")
        kept = await control(ShelveActivities.finish_shelve, FinishShelveInput(
            ctx=ctx, image_id=inp.image_id, uploaded=uploaded, power_state=done.power_state,
            offload=offload_now, events=self.steps.take()), summary="finish_shelve")
        if not kept:
            return "deleted"
        if offload_now:
            await offload(self.steps, ctx, host, inp.timeouts)
            self.steps.at("done: offloaded")
            return "offloaded"
        if inp.offload_after_s < 0:
            self.steps.at("done: shelved")
            return "shelved"
        self.steps.at(f"waiting {inp.offload_after_s:g} s to offload")
        await asyncio.sleep(inp.offload_after_s)  # a durable timer
        off_ctx = await control(ShelveActivities.begin_offload, BeginOffloadInput(
            ctx=ctx, shelve_workflow_id=workflow.info().workflow_id), summary="begin_offload")
        if off_ctx is None:
            self.steps.at("done: unshelved, offloaded or deleted meanwhile")
            return "shelved"
        await offload(self.steps, off_ctx, host, inp.timeouts)
        self.steps.at("done: offloaded")
        return "offloaded"

    async def _fail(self, inp: ShelveServerInput, why: str) -> None:
        self.steps.at(f"failed: {why}")
        # The image goes (if any), the action records why, task_state clears.
        await control(SnapshotActivities.fail_snapshot, FailSnapshotInput(
            ctx=inp.ctx, image_id=inp.image_id or "", message=why, events=self.steps.take()),
            summary="fail_shelve")


@workflow.defn(name="ShelveOffloadWorkflow")
class ShelveOffloadWorkflow(StepTracking):
    @workflow.run
    async def run(self, inp: ShelveOffloadInput) -> str:
        await offload(self.steps, inp.ctx, inp.host, inp.timeouts)
        self.steps.at("done")
        return "offloaded"


class _UnshelveFailed(Exception):
    def __init__(self, error_type: str, message: str, details: list | None = None):
        super().__init__(message)
        self.error_type, self.message = error_type, message


@workflow.defn(name="UnshelveServerWorkflow")
class UnshelveServerWorkflow(StepTracking):
    def __init__(self) -> None:
        super().__init__()
        self._bound = False  # the ports were bound to a host tried

    @workflow.run
    async def run(self, inp: UnshelveServerInput) -> str:
        """Returns the host the server runs on."""
        ctx = inp.ctx
        try:
            return await self._unshelve(inp)
        except _UnshelveFailed as exc:
            self.steps.at(f"failed: {exc.error_type}")
            if self._bound:  # still offloaded: on no host
                await bind_ports(self.steps, ctx, None, best=True)
            await control(ShelveActivities.fail_unshelve, FailUnshelveInput(
                ctx=ctx, message=exc.message, events=self.steps.take()),
                summary=f"fail_unshelve {exc.error_type}")
            raise ApplicationError(exc.message, type=exc.error_type,
                                   non_retryable=True) from exc

    async def _unshelve(self, inp: UnshelveServerInput) -> str:
        ctx = inp.ctx
        self.steps.at("get_unshelve_plan")
        try:
            plan: UnshelvePlan = await control(ShelveActivities.get_unshelve_plan, ctx,
                                               summary="get_unshelve_plan")
            volumes = await control(VolumeActivities.get_volume_disks, ctx,
                                    summary="get_volume_disks")
        except ActivityError as exc:
            raise _UnshelveFailed(failure_type(exc) or UNSHELVE_FAILED,
                                  failure_message(exc)) from exc
        if plan.vm_state == VmState.SHELVED and plan.host:
            return await self._power_on(inp, plan)
        flavor = plan.flavor
        if any(v.boot_index == 0 for v in volumes):
            flavor = replace(flavor, root_gb=0)  # the root disk is the volume
        placement = Placement(
            ctx=ctx, flavor=flavor, image=plan.image, claim_step="claim_resources",
            claim=lambda hosts, summary: control(
                SchedulerActivities.claim_resources,
                ClaimInput(ctx=ctx, consumer_id=ctx.server_id, flavor=flavor,
                           candidates=hosts, group_uuid=plan.server_group_uuid),
                summary=summary),
            fail=_UnshelveFailed,
            exhausted="Exceeded maximum number of retries. Exhausted all hosts available "
                      f"for unshelving instance {ctx.server_id}.",
            max_attempts=inp.max_attempts,
            availability_zone=inp.availability_zone or plan.availability_zone,
            scheduler_hints={"group": plan.server_group_uuid} if plan.server_group_uuid
            else {}, requested_host=inp.host)

        async def try_host(claim: ClaimResult, attempt: int) -> str:
            try:
                self._bound = True
                await bind_ports(self.steps, ctx, claim.host)
                with self.steps.step("compute_unshelve_instance", host=claim.host,
                                     where=f"spawn on {claim.host} (attempt {attempt})") as step:
                    spawned: SpawnResult = await on_host(
                        HostActivities.spawn,
                        SpawnInput(server_id=ctx.server_id, name=plan.name,
                                   project_id=ctx.project_id, flavor=flavor, image=plan.image,
                                   ports=plan.ports, volumes=volumes),
                        claim.host, inp.timeouts, summary=step.summary, wait_cancel=False)
                    step.details = f"image {plan.image.id}"
            except ActivityError as exc:
                raise HostRejected(failure_message(exc), failure_type(exc)) from exc
            self.steps.at("finish_unshelve")
            await control(ShelveActivities.finish_unshelve, FinishUnshelveInput(
                ctx=ctx, host=claim.host, node_uuid=claim.node_uuid,
                power_state=spawned.power_state, events=self.steps.take()),
                summary=f"finish_unshelve on {claim.host}")
            self.steps.at("done")
            return claim.host

        async def release(claim: ClaimResult, why: HostRejected) -> None:
            if why.error_type != errors.HOST_UNAVAILABLE:
                await best_effort(self.steps, HostActivities.destroy_domain,
                                  DestroyInput(server_id=ctx.server_id), claim.host,
                                  inp.timeouts, quiet=True)
            else:
                await control(HostStateActivities.queue_host_cleanup, QueueHostCleanupInput(
                    ctx=ctx, host=claim.host, reason=f"the unshelve gave up: {why.why}"),
                    summary=f"queue_host_cleanup on {claim.host}")
            await control(SchedulerActivities.release_claim,
                          ReleaseClaimInput(ctx=ctx, consumer_id=ctx.server_id,
                                            host=claim.host, build_failed=True),
                          summary=f"release_claim on {claim.host}")

        return await place(self.steps, placement, try_host, release)

    async def _power_on(self, inp: UnshelveServerInput, plan: UnshelvePlan) -> str:
        ctx, host = inp.ctx, plan.host or ""
        try:
            with self.steps.step("compute_unshelve_instance", host=host,
                                 where=f"power_on on {host}") as step:
                done: PowerActionResult = await on_host(
                    HostPowerActivities.power_on, PowerActionInput(server_id=ctx.server_id),
                    host, inp.timeouts, summary=step.summary)
        except ActivityError as exc:
            raise _UnshelveFailed(failure_type(exc) or UNSHELVE_FAILED,
                                  f"unshelve of {ctx.server_id} failed on {host}: "
                                  f"{failure_message(exc)}") from exc
        self.steps.at("finish_unshelve")
        await control(ShelveActivities.finish_unshelve, FinishUnshelveInput(
            ctx=ctx, host=host, node_uuid=None, power_state=done.power_state,
            events=self.steps.take()), summary=f"finish_unshelve on {host}")
        self.steps.at("done")
        return host
