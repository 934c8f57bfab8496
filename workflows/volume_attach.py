"""AttachVolumeWorkflow and DetachVolumeWorkflow: a volume hot-plugged into
a server's domain, or unplugged, through Cinder's attachments API.

Ids ``attach_volume-<server uuid>-<action id>`` and
``detach_volume-<server uuid>-<action id>``.  The API has checked the
transitions table (Nova's states; like Nova these take no task_state) and,
for an attach, written the mapping row with the device name it answered.

Attach, as Nova's compute manager does it:

1. ``reserve_volume``: Cinder attachment create (the volume is reserved);
2. ``volume_connector`` on the host, then ``connect_volume``: the
   attachment is updated with the host's connector (Cinder answers the
   connection info);
3. ``attach_volume_device`` on the host (libvirt hot-plug);
4. ``finish_volume_attach``: the attachment is completed (volume in-use).

A failure at any step deletes the attachment and the mapping row: the
volume is available again and the server unchanged (Nova's documented
state after a failed attach); the instance action says why.  A delete
cancels the workflow: the delete's own release of the server's volumes
frees the reservation (or deletes the volume, delete_on_termination).

Swap (admin): ``reserve_swap`` (the new volume reserved), the host's
connector, ``connect_volume`` for the new attachment, ``swap_volume_device``
on the host (the new volume at the old one's device, the data copied where
the back end has it), ``finish_swap`` (new attachment completed, old one
deleted, the mapping row names the new volume).  A failure deletes the new
attachment; the old volume stays attached.

Detach: ``prepare_volume_detach``, ``detach_volume_device`` on the host,
``finish_volume_detach`` (attachment deleted, row removed).  A failed
unplug leaves the volume attached.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.hypervisor.volume_hotplug import HostVolumeActivities
    from activities.types.catalog import VolumeDisk  # noqa: F401 - decodes the plan
    from activities.types.context import OpContext
    from activities.types.volume_attach import (
        VOLUME_ATTACH_FAILED,
        VOLUME_DETACH_FAILED,
        FinishVolumeInput,
        HostVolumeInput,
        SwapPlan,
        SwapStepInput,
        SwapVolumeDeviceInput,
        VolumeAttachPlan,
        VolumeStepInput,
    )
    from activities.volume_attach import VolumeAttachActivities

from workflows.common import OpTimeouts, control, failure_message, failure_type, on_host
from workflows.steps import StepTracking


@dataclass
class VolumeAttachInput:
    ctx: OpContext
    volume_id: str
    timeouts: OpTimeouts = field(default_factory=OpTimeouts)


@workflow.defn(name="AttachVolumeWorkflow")
class AttachVolumeWorkflow(StepTracking):
    @workflow.run
    async def run(self, inp: VolumeAttachInput) -> str:
        """Returns the device the volume is attached at."""
        ctx, attachment_id = inp.ctx, None
        try:
            with self.steps.step("reserve_volume", where=f"reserve {inp.volume_id} in Cinder",
                                 quiet=True):
                plan: VolumeAttachPlan = await control(
                    VolumeAttachActivities.reserve_volume,
                    VolumeStepInput(ctx=ctx, volume_id=inp.volume_id),
                    summary=f"reserve_volume {inp.volume_id}")
            attachment_id, host = plan.attachment_id, plan.host
            with self.steps.step("compute_attach_volume", host=host,
                                 where=f"attach {inp.volume_id} on {host}") as step:
                connector = await on_host(HostVolumeActivities.volume_connector,
                                          ctx.server_id, host, inp.timeouts,
                                          summary=f"volume_connector on {host}")
                path = await control(VolumeAttachActivities.connect_volume, VolumeStepInput(
                    ctx=ctx, volume_id=inp.volume_id, attachment_id=attachment_id,
                    connector={**connector, "mountpoint": f"/dev/{plan.disk.device}"}),
                    summary="connect_volume")
                plan.disk.path = path
                await on_host(HostVolumeActivities.attach_volume_device,
                              HostVolumeInput(server_id=ctx.server_id, disk=plan.disk,
                                              disk_bus=plan.disk_bus),
                              host, inp.timeouts, summary=step.summary)
                step.details = f"{inp.volume_id} at /dev/{plan.disk.device}"
        except ActivityError as exc:
            why = (f"Failed to attach volume {inp.volume_id} to server {ctx.server_id}: "
                   f"{failure_message(exc)}")
            self.steps.at("finish_volume_attach (failed)")
            await control(VolumeAttachActivities.finish_volume_attach, FinishVolumeInput(
                ctx=ctx, volume_id=inp.volume_id, attachment_id=attachment_id, error=why,
                events=self.steps.take()), summary="finish_volume_attach (failed)")
            raise ApplicationError(why, type=failure_type(exc) or VOLUME_ATTACH_FAILED,
                                   non_retryable=True) from exc
        self.steps.at("finish_volume_attach")
        await control(VolumeAttachActivities.finish_volume_attach, FinishVolumeInput(
            ctx=ctx, volume_id=inp.volume_id, attachment_id=attachment_id,
            events=self.steps.take()), summary="finish_volume_attach")
        self.steps.at("done")
        return f"/dev/{plan.disk.device}"


@workflow.defn(name="DetachVolumeWorkflow")
class DetachVolumeWorkflow(StepTracking):
    @workflow.run
    async def run(self, inp: VolumeAttachInput) -> None:
        ctx = inp.ctx
        try:
            self.steps.at("prepare_volume_detach")
            plan: VolumeAttachPlan = await control(
                VolumeAttachActivities.prepare_volume_detach,
                VolumeStepInput(ctx=ctx, volume_id=inp.volume_id),
                summary=f"prepare_volume_detach {inp.volume_id}")
        except ActivityError as exc:  # deleted meanwhile: the delete releases the volume
            raise ApplicationError(failure_message(exc), type=failure_type(exc),
                                   non_retryable=True) from exc
        host = plan.host
        try:
            with self.steps.step("compute_detach_volume", host=host,
                                 where=f"detach {inp.volume_id} on {host}") as step:
                await on_host(HostVolumeActivities.detach_volume_device,
                              HostVolumeInput(server_id=ctx.server_id, disk=plan.disk,
                                              disk_bus=plan.disk_bus),
                              host, inp.timeouts, summary=step.summary)
                step.details = f"{inp.volume_id} from /dev/{plan.disk.device}"
        except ActivityError as exc:
            why = (f"Failed to detach volume {inp.volume_id} from server {ctx.server_id}: "
                   f"{failure_message(exc)}")
            await control(VolumeAttachActivities.finish_volume_detach, FinishVolumeInput(
                ctx=ctx, volume_id=inp.volume_id, attachment_id=plan.attachment_id,
                error=why, events=self.steps.take()), summary="finish_volume_detach (failed)")
            raise ApplicationError(why, type=failure_type(exc) or VOLUME_DETACH_FAILED,
                                   non_retryable=True) from exc
        self.steps.at("finish_volume_detach")
        await control(VolumeAttachActivities.finish_volume_detach, FinishVolumeInput(
            ctx=ctx, volume_id=inp.volume_id, attachment_id=plan.attachment_id,
            events=self.steps.take()), summary="finish_volume_detach")
        self.steps.at("done")


@dataclass
class SwapVolumeInput:
    ctx: OpContext
    old_volume_id: str
    new_volume_id: str
    timeouts: OpTimeouts = field(default_factory=OpTimeouts)


@workflow.defn(name="SwapVolumeWorkflow")
class SwapVolumeWorkflow(StepTracking):
    @workflow.run
    async def run(self, inp: SwapVolumeInput) -> None:
        ctx, plan = inp.ctx, None
        step_inp = SwapStepInput(ctx=ctx, old_volume_id=inp.old_volume_id,
                                 new_volume_id=inp.new_volume_id)
        try:
            with self.steps.step("reserve_swap", quiet=True,
                                 where=f"reserve {inp.new_volume_id} in Cinder"):
                plan = await control(VolumeAttachActivities.reserve_swap, step_inp,
                                     summary=f"reserve_swap {inp.new_volume_id}")
            host = plan.host
            with self.steps.step("compute_swap_volume", host=host,
                                 where=f"swap to {inp.new_volume_id} on {host}") as step:
                connector = await on_host(HostVolumeActivities.volume_connector,
                                          ctx.server_id, host, inp.timeouts,
                                          summary=f"volume_connector on {host}")
                plan.new.path = await control(VolumeAttachActivities.connect_volume,
                                              VolumeStepInput(
                    ctx=ctx, volume_id=inp.new_volume_id,
                    attachment_id=plan.new_attachment_id,
                    connector={**connector, "mountpoint": f"/dev/{plan.new.device}"}),
                    summary="connect_volume")
                await on_host(HostVolumeActivities.swap_volume_device, SwapVolumeDeviceInput(
                    server_id=ctx.server_id, old=plan.old, new=plan.new,
                    disk_bus=plan.disk_bus), host, inp.timeouts, summary=step.summary)
                step.details = f"{inp.old_volume_id} -> {inp.new_volume_id}"
        except ActivityError as exc:
            why = (f"Failed to swap volume {inp.old_volume_id} for {inp.new_volume_id} on "
                   f"server {ctx.server_id}: {failure_message(exc)}")
            await control(VolumeAttachActivities.finish_swap, SwapStepInput(
                ctx=ctx, old_volume_id=inp.old_volume_id, new_volume_id=inp.new_volume_id,
                plan=plan, error=why, events=self.steps.take()),
                summary="finish_swap (failed)")
            raise ApplicationError(why, type=failure_type(exc) or VOLUME_ATTACH_FAILED,
                                   non_retryable=True) from exc
        self.steps.at("finish_swap")
        done: SwapPlan = plan
        await control(VolumeAttachActivities.finish_swap, SwapStepInput(
            ctx=ctx, old_volume_id=inp.old_volume_id, new_volume_id=inp.new_volume_id,
            plan=done, events=self.steps.take()), summary="finish_swap")
        self.steps.at("done")

