"""RescueServerWorkflow and UnrescueServerWorkflow.

Ids ``rescue-<server uuid>-<action id>`` and ``unrescue-<server uuid>-<action id>``.
The API has checked the transitions table and taken task_state ``rescuing``
/ ``unrescuing``.  Rescue reads the server (``prepare_rebuild``: name,
host, flavor, ports), then ``rescue_domain`` on its host boots the rescue
image with the server's disks attached second (the original definition is
kept), and ``finish_rescue`` records RESCUED.  A failed rescue leaves the
server in ERROR with the fault, as Nova's compute does (a host that cannot
rescue at all leaves it as it was).  Unrescue restores
the original domain (``unrescue_domain``) and the server is ACTIVE; a failed
unrescue leaves it RESCUED.  A delete cancels either and destroys whichever
domain is there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.hypervisor.rescue import HostRescueActivities
    from activities.rebuild import RebuildActivities
    from activities.rescue import RescueActivities
    from activities.types.catalog import ImageInfo
    from activities.types.context import OpContext
    from activities.types.day2 import NOT_SUPPORTED, GuestActionInput, RebuildPlan
    from activities.types.hypervisor import PowerActionResult, SpawnInput
    from activities.types.rescue import RESCUE_FAILED, FinishRescueInput, RescueDomainInput
    from activities.volumes import VolumeActivities
    from novaflow.states import VmState

from workflows.common import OpTimeouts, control, failure_message, failure_type, on_host
from workflows.steps import StepTracking


@dataclass
class RescueInput:
    ctx: OpContext
    host: str
    rescue_image: ImageInfo | None = None  # None for an unrescue
    timeouts: OpTimeouts = field(default_factory=OpTimeouts)


@workflow.defn(name="RescueServerWorkflow")
class RescueServerWorkflow(StepTracking):
    @workflow.run
    async def run(self, inp: RescueInput) -> str:
        ctx, host = inp.ctx, inp.host
        try:
            self.steps.at("prepare_rescue")
            plan: RebuildPlan = await control(RebuildActivities.prepare_rebuild, ctx,
                                              summary="prepare_rescue")
            volumes = await control(VolumeActivities.get_volume_disks, ctx,
                                    summary="get_volume_disks")
            with self.steps.step("compute_rescue_instance", host=host,
                                 where=f"rescue_domain on {host}") as step:
                done: PowerActionResult = await on_host(
                    HostRescueActivities.rescue_domain, RescueDomainInput(
                        spawn=SpawnInput(server_id=ctx.server_id, name=plan.name,
                                         project_id=ctx.project_id, flavor=plan.flavor,
                                         image=plan.image, ports=plan.ports, volumes=volumes),
                        rescue_image=inp.rescue_image or plan.image),
                    host, inp.timeouts, summary=step.summary, wait_cancel=False)
                step.details = f"rescue image {(inp.rescue_image or plan.image).id}"
        except ActivityError as exc:
            why = f"Error trying to Rescue Instance {ctx.server_id}: {failure_message(exc)}"
            # A host that cannot rescue at all leaves the server as it was.
            broken = None if failure_type(exc) == NOT_SUPPORTED else VmState.ERROR
            await control(RescueActivities.finish_rescue, FinishRescueInput(
                ctx=ctx, vm_state=VmState.ERROR, error=why, error_state=broken,
                events=self.steps.take()), summary="finish_rescue (failed)")
            raise ApplicationError(why, type=failure_type(exc) or RESCUE_FAILED,
                                   non_retryable=True) from exc
        self.steps.at("finish_rescue")
        await control(RescueActivities.finish_rescue, FinishRescueInput(
            ctx=ctx, vm_state=VmState.RESCUED, power_state=done.power_state,
            events=self.steps.take()), summary="finish_rescue")
        self.steps.at("done")
        return VmState.RESCUED


@workflow.defn(name="UnrescueServerWorkflow")
class UnrescueServerWorkflow(StepTracking):
    @workflow.run
    async def run(self, inp: RescueInput) -> str:
        ctx, host = inp.ctx, inp.host
        try:
            with self.steps.step("compute_unrescue_instance", host=host,
                                 where=f"unrescue_domain on {host}") as step:
                done: PowerActionResult = await on_host(
                    HostRescueActivities.unrescue_domain,
                    GuestActionInput(server_id=ctx.server_id), host, inp.timeouts,
                    summary=step.summary, wait_cancel=False)
        except ActivityError as exc:
            why = f"Error trying to Unrescue Instance {ctx.server_id}: {failure_message(exc)}"
            await control(RescueActivities.finish_rescue, FinishRescueInput(
                ctx=ctx, vm_state=VmState.RESCUED, error=why, events=self.steps.take()),
                summary="finish_unrescue (failed)")
            raise ApplicationError(why, type=failure_type(exc) or RESCUE_FAILED,
                                   non_retryable=True) from exc
        self.steps.at("finish_unrescue")
        await control(RescueActivities.finish_rescue, FinishRescueInput(
            ctx=ctx, vm_state=VmState.ACTIVE, power_state=done.power_state,
            events=self.steps.take()), summary="finish_unrescue")
        self.steps.at("done")
        return VmState.ACTIVE
