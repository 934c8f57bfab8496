"""RebuildServerWorkflow: a new image is checked against the server's own
host, the domain rebuilt there with the same ports, and the server ends
ACTIVE (or SHUTOFF if it was stopped); a refused image is rolled back and a
failed host step leaves ERROR; a delete cancels the rebuild at once."""

from __future__ import annotations

import asyncio

import pytest
from fakes import IMAGE, TINY, Env, failed, hang_until_cancelled, no_valid_host
from temporalio.client import WorkflowFailureError

from activities.types.catalog import PortInfo
from activities.types.context import OpContext
from activities.types.day2 import RebuildPlan
from novaflow import errors
from novaflow.states import TaskState, VmState
from workflows.common import OpTimeouts
from workflows.rebuild import RebuildServerInput, RebuildServerWorkflow

pytestmark = pytest.mark.asyncio

CTX = OpContext(server_id="srv-1", project_id="demo", user_id="demo", action_id=3)
TIMEOUTS = OpTimeouts(host_schedule_to_start_s=5.0, host_step_s=10.0)
PORT = PortInfo(id="port-1", network_id="net-1", network_name="private",
                ip_address="10.0.0.5", mac_address="fa:16:3e:00:00:01")
OLD_IMAGE = {"id": "img-0", "name": "old", "properties": {}}


def _plan(env: Env, vm_state: str = VmState.ACTIVE) -> RebuildPlan:
    return RebuildPlan(name="vm1", host=env.host(2), vm_state=vm_state, flavor=TINY,
                       image=IMAGE, ports=[PORT])


def _raise(exc):
    def script(_):
        raise exc
    return script


def _input(changed: bool = True) -> RebuildServerInput:
    return RebuildServerInput(ctx=CTX, image_changed=changed, previous_image_ref="img-0",
                              previous_image=OLD_IMAGE, timeouts=TIMEOUTS)


async def test_rebuild_checks_the_image_on_its_host_and_keeps_the_ports(temporal):
    async with Env(temporal) as env:
        env.cloud.on["prepare_rebuild"] = lambda _: _plan(env)
        handle = await env.start(RebuildServerWorkflow.run, _input(), "rebuild")
        assert await handle.result() == VmState.ACTIVE
    (check,) = env.cloud.called("check_rebuild_image")
    assert check.host == env.host(2) and check.image.id == IMAGE.id
    (rebuilt,) = env.cloud.called("rebuild_domain", env.host(2))
    assert rebuilt.spawn.ports == [PORT] and rebuilt.power_on
    assert [t.task_state for t in env.cloud.called("set_task_state")] == [
        TaskState.REBUILD_SPAWNING]
    (done,) = env.cloud.called("finish_rebuild")
    assert done.vm_state == VmState.ACTIVE
    assert [e.event for e in done.events] == ["conductor_rebuild_server",
                                              "compute_rebuild_instance"]
    assert not env.cloud.called("fail_rebuild")


async def test_same_image_skips_the_check_and_a_stopped_server_stays_stopped(temporal):
    async with Env(temporal) as env:
        env.cloud.on["prepare_rebuild"] = lambda _: _plan(env, VmState.STOPPED)
        handle = await env.start(RebuildServerWorkflow.run, _input(changed=False), "rebuild")
        assert await handle.result() == VmState.STOPPED
    assert not env.cloud.called("check_rebuild_image")
    assert env.cloud.called("rebuild_domain", env.host(2))[0].power_on is False


async def test_a_refused_image_is_rolled_back_and_nothing_runs_on_the_host(temporal):
    async with Env(temporal) as env:
        env.cloud.on["prepare_rebuild"] = lambda _: _plan(env)
        env.cloud.on["check_rebuild_image"] = _raise(no_valid_host(
            "No valid host was found. Image img-1 is unacceptable"))
        handle = await env.start(RebuildServerWorkflow.run, _input(), "rebuild")
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()
    assert err.value.cause.type == errors.NO_VALID_HOST
    assert not env.cloud.called("rebuild_domain")
    (fail,) = env.cloud.called("fail_rebuild")
    assert fail.previous_image == OLD_IMAGE and fail.previous_image_ref == "img-0"
    assert [(e.event, e.result) for e in fail.events] == [("conductor_rebuild_server", "Error")]


async def test_a_failed_host_step_leaves_error_without_rolling_back(temporal):
    async with Env(temporal) as env:
        env.cloud.on["prepare_rebuild"] = lambda _: _plan(env)
        env.cloud.on_host[env.host(2)] = {"rebuild_domain": _raise(failed("disk full"))}
        handle = await env.start(RebuildServerWorkflow.run, _input(), "rebuild")
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()
    assert err.value.cause.type == errors.SPAWN_FAILED
    (fail,) = env.cloud.called("fail_rebuild")
    assert "disk full" in fail.message and fail.previous_image is None
    assert not env.cloud.called("finish_rebuild")


async def test_a_delete_cancels_the_rebuild_at_once(temporal):
    async with Env(temporal) as env:
        env.cloud.on["prepare_rebuild"] = lambda _: _plan(env)
        rebuilding = asyncio.Event()

        async def hang(_):
            rebuilding.set()
            await hang_until_cancelled()

        env.cloud.on_host[env.host(2)] = {"rebuild_domain": hang}
        handle = await env.start(RebuildServerWorkflow.run, _input(), "rebuild")
        await asyncio.wait_for(rebuilding.wait(), 10)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await asyncio.wait_for(handle.result(), 5)
    assert not env.cloud.called("finish_rebuild") and not env.cloud.called("fail_rebuild")
