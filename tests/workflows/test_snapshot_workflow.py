"""SnapshotServerWorkflow (createImage, createBackup) against scripted
activities: the image uploaded and finished, a failing host step that
deletes the image, and a delete that cancels the snapshot (image deleted)."""

from __future__ import annotations

import asyncio

import pytest
from fakes import Env, heartbeat_until_cancelled
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError, CancelledError

from activities.types.context import OpContext
from activities.types.snapshot import SNAPSHOT_FAILED
from novaflow.states import TaskState
from workflows.common import OpTimeouts
from workflows.snapshot import SnapshotServerInput, SnapshotServerWorkflow

pytestmark = pytest.mark.asyncio

CTX = OpContext(server_id="srv-1", project_id="demo", user_id="demo")
TIMEOUTS = OpTimeouts(host_schedule_to_start_s=5.0, host_step_s=10.0, host_heartbeat_s=1.0)


def _input(host: str, **kw) -> SnapshotServerInput:
    return SnapshotServerInput(ctx=CTX, host=host, image_id="img-snap", timeouts=TIMEOUTS, **kw)


async def test_a_snapshot_uploads_on_the_host_and_finishes_the_image(temporal):
    async with Env(temporal) as env:
        handle = await env.start(SnapshotServerWorkflow.run, _input(env.host(2)), "snapshot")
        assert await handle.result() == "img-snap"
    (uploading,) = env.cloud.called("set_task_state")
    assert uploading.task_state == TaskState.IMAGE_UPLOADING
    (copy,) = env.cloud.called("snapshot_domain", env.host(2))
    assert (copy.server_id, copy.image_id) == ("srv-1", "img-snap")
    (done,) = env.cloud.called("finish_snapshot")
    assert (done.image_id, done.uploaded, done.backup_type) == ("img-snap", True, None)
    assert [(e.event, e.result, e.host) for e in done.events] == [
        ("compute_snapshot_instance", "Success", env.host(2))]
    assert not env.cloud.called("fail_snapshot")


async def test_a_backup_hands_its_rotation_to_finish(temporal):
    async with Env(temporal) as env:
        handle = await env.start(SnapshotServerWorkflow.run, _input(
            env.host(1), backup_type="daily", rotation=2), "backup")
        await handle.result()
    (done,) = env.cloud.called("finish_snapshot")
    assert (done.backup_type, done.rotation) == ("daily", 2)
    assert done.events[0].event == "compute_backup_instance"


async def test_a_failing_host_step_deletes_the_image(temporal):
    async with Env(temporal) as env:
        def broken(_):  # a host error of no particular type
            raise ApplicationError("qemu-img convert failed", non_retryable=True)
        env.cloud.on_host[env.host(1)] = {"snapshot_domain": broken}
        handle = await env.start(SnapshotServerWorkflow.run, _input(env.host(1)), "snapshot")
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()
    assert isinstance(err.value.cause, ApplicationError)
    assert err.value.cause.type == SNAPSHOT_FAILED
    (fail,) = env.cloud.called("fail_snapshot")  # the image goes, task_state clears
    assert fail.image_id == "img-snap"
    assert f"snapshot_domain on {env.host(1)} failed: qemu-img convert failed" in fail.message
    assert [(e.event, e.result) for e in fail.events] == [("compute_snapshot_instance", "Error")]
    assert not env.cloud.called("finish_snapshot")


async def test_a_delete_cancels_the_snapshot_and_the_image_goes(temporal):
    async with Env(temporal) as env:
        copying = asyncio.Event()

        async def hang(_):
            copying.set()
            await heartbeat_until_cancelled()

        env.cloud.on_host[env.host(1)] = {"snapshot_domain": hang}
        handle = await env.start(SnapshotServerWorkflow.run, _input(env.host(1)), "snapshot")
        await asyncio.wait_for(copying.wait(), 10)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as err:
            await asyncio.wait_for(handle.result(), 10)
    assert isinstance(err.value.cause, CancelledError)
    (fail,) = env.cloud.called("fail_snapshot")
    assert fail.image_id == "img-snap" and "deleted during" in fail.message
    assert not env.cloud.called("finish_snapshot")
