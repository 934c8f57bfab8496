"""EvacuateServerWorkflow against scripted activities: rebuilt on another
host with its ports bound there first, past a failing host (its domain
destroyed, its claim released), no host left (ERROR on the source, ports
bound back there, the migration failed), and a delete that cancels it."""

from __future__ import annotations

import asyncio

import pytest
from fakes import Env, failed, hang_until_cancelled, plan
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import CancelledError

from activities.types.context import OpContext
from novaflow import errors
from novaflow.states import PowerState, VmState
from workflows.common import OpTimeouts
from workflows.evacuate import EvacuateServerInput, EvacuateServerWorkflow

pytestmark = pytest.mark.asyncio

CTX = OpContext(server_id="srv-1", project_id="demo", user_id="admin")
TIMEOUTS = OpTimeouts(host_schedule_to_start_s=5.0, host_step_s=10.0)


def _input(**kw) -> EvacuateServerInput:
    return EvacuateServerInput(ctx=CTX, migration_id="mig-1", timeouts=TIMEOUTS, **kw)


def _names(env: Env, *which: str) -> list[str]:
    return [n for n in env.cloud.names() if n in which]


async def test_evacuate_rebuilds_elsewhere_with_the_ports_bound_there(temporal):
    async with Env(temporal, dead=(0,)) as env:  # the source host is down
        env.cloud.plan = plan(env.host(1), kind="evacuation")
        handle = await env.start(EvacuateServerWorkflow.run, _input(), "evacuate")
        assert await handle.result() == env.host(2)
    (select,) = env.cloud.called("select_destinations")
    assert env.host(1) in select.ignore_hosts  # never back onto the source
    assert _names(env, "claim_for_migration", "bind_ports", "spawn", "finish_evacuation") == [
        "claim_for_migration", "bind_ports", "spawn", "finish_evacuation"]
    assert [b.host for b in env.cloud.called("bind_ports")] == [env.host(2)]
    (done,) = env.cloud.called("finish_evacuation")
    assert (done.host, done.power_state) == (env.host(2), 1)
    assert [(e.event, e.host) for e in done.events if e.result == "Success"][-2:] == [
        ("bind_ports", env.host(2)), ("compute_rebuild_instance", env.host(2))]
    assert not env.cloud.called("fail_migration")


async def test_a_stopped_server_is_left_stopped(temporal):
    async with Env(temporal) as env:
        env.cloud.plan = plan(env.host(1), kind="evacuation", vm_state=VmState.STOPPED)
        handle = await env.start(EvacuateServerWorkflow.run, _input(host=env.host(3)),
                                 "evacuate")
        host = await handle.result()
    assert env.cloud.called("select_destinations")[0].requested_host == env.host(3)
    assert env.cloud.called("power_off", host)
    assert env.cloud.called("finish_evacuation")[0].power_state == PowerState.SHUTDOWN


async def test_a_failing_host_is_cleaned_and_the_next_one_rebinds(temporal):
    async with Env(temporal) as env:
        env.cloud.plan = plan(env.host(1), kind="evacuation")

        def broken(_):
            raise failed("no space left")
        env.cloud.on_host[env.host(2)] = {"spawn": broken}
        handle = await env.start(EvacuateServerWorkflow.run, _input(), "evacuate")
        assert await handle.result() == env.host(3)
    assert [b.host for b in env.cloud.called("bind_ports")] == [env.host(2), env.host(3)]
    assert env.cloud.called("destroy_domain", env.host(2))
    (released,) = env.cloud.called("release_migration_claim")
    assert released.dest_host == env.host(2)
    assert env.cloud.called("finish_evacuation")[0].host == env.host(3)


async def test_no_host_left_fails_on_the_source_with_the_ports_bound_back(temporal):
    async with Env(temporal, hosts=2) as env:
        env.cloud.plan = plan(env.host(1), kind="evacuation")

        def broken(_):
            raise failed("no space left")
        env.cloud.on_host[env.host(2)] = {"spawn": broken}
        handle = await env.start(EvacuateServerWorkflow.run, _input(max_attempts=1),
                                 "evacuate")
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()
    assert err.value.cause.type == errors.MAX_RETRIES_EXCEEDED
    assert [b.host for b in env.cloud.called("bind_ports")] == [env.host(2), env.host(1)]
    assert env.cloud.called("release_migration_claim")[0].dest_host == env.host(2)
    (fail,) = env.cloud.called("fail_migration")
    assert fail.vm_state == VmState.ERROR and "no space left" in fail.message
    assert not env.cloud.called("finish_evacuation")


async def test_a_delete_cancels_the_evacuation(temporal):
    async with Env(temporal) as env:
        env.cloud.plan = plan(env.host(1), kind="evacuation")
        spawning = asyncio.Event()

        async def hang(_):
            spawning.set()
            await hang_until_cancelled()

        env.cloud.on_host[env.host(2)] = {"spawn": hang}
        handle = await env.start(EvacuateServerWorkflow.run, _input(), "evacuate")
        await asyncio.wait_for(spawning.wait(), 10)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as err:
            await asyncio.wait_for(handle.result(), 10)
    # The delete cleans every host the migration touched; the evacuation just stops.
    assert isinstance(err.value.cause, CancelledError)
    assert not env.cloud.called("finish_evacuation") and not env.cloud.called("fail_migration")
