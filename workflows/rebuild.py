"""RebuildServerWorkflow: the server again from a new image, on the same
host, keeping its ports, volumes, flavor and allocation.

Id ``rebuild-<server uuid>-<action id>``.  The API has checked the
transitions table, taken task_state ``rebuilding`` and written the new image
(name, key, user data...) on the instance, as Nova's API does.  Steps:

1. ``prepare_rebuild`` reads the server; if the image changed, the new
   image's properties are checked against the server's own host
   (``check_rebuild_image``: Nova re-runs ImagePropertiesFilter there).  A
   refusal rolls the image back and leaves the server in ERROR with a
   NoValidHost fault, as Nova's conductor does;
2. ``rebuild_domain`` on the host (task_state ``rebuild_spawning``):
   destroy, spawn from the new image with the same ports and volumes, and
   stop it again if the server was stopped;
3. ``finish_rebuild``: ACTIVE (or SHUTOFF), task_state cleared.

A failed host step leaves the server in ERROR with the fault and no domain
(spawn's contract); its ports, volumes and allocation stay with it, for a
new rebuild or the delete.  A delete cancels the rebuild at once: the
delete destroys the domain on the host and frees everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.hypervisor.day2 import HostDay2Activities
    from activities.instances import InstanceActivities
    from activities.rebuild import RebuildActivities

    # Imported here so that the sandbox knows the module when it decodes the
    # plan's ImageInfo (type hints resolve through the sandbox's sys.modules).
    from activities.types.catalog import ImageInfo  # noqa: F401
    from activities.types.context import OpContext
    from activities.types.day2 import (
        CheckRebuildImageInput,
        FailRebuildInput,
        FinishRebuildInput,
        RebuildDomainInput,
        RebuildPlan,
    )
    from activities.types.hypervisor import SpawnInput, SpawnResult
    from activities.types.instances import SetTaskStateInput
    from activities.volumes import VolumeActivities
    from novaflow import errors
    from novaflow.states import TaskState, VmState

from workflows.common import OpTimeouts, control, failure_message, failure_type, on_host
from workflows.steps import StepTracking


@dataclass
class RebuildServerInput:
    ctx: OpContext
    image_changed: bool
    # The image the server had, for the roll-back of a refused new one.
    previous_image_ref: str = ""
    previous_image: dict = field(default_factory=dict)
    preserve_ephemeral: bool = False
    timeouts: OpTimeouts = field(default_factory=OpTimeouts)


class RebuildFailed(Exception):
    def __init__(self, error_type: str, message: str, rollback: bool = False):
        super().__init__(message)
        self.error_type, self.message, self.rollback = error_type, message, rollback


@workflow.defn(name="RebuildServerWorkflow")
class RebuildServerWorkflow(StepTracking):
    @workflow.run
    async def run(self, inp: RebuildServerInput) -> str:
        """Returns the vm_state the server ends in."""
        ctx = inp.ctx
        try:
            return await self._rebuild(inp)
        except RebuildFailed as exc:
            self.steps.at(f"failed: {exc.error_type}")
            await control(RebuildActivities.fail_rebuild, FailRebuildInput(
                ctx=ctx, message=exc.message, error_type=exc.error_type,
                previous_image_ref=inp.previous_image_ref if exc.rollback else None,
                previous_image=inp.previous_image if exc.rollback else None,
                events=self.steps.take()), summary=f"fail_rebuild {exc.error_type}")
            raise ApplicationError(exc.message, type=exc.error_type,
                                   non_retryable=True) from exc

    async def _rebuild(self, inp: RebuildServerInput) -> str:
        ctx = inp.ctx
        try:
            self.steps.at("prepare_rebuild")
            plan: RebuildPlan = await control(RebuildActivities.prepare_rebuild, ctx,
                                              summary="prepare_rebuild")
            volumes = await control(VolumeActivities.get_volume_disks, ctx,
                                    summary="get_volume_disks")
        except ActivityError as exc:  # deleted meanwhile: the delete owns the server now
            raise ApplicationError(failure_message(exc), type=failure_type(exc),
                                   non_retryable=True) from exc
        host = plan.host
        if inp.image_changed:
            try:
                with self.steps.step("conductor_rebuild_server", host=host,
                                     where=f"check image {plan.image.id} on {host}"):
                    await control(RebuildActivities.check_rebuild_image,
                                  CheckRebuildImageInput(ctx=ctx, host=host, image=plan.image,
                                                         flavor=plan.flavor),
                                  summary=f"check_rebuild_image on {host}")
            except ActivityError as exc:
                raise RebuildFailed(failure_type(exc) or errors.NO_VALID_HOST,
                                    failure_message(exc), rollback=True) from exc
        await control(InstanceActivities.set_task_state, SetTaskStateInput(
            ctx=ctx, task_state=TaskState.REBUILD_SPAWNING, expected=[TaskState.REBUILDING]),
            summary="set_task_state rebuild_spawning")
        power_on = plan.vm_state != VmState.STOPPED
        try:
            with self.steps.step("compute_rebuild_instance", host=host,
                                 where=f"rebuild_domain on {host}") as step:
                done: SpawnResult = await on_host(
                    HostDay2Activities.rebuild_domain,
                    RebuildDomainInput(
                        spawn=SpawnInput(server_id=ctx.server_id, name=plan.name,
                                         project_id=ctx.project_id, flavor=plan.flavor,
                                         image=plan.image, ports=plan.ports, volumes=volumes),
                        preserve_ephemeral=inp.preserve_ephemeral, power_on=power_on),
                    host, inp.timeouts, summary=step.summary,
                    # A delete cancelling us must not wait: its destroy runs on the
                    # same host, serialised behind this step.
                    wait_cancel=False)
                step.details = f"image {plan.image.id}"
        except ActivityError as exc:
            raise RebuildFailed(failure_type(exc) or errors.SPAWN_FAILED,
                                f"Rebuild of instance {ctx.server_id} failed on {host}: "
                                f"{failure_message(exc)}") from exc
        vm_state = VmState.ACTIVE if power_on else VmState.STOPPED
        self.steps.at("finish_rebuild")
        await control(RebuildActivities.finish_rebuild, FinishRebuildInput(
            ctx=ctx, vm_state=vm_state, power_state=done.power_state, events=self.steps.take()),
            summary=f"finish_rebuild: {vm_state}")
        self.steps.at("done")
        return vm_state
