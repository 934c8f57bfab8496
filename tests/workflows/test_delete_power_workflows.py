"""DeleteServerWorkflow cancelling a build in flight, and a power action
ending in the vm_state the transitions table names."""

from __future__ import annotations

import asyncio

import pytest
from fakes import Env, failed, hang_until_cancelled
from temporalio.client import WorkflowFailureError

from activities.types.context import OpContext
from activities.types.instances import DeleteTargets
from novaflow.states import transition
from workflows.boot import BootServerInput, BootServerWorkflow
from workflows.common import OpTimeouts
from workflows.delete import DeleteServerInput, DeleteServerWorkflow
from workflows.power import PowerActionWorkflow, PowerActionWorkflowInput

pytestmark = pytest.mark.asyncio

CTX = OpContext(server_id="srv-1", project_id="demo", user_id="demo")
TIMEOUTS = OpTimeouts(host_schedule_to_start_s=5.0, host_step_s=10.0)


async def test_delete_cancels_the_build_waits_for_it_and_frees_everything(temporal):
    async with Env(temporal) as env:
        spawning = asyncio.Event()

        async def hang(_):
            spawning.set()
            await hang_until_cancelled()

        env.cloud.on_host[env.host(1)] = {"spawn": hang}
        boot = await env.start(BootServerWorkflow.run, BootServerInput(
            ctx=CTX, name="vm1", flavor_ref="1", image_ref="img-1", timeouts=TIMEOUTS), "boot")
        await asyncio.wait_for(spawning.wait(), 10)

        async def closed(inp):  # the real activity polls Temporal the same way
            try:
                await temporal.get_workflow_handle(inp.workflow_id).result()
            except WorkflowFailureError:
                pass
            return "cancelled"

        env.cloud.on["wait_workflow_closed"] = closed
        env.cloud.on["get_delete_targets"] = lambda ctx: DeleteTargets(
            hosts=[env.host(1)], down_hosts=[], consumer_ids=[ctx.server_id], workflow_ids=[])
        delete = await env.start(DeleteServerWorkflow.run, DeleteServerInput(
            ctx=CTX, running_workflow_ids=[boot.id], timeouts=TIMEOUTS), "delete")
        assert await delete.result() == "deleted"
    names = env.cloud.names()
    # The build cleaned up after itself before the delete went on.
    assert names.index("wait_workflow_closed") < names.index("mark_deleted")
    assert [w.workflow_id for w in env.cloud.called("wait_workflow_closed")] == [boot.id]
    assert len(env.cloud.called("destroy_domain", env.host(1))) == 2  # the build's and ours
    assert names[-1] == "mark_deleted"
    events = [(e.event, e.result) for e in env.cloud.called("mark_deleted")[0].events]
    assert ("cancel_running_operation", "Success") in events
    assert ("release_resources", "Success") in events


async def test_a_delete_queues_a_cleanup_for_a_host_that_is_down(temporal):
    async with Env(temporal) as env:
        env.cloud.on["get_delete_targets"] = lambda ctx: DeleteTargets(
            hosts=[env.host(1)], down_hosts=[env.host(1)], consumer_ids=[ctx.server_id],
            workflow_ids=[])
        delete = await env.start(DeleteServerWorkflow.run, DeleteServerInput(
            ctx=CTX, timeouts=TIMEOUTS), "delete")
        assert await delete.result() == "deleted"
    assert not env.cloud.called("destroy_domain")
    assert env.cloud.called("queue_host_cleanup")[0].host == env.host(1)


@pytest.mark.parametrize("key", ["stop", "reboot:HARD", "suspend"])
async def test_a_power_action_ends_in_the_tables_vm_state(temporal, key):
    async with Env(temporal) as env:
        handle = await env.start(PowerActionWorkflow.run, PowerActionWorkflowInput(
            ctx=CTX, key=key, host=env.host(1), timeouts=TIMEOUTS), "power")
        await handle.result()
    done = env.cloud.called("finish_power_action")[0]
    rule = transition(key)
    assert (done.vm_state, done.task_state, done.error) == (rule.ends_in[0], rule.task_state,
                                                           None)


async def test_a_failed_power_action_keeps_the_vm_state_and_says_why(temporal):
    async with Env(temporal) as env:
        env.cloud.on_host[env.host(1)] = {"power_off": lambda _: (_ for _ in ()).throw(
            failed("power_off on h1 failed: guest hung", "PowerActionFailed"))}
        handle = await env.start(PowerActionWorkflow.run, PowerActionWorkflowInput(
            ctx=CTX, key="stop", host=env.host(1), timeouts=TIMEOUTS), "power")
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    done = env.cloud.called("finish_power_action")[0]
    assert done.vm_state is None and "guest hung" in done.error
