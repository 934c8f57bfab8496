"""Shelve, offload and unshelve against scripted activities: shelve with an
immediate offload (domain destroyed, ports unbound, allocation released),
the durable offload timer, a failing host step (the snapshot image
deleted), a delete cancelling the shelve, and unshelve onto a new host
(ports bound there before the spawn), past a failing host, with no valid
host (still offloaded, ports unbound)."""

from __future__ import annotations

import asyncio

import pytest
from fakes import IMAGE, TINY, Env, failed, heartbeat_until_cancelled, no_valid_host
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import CancelledError

from activities.types.catalog import PortInfo
from activities.types.context import OpContext
from activities.types.shelve import UnshelvePlan
from novaflow import errors
from novaflow.states import VmState
from workflows.common import OpTimeouts
from workflows.shelve import (
    SHELVE_FAILED,
    ShelveOffloadInput,
    ShelveOffloadWorkflow,
    ShelveServerInput,
    ShelveServerWorkflow,
    UnshelveServerInput,
    UnshelveServerWorkflow,
)

pytestmark = pytest.mark.asyncio

CTX = OpContext(server_id="srv-1", project_id="demo", user_id="demo")
TIMEOUTS = OpTimeouts(host_schedule_to_start_s=5.0, host_step_s=10.0, host_heartbeat_s=1.0)
PORT = PortInfo(id="port-1", network_id="net-1", network_name="private",
                ip_address="10.0.0.5", mac_address="fa:16:3e:00:00:01")


def _shelve(host: str, offload_after_s: float = 0.0) -> ShelveServerInput:
    return ShelveServerInput(ctx=CTX, host=host, image_id="img-shelved",
                             offload_after_s=offload_after_s, timeouts=TIMEOUTS)


def _offloaded_plan() -> UnshelvePlan:
    return UnshelvePlan(name="vm1", vm_state=VmState.SHELVED_OFFLOADED, host=None, flavor=TINY,
                        image=IMAGE, ports=[PORT], shelved_image_id="img-shelved")


def _names(env: Env, *which: str) -> list[str]:
    return [n for n in env.cloud.names() if n in which]


# -- shelve and offload ---------------------------------------------------------------


async def test_shelve_offloads_at_once_unbinding_the_ports(temporal):
    async with Env(temporal) as env:
        handle = await env.start(ShelveServerWorkflow.run, _shelve(env.host(1)), "shelve")
        assert await handle.result() == "offloaded"
    assert env.cloud.called("power_off", env.host(1))
    (copy,) = env.cloud.called("snapshot_domain", env.host(1))
    assert copy.image_id == "img-shelved"
    (shelved,) = env.cloud.called("finish_shelve")
    assert (shelved.uploaded, shelved.offload) == (True, True)
    assert env.cloud.called("destroy_domain", env.host(1))
    (unbind,) = env.cloud.called("bind_ports")
    assert unbind.host == ""  # Nova's binding:host_id None: the ports stay the server's
    (freed,) = env.cloud.called("release_claim")
    assert freed.consumer_id == "srv-1" and freed.host is None
    assert _names(env, "destroy_domain", "bind_ports", "release_claim", "finish_offload") == [
        "destroy_domain", "bind_ports", "release_claim", "finish_offload"]
    events = [(e.event, e.result) for e in env.cloud.called("finish_offload")[0].events]
    assert ("unbind_ports", "Success") in events
    assert ("compute_shelve_offload_instance", "Success") in events
    assert not env.cloud.called("fail_snapshot")


async def test_the_offload_timer_offloads_later_and_a_host_away_gets_a_pending_cleanup(
        temporal):
    async with Env(temporal, dead=(0,)) as env:  # host 1's worker is gone
        env.cloud.on_host[env.host(2)] = {}
        env.cloud.on["begin_offload"] = lambda inp: inp.ctx
        handle = await env.start(ShelveServerWorkflow.run, ShelveServerInput(
            ctx=CTX, host=env.host(2), image_id=None, offload_after_s=0.5,
            timeouts=TIMEOUTS), "shelve")
        assert await handle.result() == "offloaded"
        (shelved,) = env.cloud.called("finish_shelve")
        assert shelved.offload is False and shelved.image_id is None  # volume-backed
        assert not env.cloud.called("snapshot_domain")
        (taken,) = env.cloud.called("begin_offload")
        assert taken.shelve_workflow_id == handle.id

        # The admin's shelveOffload of a server whose host is away.
        off = await env.start(ShelveOffloadWorkflow.run, ShelveOffloadInput(
            ctx=CTX, host=env.host(1), timeouts=OpTimeouts(host_schedule_to_start_s=0.5,
                                                           host_step_s=2.0)), "offload")
        assert await off.result() == "offloaded"
    (pending,) = env.cloud.called("queue_host_cleanup")
    assert pending.host == env.host(1)
    assert [b.host for b in env.cloud.called("bind_ports")] == ["", ""]
    assert len(env.cloud.called("finish_offload")) == 2


async def test_the_offload_timer_stands_down_if_the_server_moved_on(temporal):
    async with Env(temporal) as env:
        env.cloud.on["begin_offload"] = lambda _: None  # unshelved or deleted meanwhile
        handle = await env.start(ShelveServerWorkflow.run, _shelve(env.host(1), 0.2),
                                 "shelve")
        assert await handle.result() == "shelved"
    assert not env.cloud.called("destroy_domain") and not env.cloud.called("bind_ports")
    assert not env.cloud.called("finish_offload")


