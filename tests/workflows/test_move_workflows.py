"""Resize, cold migration and live migration against scripted activities:
confirm, revert, the auto-confirm timer, roll-backs, and the claim-conflict
path of each."""

from __future__ import annotations

import asyncio

import pytest
from fakes import Env, failed, plan
from stack import wait_until
from temporalio.client import (
    WorkflowFailureError,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError

from activities.types.catalog import BindPortsResult
from activities.types.context import OpContext
from novaflow import errors
from workflows.common import OpTimeouts
from workflows.live_migrate import LiveMigrateServerInput, LiveMigrateServerWorkflow
from workflows.resize import ResizeDecision, ResizeServerInput, ResizeServerWorkflow

pytestmark = pytest.mark.asyncio

CTX = OpContext(server_id="srv-1", project_id="demo", user_id="demo")


def resize_input(window: float = 0.0) -> ResizeServerInput:
    return ResizeServerInput(ctx=CTX, migration_id="mig-1",
                             timeouts=OpTimeouts(host_schedule_to_start_s=5.0, host_step_s=10.0,
                                                 resize_confirm_window_s=window))


def live_input() -> LiveMigrateServerInput:
    return LiveMigrateServerInput(ctx=CTX, migration_id="mig-1",
                                  timeouts=OpTimeouts(host_schedule_to_start_s=5.0,
                                                      host_step_s=10.0))


async def until_verify(handle, env: Env, timeout: float = 10.0) -> None:
    """Wait until the resize is waiting in VERIFY_RESIZE (or fail at the deadline)."""
    async def waiting() -> bool:
        assert not env.cloud.called("fail_migration"), "the resize failed"
        step = await handle.query(ResizeServerWorkflow.current_step)
        return step.startswith("awaiting confirmResize")
    await wait_until(waiting, timeout, what="the resize to reach VERIFY_RESIZE")


async def test_resize_confirm_cleans_the_source(temporal):
    async with Env(temporal) as env:
        env.cloud.plan = plan(env.host(1))
        handle = await env.start(ResizeServerWorkflow.run, resize_input(), "resize")
        await until_verify(handle, env)
        await handle.execute_update(ResizeServerWorkflow.confirm_resize, ResizeDecision(ctx=CTX))
        result = await handle.result()
    assert (result.outcome, result.host) == ("confirmed", env.host(2))
    assert env.cloud.called("prep_resize", env.host(2))
    assert env.cloud.called("resize_instance", env.host(1))
    assert env.cloud.called("confirm_resize", env.host(1))
    assert [d.decision for d in env.cloud.called("finish_resize_decision")] == ["confirm"]
    # The ports follow the guest once it is finished on the destination.
    assert [b.host for b in env.cloud.called("bind_ports")] == [env.host(2)]
    names = env.cloud.names()
    assert names.index("finish_resize") < names.index("bind_ports") \
        < names.index("finish_resize_record")
    recorded = env.cloud.called("finish_resize_record")[0].events
    assert ("bind_ports", "Success", env.host(2)) in [(e.event, e.result, e.host)
                                                     for e in recorded]


async def test_resize_revert_restarts_on_the_source_with_the_old_flavor(temporal):
    async with Env(temporal) as env:
        env.cloud.plan = plan(env.host(1))
        handle = await env.start(ResizeServerWorkflow.run, resize_input(), "resize")
        await until_verify(handle, env)
        update = await handle.start_update(ResizeServerWorkflow.revert_resize,
                                           ResizeDecision(ctx=CTX),
                                           wait_for_stage=WorkflowUpdateStage.ACCEPTED)
        assert await update.result() == "reverted"
        result = await handle.result()
    assert (result.outcome, result.host) == ("reverted", env.host(1))
    assert env.cloud.called("revert_resize", env.host(2))
    back = env.cloud.called("finish_revert_resize", env.host(1))[0]
    assert back.spawn.flavor.name == "m1.tiny"
    # Bound to the destination for VERIFY_RESIZE, back to the source on revert.
    assert [b.host for b in env.cloud.called("bind_ports")] == [env.host(2), env.host(1)]


async def test_resize_confirms_itself_when_the_window_passes(temporal):
    async with Env(temporal) as env:
        env.cloud.plan = plan(env.host(1))
        handle = await env.start(ResizeServerWorkflow.run, resize_input(window=1.0), "resize")
        result = await handle.result()
    assert result.outcome == "confirmed"
    assert env.cloud.called("begin_resize_decision")[0].auto is True


async def test_a_confirm_during_the_move_is_refused_before_history(temporal):
    async with Env(temporal) as env:
        env.cloud.plan = plan(env.host(1))
        preparing, go_on = asyncio.Event(), asyncio.Event()

        async def prep_resize(_):
            preparing.set()
            await go_on.wait()

        env.cloud.on_host[env.host(2)] = {"prep_resize": prep_resize}
        handle = await env.start(ResizeServerWorkflow.run, resize_input(window=0.5), "resize")
        await asyncio.wait_for(preparing.wait(), 10)
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await handle.execute_update(ResizeServerWorkflow.confirm_resize,
                                        ResizeDecision(ctx=CTX))
        assert "Cannot 'confirmResize' instance srv-1 while it is in task_state resize_prep" \
            in str(info.value.cause)
        go_on.set()
        assert (await handle.result()).outcome == "confirmed"
    history = await handle.fetch_history()
    assert not [e for e in history.events if e.workflow_execution_update_accepted_event_attributes
                .protocol_instance_id]  # the refused update never entered history


async def test_a_failed_prep_resize_reschedules_and_a_failed_move_rolls_back(temporal):
    async with Env(temporal, hosts=4) as env:
        env.cloud.plan = plan(env.host(1))
        env.cloud.on_host[env.host(2)] = {"prep_resize": lambda _: (_ for _ in ()).throw(
            failed("no room", "ResizeFailed"))}
        env.cloud.on_host[env.host(3)] = {"finish_resize": lambda _: (_ for _ in ()).throw(
            failed("finish_resize on h3 failed: boom", "ResizeFailed"))}
        handle = await env.start(ResizeServerWorkflow.run, resize_input(), "resize")
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    assert isinstance(info.value.cause, ApplicationError)
    assert "finish_resize on h3" in info.value.cause.message
    # h2's claim was given back and h2 excluded; h3 was rolled back; the
    # server went back to the source.
    assert [r.dest_host for r in env.cloud.called("release_migration_claim")] == [env.host(2)]
    assert env.cloud.called("select_destinations")[1].ignore_hosts == [env.host(1), env.host(2)]
    assert env.cloud.called("revert_resize", env.host(3))
    assert env.cloud.called("finish_revert_resize", env.host(1))
    assert env.cloud.called("fail_migration")[0].host == env.host(1)
    assert not env.cloud.called("bind_ports")  # the ports never left the source


async def test_a_failed_port_binding_rolls_the_resize_back_and_rebinds_the_source(temporal):
    async with Env(temporal) as env:
        env.cloud.plan = plan(env.host(1))

        def bind(inp):
            if inp.host == env.host(2):
                raise failed("binding failed for host", "PortBindingFailed")
            return BindPortsResult(ports=["port-1"], changed=1)

        env.cloud.on["bind_ports"] = bind
        handle = await env.start(ResizeServerWorkflow.run, resize_input(), "resize")
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    assert info.value.cause.type == "PortBindingFailed"
    assert [b.host for b in env.cloud.called("bind_ports")] == [env.host(2), env.host(1)]
    assert env.cloud.called("revert_resize", env.host(2))
    assert env.cloud.called("finish_revert_resize", env.host(1))
    (fail,) = env.cloud.called("fail_migration")
    assert fail.host == env.host(1) and "binding failed" in fail.message
    assert ("bind_ports", "Error", env.host(2)) in [(e.event, e.result, e.host)
                                                   for e in fail.events]


async def test_resize_selects_again_after_a_lost_claim_race(temporal):
    async with Env(temporal) as env:
        env.cloud.plan = plan(env.host(1))
        env.cloud.lose_claim_races("claim_for_migration", 1)
        handle = await env.start(ResizeServerWorkflow.run, resize_input(window=0.5), "resize")
        result = await handle.result()
    assert result.outcome == "confirmed"
    assert len(env.cloud.called("select_destinations")) == 2
    assert not env.cloud.called("release_migration_claim")


async def test_live_migration_rolls_back_when_pre_live_migration_fails(temporal):
    async with Env(temporal) as env:
        env.cloud.plan = plan(env.host(1), kind="live-migration")
        env.cloud.on_host[env.host(2)] = {"pre_live_migration": lambda _: (_ for _ in ()).throw(
            failed("no bridge", "MigrationError"))}
        handle = await env.start(LiveMigrateServerWorkflow.run, live_input(), "live")
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    assert "pre_live_migration on" in info.value.cause.message
    assert env.cloud.called("rollback_live_migration_at_destination", env.host(2))
    assert not env.cloud.called("live_migration")
    failed_mig = env.cloud.called("fail_migration")[0]
    assert (failed_mig.host, failed_mig.vm_state) == (env.host(1), "active")
    assert not env.cloud.called("bind_ports")  # the roll-back keeps the source's binding


async def test_live_migration_tries_the_next_host_when_a_precheck_fails(temporal):
    async with Env(temporal) as env:
        env.cloud.plan = plan(env.host(1), kind="live-migration")
        env.cloud.on_host[env.host(2)] = {
            "check_can_live_migrate_destination": lambda _: (_ for _ in ()).throw(
                failed("cpu mismatch", "MigrationPreCheckError"))}
        result = await (await env.start(LiveMigrateServerWorkflow.run, live_input(),
                                        "live")).result()
    assert result.host == env.host(3)
    assert [r.dest_host for r in env.cloud.called("release_migration_claim")] == [env.host(2)]
    assert env.cloud.called("live_migration", env.host(1))[0].dest.host == env.host(3)
    # Bound to the destination once the guest runs there, before the source is cleaned.
    assert [b.host for b in env.cloud.called("bind_ports")] == [env.host(3)]
    names = env.cloud.names()
    assert names.index("post_live_migration_at_destination") < names.index("bind_ports") \
        < names.index("post_live_migration")


async def test_live_migration_selects_again_after_a_lost_claim_race(temporal):
    async with Env(temporal) as env:
        env.cloud.plan = plan(env.host(1), kind="live-migration")
        env.cloud.lose_claim_races("claim_for_migration", 1)
        result = await (await env.start(LiveMigrateServerWorkflow.run, live_input(),
                                        "live")).result()
    assert result.host == env.host(2)
    assert len(env.cloud.called("select_destinations")) == 2
    assert errors.CLAIM_CONFLICT  # the race was answered by selecting again, not a failure
