"""Aborting a live migration (the ``abort_live_migration`` Update): while it
prepares, the run rolls back (destination cleaned, claim given back) and the
migration ends ``cancelled`` with no fault; once the switch-over has begun
the validator refuses and nothing enters the history.  ``force_complete``
is accepted only during the switch-over and runs on the source host."""

from __future__ import annotations

import asyncio

import pytest
from fakes import Env, plan
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage

from activities.types.context import OpContext
from activities.types.moves import LiveMigrateData
from workflows.common import OpTimeouts
from workflows.live_migrate import LiveMigrateServerInput, LiveMigrateServerWorkflow

pytestmark = pytest.mark.asyncio

CTX = OpContext(server_id="srv-1", project_id="demo", user_id="demo")


def live_input() -> LiveMigrateServerInput:
    return LiveMigrateServerInput(ctx=CTX, migration_id="mig-1",
                                  timeouts=OpTimeouts(host_schedule_to_start_s=5.0,
                                                      host_step_s=10.0))


def _holding(event: asyncio.Event, release: asyncio.Event, result):
    async def hold(_):
        event.set()
        await release.wait()
        return result
    return hold


async def test_abort_while_preparing_rolls_back_and_cancels(temporal):
    async with Env(temporal) as env:
        env.cloud.plan = plan(env.host(1), kind="live-migration")
        checking, release = asyncio.Event(), asyncio.Event()
        env.cloud.on_host[env.host(2)] = {
            "check_can_live_migrate_destination": _holding(checking, release,
                                                           LiveMigrateData())}
        handle = await env.start(LiveMigrateServerWorkflow.run, live_input(), "live")
        await asyncio.wait_for(checking.wait(), 10)
        await handle.start_update("abort_live_migration",
                                  wait_for_stage=WorkflowUpdateStage.ACCEPTED)
        release.set()
        result = await asyncio.wait_for(handle.result(), 15)
    assert result.host == env.host(1)
    assert not env.cloud.called("live_migration")
    (failed,) = env.cloud.called("fail_migration")
    assert failed.status == "cancelled" and failed.vm_state == "active"
    assert failed.host == env.host(1)


async def test_abort_is_refused_once_the_switch_over_began(temporal):
    async with Env(temporal) as env:
        env.cloud.plan = plan(env.host(1), kind="live-migration")
        migrating, release = asyncio.Event(), asyncio.Event()
        env.cloud.on_host[env.host(1)] = {"live_migration": _holding(migrating, release, None)}
        handle = await env.start(LiveMigrateServerWorkflow.run, live_input(), "live")
        await asyncio.wait_for(migrating.wait(), 10)
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update("abort_live_migration")
        release.set()
        result = await asyncio.wait_for(handle.result(), 15)
    assert result.host != env.host(1)
    assert not env.cloud.called("fail_migration")


async def test_force_complete_runs_on_the_source_during_the_switch_over(temporal):
    async with Env(temporal) as env:
        env.cloud.plan = plan(env.host(1), kind="live-migration")
        migrating, release = asyncio.Event(), asyncio.Event()
        env.cloud.on_host[env.host(1)] = {"live_migration": _holding(migrating, release, None)}
        handle = await env.start(LiveMigrateServerWorkflow.run, live_input(), "live")
        with pytest.raises(WorkflowUpdateFailedError):  # still preparing: refused
            await handle.execute_update("force_complete")
        await asyncio.wait_for(migrating.wait(), 10)
        await handle.execute_update("force_complete")
        release.set()
        result = await asyncio.wait_for(handle.result(), 15)
    assert result.host != env.host(1)
    (forced,) = env.cloud.called("live_migration_force_complete", env.host(1))
    assert forced.server_id == CTX.server_id
