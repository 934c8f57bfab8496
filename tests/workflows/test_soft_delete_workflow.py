"""SoftDeleteServerWorkflow: power off, SOFT_DELETED, and after the durable
timer the ordinary delete as a child workflow; a server restored (or
deleted) meanwhile is left alone; a refused power-off reclaims nothing."""

from __future__ import annotations

import dataclasses

import pytest
from fakes import Env, failed
from temporalio.client import WorkflowFailureError

from activities.types.context import OpContext
from novaflow.states import VmState
from workflows.common import OpTimeouts
from workflows.soft_delete import SoftDeleteServerInput, SoftDeleteServerWorkflow

pytestmark = pytest.mark.asyncio

TIMEOUTS = OpTimeouts(host_schedule_to_start_s=5.0, host_step_s=10.0)


def _ctx() -> OpContext:
    import uuid
    return OpContext(server_id=f"srv-{uuid.uuid4().hex[:8]}", project_id="demo",
                     user_id="demo", action_id=5)


async def test_the_timer_reclaims_through_the_delete_workflow(temporal):
    ctx = _ctx()
    async with Env(temporal) as env:
        env.cloud.on["begin_reclaim"] = lambda inp: dataclasses.replace(inp.ctx, action_id=9)
        handle = await env.start(SoftDeleteServerWorkflow.run, SoftDeleteServerInput(
            ctx=ctx, host=env.host(1), reclaim_after_s=1.0, timeouts=TIMEOUTS), "soft")
        assert await handle.result() == "reclaimed"
    (off,) = env.cloud.called("power_off", env.host(1))
    assert off.server_id == ctx.server_id
    (soft,) = env.cloud.called("finish_power_action")
    assert soft.vm_state == VmState.SOFT_DELETED
    (reclaim,) = env.cloud.called("begin_reclaim")
    assert reclaim.soft_delete_workflow_id == handle.id
    assert reclaim.delete_workflow_id == f"delete-{ctx.server_id}"
    # The child delete ran with the reclaim's own action.
    (deleted,) = env.cloud.called("mark_deleted")
    assert deleted.ctx.action_id == 9


async def test_a_restored_server_is_not_reclaimed(temporal):
    async with Env(temporal) as env:
        env.cloud.on["begin_reclaim"] = lambda _: None  # restored meanwhile
        handle = await env.start(SoftDeleteServerWorkflow.run, SoftDeleteServerInput(
            ctx=_ctx(), host=env.host(1), reclaim_after_s=0.5, timeouts=TIMEOUTS), "soft")
        assert await handle.result() == "kept"
    assert not env.cloud.called("mark_deleted")


async def test_a_refused_power_off_keeps_the_server_and_reclaims_nothing(temporal):
    def refuse(_):
        raise failed("power_off refused", "PowerActionFailed")

    async with Env(temporal) as env:
        env.cloud.on_host[env.host(1)] = {"power_off": refuse}
        handle = await env.start(SoftDeleteServerWorkflow.run, SoftDeleteServerInput(
            ctx=_ctx(), host=env.host(1), reclaim_after_s=0.5, timeouts=TIMEOUTS), "soft")
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    (finish,) = env.cloud.called("finish_power_action")
    assert finish.vm_state is None and "power_off refused" in finish.error
    assert not env.cloud.called("begin_reclaim")