async def test_a_failing_host_step_deletes_the_shelved_image(temporal):
    async with Env(temporal) as env:
        def broken(_):
            raise failed("disk read error")
        env.cloud.on_host[env.host(1)] = {"snapshot_domain": broken}
        handle = await env.start(ShelveServerWorkflow.run, _shelve(env.host(1)), "shelve")
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()
    assert err.value.cause.type == SHELVE_FAILED
    (fail,) = env.cloud.called("fail_snapshot")
    assert fail.image_id == "img-shelved" and "disk read error" in fail.message
    assert not env.cloud.called("finish_shelve") and not env.cloud.called("destroy_domain")
    assert not env.cloud.called("release_claim")


async def test_a_delete_cancels_the_shelve_and_the_image_goes(temporal):
    async with Env(temporal) as env:
        stopping = asyncio.Event()

        async def hang(_):
            stopping.set()
            await heartbeat_until_cancelled()

        env.cloud.on_host[env.host(1)] = {"power_off": hang}
        handle = await env.start(ShelveServerWorkflow.run, _shelve(env.host(1)), "shelve")
        await asyncio.wait_for(stopping.wait(), 10)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as err:
            await asyncio.wait_for(handle.result(), 10)
    assert isinstance(err.value.cause, CancelledError)
    (fail,) = env.cloud.called("fail_snapshot")
    assert fail.image_id == "img-shelved" and "deleted during the shelve" in fail.message
    assert not env.cloud.called("finish_shelve")


# -- unshelve -----------------------------------------------------------------------------


async def test_unshelve_binds_the_ports_to_the_new_host_before_the_spawn(temporal):
    async with Env(temporal) as env:
        env.cloud.on["get_unshelve_plan"] = lambda _: _offloaded_plan()
        handle = await env.start(UnshelveServerWorkflow.run, UnshelveServerInput(
            ctx=CTX, timeouts=TIMEOUTS), "unshelve")
        assert await handle.result() == env.host(1)
    assert _names(env, "claim_resources", "bind_ports", "spawn", "finish_unshelve") == [
        "claim_resources", "bind_ports", "spawn", "finish_unshelve"]
    assert [b.host for b in env.cloud.called("bind_ports")] == [env.host(1)]
    (spawn,) = env.cloud.called("spawn", env.host(1))
    assert spawn.image == IMAGE and [p.id for p in spawn.ports] == ["port-1"]
    (done,) = env.cloud.called("finish_unshelve")
    assert (done.host, done.node_uuid) == (env.host(1), f"node-{env.host(1)}")
    assert ("bind_ports", "Success", env.host(1)) in [(e.event, e.result, e.host)
                                                     for e in done.events]


async def test_a_shelved_server_is_powered_on_where_it_is(temporal):
    async with Env(temporal) as env:
        plan = _offloaded_plan()
        plan.vm_state, plan.host = VmState.SHELVED, env.host(3)
        env.cloud.on["get_unshelve_plan"] = lambda _: plan
        handle = await env.start(UnshelveServerWorkflow.run, UnshelveServerInput(
            ctx=CTX, timeouts=TIMEOUTS), "unshelve")
        assert await handle.result() == env.host(3)
    assert env.cloud.called("power_on", env.host(3))
    assert not env.cloud.called("claim_resources") and not env.cloud.called("bind_ports")


async def test_unshelve_past_a_failing_host_rebinds_to_the_next(temporal):
    async with Env(temporal) as env:
        env.cloud.on["get_unshelve_plan"] = lambda _: _offloaded_plan()

        def broken(_):
            raise failed("no space left")
        env.cloud.on_host[env.host(1)] = {"spawn": broken}
        handle = await env.start(UnshelveServerWorkflow.run, UnshelveServerInput(
            ctx=CTX, timeouts=TIMEOUTS), "unshelve")
        assert await handle.result() == env.host(2)
    assert [b.host for b in env.cloud.called("bind_ports")] == [env.host(1), env.host(2)]
    assert env.cloud.called("destroy_domain", env.host(1))
    (released,) = env.cloud.called("release_claim")
    assert (released.host, released.build_failed) == (env.host(1), True)
    assert not env.cloud.called("fail_unshelve")


async def test_unshelve_with_no_valid_host_stays_offloaded_with_its_ports_unbound(temporal):
    async with Env(temporal) as env:
        env.cloud.on["get_unshelve_plan"] = lambda _: _offloaded_plan()
        env.cloud.on["select_destinations"] = lambda _: (_ for _ in ()).throw(no_valid_host())
        handle = await env.start(UnshelveServerWorkflow.run, UnshelveServerInput(
            ctx=CTX, timeouts=TIMEOUTS), "unshelve")
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()
        assert err.value.cause.type == errors.NO_VALID_HOST
    (fail,) = env.cloud.called("fail_unshelve")
    assert "No valid host" in fail.message
    assert not env.cloud.called("bind_ports")  # never bound anywhere: nothing to undo
    assert not env.cloud.called("spawn") and not env.cloud.called("finish_unshelve")


async def test_unshelve_whose_hosts_all_fail_unbinds_the_ports_again(temporal):
    async with Env(temporal, hosts=2) as env:
        env.cloud.on["get_unshelve_plan"] = lambda _: _offloaded_plan()

        def broken(_):
            raise failed("no space left")
        for h in env.cloud.hosts:
            env.cloud.on_host[h] = {"spawn": broken}
        handle = await env.start(UnshelveServerWorkflow.run, UnshelveServerInput(
            ctx=CTX, max_attempts=2, timeouts=TIMEOUTS), "unshelve")
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()
        assert err.value.cause.type == errors.MAX_RETRIES_EXCEEDED
    assert [b.host for b in env.cloud.called("bind_ports")] == [env.host(1), env.host(2), ""]
    assert len(env.cloud.called("release_claim")) == 2  # each claim let go
    (fail,) = env.cloud.called("fail_unshelve")
    assert ("unbind_ports", "Success") in [(e.event, e.result) for e in fail.events]
