"""RescueServerWorkflow and UnrescueServerWorkflow against scripted
activities: rescue boots the rescue image with the server's disks, a
failing rescue puts the server in ERROR (a host that cannot rescue leaves
it as it was), unrescue restores it, a failing unrescue leaves it RESCUED,
and a delete cancels a rescue at once."""

from __future__ import annotations

import asyncio

import pytest
from fakes import IMAGE, TINY, Env, failed, hang_until_cancelled
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError, CancelledError

from activities.types.catalog import ImageInfo
from activities.types.context import OpContext
from activities.types.day2 import NOT_SUPPORTED, RebuildPlan
from activities.types.rescue import RESCUE_FAILED
from novaflow.states import VmState
from workflows.common import OpTimeouts
from workflows.rescue import RescueInput, RescueServerWorkflow, UnrescueServerWorkflow

pytestmark = pytest.mark.asyncio

CTX = OpContext(server_id="srv-1", project_id="demo", user_id="demo")
TIMEOUTS = OpTimeouts(host_schedule_to_start_s=5.0, host_step_s=10.0)
RESCUE_IMAGE = ImageInfo(id="img-rescue", name="rescue")


def _env(temporal) -> Env:
    env = Env(temporal, hosts=1)
    env.cloud.on["prepare_rebuild"] = lambda _: RebuildPlan(
        name="vm1", host=env.host(1), vm_state=VmState.ACTIVE, flavor=TINY, image=IMAGE)
    return env


async def test_rescue_boots_the_rescue_image_then_unrescue_restores(temporal):
    async with _env(temporal) as env:
        h = env.host(1)
        rescue = await env.start(RescueServerWorkflow.run, RescueInput(
            ctx=CTX, host=h, rescue_image=RESCUE_IMAGE, timeouts=TIMEOUTS), "rescue")
        assert await rescue.result() == VmState.RESCUED
        unrescue = await env.start(UnrescueServerWorkflow.run, RescueInput(
            ctx=CTX, host=h, timeouts=TIMEOUTS), "unrescue")
        assert await unrescue.result() == VmState.ACTIVE
    (booted,) = env.cloud.called("rescue_domain", h)
    assert booted.rescue_image == RESCUE_IMAGE and booted.spawn.flavor == TINY
    assert env.cloud.called("unrescue_domain", h)
    rescued, restored = env.cloud.called("finish_rescue")
    assert (rescued.vm_state, rescued.error) == (VmState.RESCUED, None)
    assert (restored.vm_state, restored.error) == (VmState.ACTIVE, None)
    assert [e.event for e in rescued.events] == ["compute_rescue_instance"]


async def test_without_a_rescue_image_the_servers_own_image_boots(temporal):
    async with _env(temporal) as env:
        handle = await env.start(RescueServerWorkflow.run, RescueInput(
            ctx=CTX, host=env.host(1), timeouts=TIMEOUTS), "rescue")
        await handle.result()
    assert env.cloud.called("rescue_domain")[0].rescue_image == IMAGE


async def test_a_failing_rescue_puts_the_server_in_error(temporal):
    async with _env(temporal) as env:
        def broken(_):  # a host error of no particular type
            raise ApplicationError("domain would not start", non_retryable=True)
        env.cloud.on_host[env.host(1)] = {"rescue_domain": broken}
        handle = await env.start(RescueServerWorkflow.run, RescueInput(
            ctx=CTX, host=env.host(1), rescue_image=RESCUE_IMAGE, timeouts=TIMEOUTS),
            "rescue")
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()
    assert err.value.cause.type == RESCUE_FAILED
    (fail,) = env.cloud.called("finish_rescue")
    assert fail.error_state == VmState.ERROR
    assert "Error trying to Rescue Instance srv-1: domain would not start" == fail.error
    assert [(e.event, e.result) for e in fail.events] == [("compute_rescue_instance", "Error")]


async def test_a_host_that_cannot_rescue_leaves_the_server_as_it_was(temporal):
    async with _env(temporal) as env:
        env.cloud.on_host[env.host(1)] = {
            "rescue_domain": lambda _: (_ for _ in ()).throw(failed("no", NOT_SUPPORTED))}
        handle = await env.start(RescueServerWorkflow.run, RescueInput(
            ctx=CTX, host=env.host(1), timeouts=TIMEOUTS), "rescue")
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()
    assert err.value.cause.type == NOT_SUPPORTED
    assert env.cloud.called("finish_rescue")[0].error_state is None


async def test_a_failing_unrescue_leaves_the_server_rescued(temporal):
    async with _env(temporal) as env:
        env.cloud.on_host[env.host(1)] = {
            "unrescue_domain": lambda _: (_ for _ in ()).throw(
                failed("gone", "HypervisorError"))}
        handle = await env.start(UnrescueServerWorkflow.run, RescueInput(
            ctx=CTX, host=env.host(1), timeouts=TIMEOUTS), "unrescue")
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()
    assert err.value.cause.type == "HypervisorError"
    (fail,) = env.cloud.called("finish_rescue")
    assert fail.vm_state == VmState.RESCUED and "Unrescue" in fail.error


async def test_a_delete_cancels_the_rescue_at_once(temporal):
    async with _env(temporal) as env:
        rescuing = asyncio.Event()

        async def hang(_):
            rescuing.set()
            await hang_until_cancelled()

        env.cloud.on_host[env.host(1)] = {"rescue_domain": hang}
        handle = await env.start(RescueServerWorkflow.run, RescueInput(
            ctx=CTX, host=env.host(1), timeouts=TIMEOUTS), "rescue")
        await asyncio.wait_for(rescuing.wait(), 10)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as err:
            await asyncio.wait_for(handle.result(), 5)
    assert isinstance(err.value.cause, CancelledError)
    assert not env.cloud.called("finish_rescue")  # the delete destroys whatever is there

