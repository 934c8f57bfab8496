"""AttachVolumeWorkflow, DetachVolumeWorkflow and SwapVolumeWorkflow
against scripted activities: the Cinder attachment reserved, connected
with the host's connector and completed; a failing hot-plug deletes the
attachment (the volume available again, the server unchanged); a failed
unplug leaves the volume attached; a failed swap keeps the old volume; a
delete cancels an attach at once."""

from __future__ import annotations

import asyncio

import pytest
from fakes import Env, failed, heartbeat_until_cancelled
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError, CancelledError

from activities.types.catalog import VolumeDisk
from activities.types.context import OpContext
from activities.types.volume_attach import (
    VOLUME_ATTACH_FAILED,
    VOLUME_DETACH_FAILED,
    SwapPlan,
    VolumeAttachPlan,
)
from workflows.common import OpTimeouts
from workflows.volume_attach import (
    AttachVolumeWorkflow,
    DetachVolumeWorkflow,
    SwapVolumeInput,
    SwapVolumeWorkflow,
    VolumeAttachInput,
)

pytestmark = pytest.mark.asyncio

CTX = OpContext(server_id="srv-1", project_id="demo", user_id="demo")
TIMEOUTS = OpTimeouts(host_schedule_to_start_s=5.0, host_step_s=10.0)


def _disk(volume_id: str) -> VolumeDisk:
    return VolumeDisk(volume_id=volume_id, device="vdb", boot_index=None, size_gb=1, path="")


def _env(temporal) -> Env:
    env = Env(temporal, hosts=1)
    plan = lambda inp: VolumeAttachPlan(  # noqa: E731
        host=env.host(1), disk=_disk(inp.volume_id), attachment_id="att-1")
    env.cloud.on["reserve_volume"] = plan
    env.cloud.on["prepare_volume_detach"] = plan
    return env


def _untyped(message: str):
    def broken(_):  # a host error of no particular type
        raise ApplicationError(message, non_retryable=True)
    return broken


async def test_attach_connects_plugs_and_completes_the_attachment(temporal):
    async with _env(temporal) as env:
        h = env.host(1)
        handle = await env.start(AttachVolumeWorkflow.run, VolumeAttachInput(
            ctx=CTX, volume_id="vol-1", timeouts=TIMEOUTS), "attach_volume")
        assert await handle.result() == "/dev/vdb"
    (connect,) = env.cloud.called("connect_volume")
    assert connect.attachment_id == "att-1"
    assert connect.connector == {"host": h, "mountpoint": "/dev/vdb"}  # the host's connector
    (plug,) = env.cloud.called("attach_volume_device", h)
    assert plug.disk.path == "/dev/fake/vol-1"  # what Cinder's connection info said
    (done,) = env.cloud.called("finish_volume_attach")
    assert (done.attachment_id, done.error) == ("att-1", None)
    assert [(e.event, e.result) for e in done.events] == [("compute_attach_volume", "Success")]


async def test_a_failing_hot_plug_deletes_the_attachment(temporal):
    async with _env(temporal) as env:
        env.cloud.on_host[env.host(1)] = {"attach_volume_device": _untyped("bus full")}
        handle = await env.start(AttachVolumeWorkflow.run, VolumeAttachInput(
            ctx=CTX, volume_id="vol-1", timeouts=TIMEOUTS), "attach_volume")
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()
    assert err.value.cause.type == VOLUME_ATTACH_FAILED
    (done,) = env.cloud.called("finish_volume_attach")  # with error: attachment deleted
    assert done.attachment_id == "att-1"
    assert done.error == "Failed to attach volume vol-1 to server srv-1: bus full"
    assert [(e.event, e.result) for e in done.events] == [("compute_attach_volume", "Error")]


async def test_a_refused_reservation_has_no_attachment_to_delete(temporal):
    async with _env(temporal) as env:
        env.cloud.on["reserve_volume"] = lambda _: (_ for _ in ()).throw(
            failed("volume is in-use", "VolumeInUse"))
        handle = await env.start(AttachVolumeWorkflow.run, VolumeAttachInput(
            ctx=CTX, volume_id="vol-1", timeouts=TIMEOUTS), "attach_volume")
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()
    assert err.value.cause.type == "VolumeInUse"
    (done,) = env.cloud.called("finish_volume_attach")
    assert done.attachment_id is None and "volume is in-use" in done.error
    assert not env.cloud.called("volume_connector")


async def test_a_delete_cancels_the_attach(temporal):
    async with _env(temporal) as env:
        plugging = asyncio.Event()

        async def hang(_):
            plugging.set()
            await heartbeat_until_cancelled()

        env.cloud.on_host[env.host(1)] = {"volume_connector": hang}
        handle = await env.start(AttachVolumeWorkflow.run, VolumeAttachInput(
            ctx=CTX, volume_id="vol-1", timeouts=OpTimeouts(
                host_schedule_to_start_s=5.0, host_step_s=10.0, host_heartbeat_s=1.0)),
            "attach_volume")
        await asyncio.wait_for(plugging.wait(), 10)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as err:
            await asyncio.wait_for(handle.result(), 5)
    # The delete's own release of the server's volumes frees the reservation.
    assert isinstance(err.value.cause, CancelledError)
    assert not env.cloud.called("connect_volume")
    assert not env.cloud.called("finish_volume_attach")


async def test_detach_unplugs_then_deletes_the_attachment(temporal):
    async with _env(temporal) as env:
        handle = await env.start(DetachVolumeWorkflow.run, VolumeAttachInput(
            ctx=CTX, volume_id="vol-1", timeouts=TIMEOUTS), "detach_volume")
        await handle.result()
    assert env.cloud.called("detach_volume_device", env.host(1))[0].disk.device == "vdb"
    (done,) = env.cloud.called("finish_volume_detach")
    assert (done.attachment_id, done.error) == ("att-1", None)


async def test_a_failed_unplug_leaves_the_volume_attached(temporal):
    async with _env(temporal) as env:
        env.cloud.on_host[env.host(1)] = {"detach_volume_device": _untyped("guest refused")}
        handle = await env.start(DetachVolumeWorkflow.run, VolumeAttachInput(
            ctx=CTX, volume_id="vol-1", timeouts=TIMEOUTS), "detach_volume")
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()
    assert err.value.cause.type == VOLUME_DETACH_FAILED
    (done,) = env.cloud.called("finish_volume_detach")
    assert "guest refused" in done.error


async def test_a_failed_swap_deletes_the_new_attachment_only(temporal):
    async with _env(temporal) as env:
        h = env.host(1)
        env.cloud.on["reserve_swap"] = lambda inp: SwapPlan(
            host=h, old=_disk("vol-1"), new=_disk("vol-2"),
            old_attachment_id="att-1", new_attachment_id="att-2")
        env.cloud.on_host[h] = {"swap_volume_device": _untyped("copy failed")}
        handle = await env.start(SwapVolumeWorkflow.run, SwapVolumeInput(
            ctx=CTX, old_volume_id="vol-1", new_volume_id="vol-2", timeouts=TIMEOUTS),
            "swap_volume")
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    assert env.cloud.called("connect_volume")[0].attachment_id == "att-2"
    (done,) = env.cloud.called("finish_swap")
    assert done.plan.new_attachment_id == "att-2" and "copy failed" in done.error
