"""SnapshotServerWorkflow: createImage and createBackup.

Id ``snapshot-<server uuid>-<action id>``.  The API has checked the
transitions table, taken task_state ``image_snapshot`` (``image_backup``)
and created the queued image with the properties Nova gives a snapshot.
Steps:

1. task_state ``image_uploading``; ``snapshot_domain`` on the server's host
   copies the root disk into the image (event ``compute_snapshot_instance``
   or ``compute_backup_instance``);
2. ``finish_snapshot``: the image active, backups of the same server and
   ``backup_type`` beyond ``rotation`` deleted oldest first (Nova's
   ``_rotate_backups``), task_state cleared.

A failed host step deletes the image and leaves the server as it was
(Nova's snapshot failures change no vm_state); the action records why.  A
delete during the snapshot cancels this workflow: the image is deleted too.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.hypervisor.snapshot import HostSnapshotActivities
    from activities.instances import InstanceActivities
    from activities.snapshot import SnapshotActivities
    from activities.types.context import OpContext
    from activities.types.instances import SetTaskStateInput
    from activities.types.snapshot import (
        SNAPSHOT_FAILED,
        FailSnapshotInput,
        FinishSnapshotInput,
        SnapshotDomainInput,
        SnapshotDomainResult,
    )
    from novaflow.states import TaskState

from workflows.common import OpTimeouts, control, failure_message, failure_type, on_host
from workflows.move_steps import HostStepFailed, checkpoint, describe, step_error
from workflows.steps import STEP_ERRORS, Steps, StepTracking


@dataclass
class SnapshotServerInput:
    ctx: OpContext
    host: str
    image_id: str
    backup_type: str | None = None  # createBackup only
    rotation: int | None = None
    timeouts: OpTimeouts = field(default_factory=OpTimeouts)


async def snapshot_on_host(steps: Steps, ctx: OpContext, host: str, image_id: str,
                           timeouts: OpTimeouts, event: str) -> SnapshotDomainResult:
    """The host step every snapshot shares (a shelve's too); HostStepFailed if it fails."""
    name = "snapshot_domain"
    try:
        with steps.step(event, host=host, where=f"{name} on {host}",
                        describe=describe(name, host)) as step:
            out = await on_host(HostSnapshotActivities.snapshot_domain,
                                SnapshotDomainInput(server_id=ctx.server_id, image_id=image_id),
                                host, timeouts, summary=step.summary)
            step.details = f"image {image_id}"
            return out
    except STEP_ERRORS as exc:
        raise HostStepFailed(step_error(name, host, exc), failure_type(exc)) from exc


@workflow.defn(name="SnapshotServerWorkflow")
class SnapshotServerWorkflow(StepTracking):
    @workflow.run
    async def run(self, inp: SnapshotServerInput) -> str:
        """Returns the image id."""
        ctx = inp.ctx
        backup = inp.backup_type is not None
        event = "compute_backup_instance" if backup else "compute_snapshot_instance"
        try:
            self.steps.at("set_task_state image_uploading")
            await control(InstanceActivities.set_task_state, SetTaskStateInput(
                ctx=ctx, task_state=TaskState.IMAGE_UPLOADING,
                expected=[TaskState.IMAGE_SNAPSHOT, TaskState.IMAGE_BACKUP]),
                summary="set_task_state image_uploading")
            done = await snapshot_on_host(self.steps, ctx, inp.host, inp.image_id,
                                          inp.timeouts, event)
            checkpoint()  # a delete that arrived while the host copied the disk
        except HostStepFailed as exc:
            await self._fail(inp, exc.why)
            raise ApplicationError(exc.why, type=exc.error_type or SNAPSHOT_FAILED,
                                   non_retryable=True) from exc
        except asyncio.CancelledError:
            # Deleted meanwhile: the image of a server that is gone goes too.
            await self._fail(inp, f"the server was deleted during the {event}")
            raise
        except ActivityError as exc:  # the row moved on (deleted): drop the image
            await self._fail(inp, failure_message(exc))
            raise ApplicationError(failure_message(exc), type=failure_type(exc),
                                   non_retryable=True) from exc
        self.steps.at("finish_snapshot")
        result = await control(SnapshotActivities.finish_snapshot, FinishSnapshotInput(
            ctx=ctx, image_id=inp.image_id, uploaded=done.uploaded,
            backup_type=inp.backup_type, rotation=inp.rotation, events=self.steps.take()),
            summary="finish_snapshot")
        self.steps.at("done" + (f": rotated out {', '.join(result.rotated_out)}"
                                if result.rotated_out else ""))
        return inp.image_id

    async def _fail(self, inp: SnapshotServerInput, why: str) -> None:
        self.steps.at(f"failed: {why}")
        await control(SnapshotActivities.fail_snapshot, FailSnapshotInput(
            ctx=inp.ctx, image_id=inp.image_id, message=why, events=self.steps.take()),
            summary="fail_snapshot")
