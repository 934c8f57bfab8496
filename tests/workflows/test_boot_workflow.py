"""BootServerWorkflow against scripted activities: reschedules, clean-up on
terminal failure, cancellation by delete, and the claim-conflict path."""

from __future__ import annotations

import asyncio

import pytest
from fakes import Env, failed, hang_until_cancelled, no_valid_host
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError, CancelledError

from activities.types.context import OpContext
from novaflow import errors
from workflows.boot import BootServerInput, BootServerWorkflow
from workflows.common import OpTimeouts

pytestmark = pytest.mark.asyncio


def boot_input(env: Env, **timeouts: float) -> BootServerInput:
    return BootServerInput(
        ctx=OpContext(server_id="srv-1", project_id="demo", user_id="demo"), name="vm1",
        flavor_ref="1", image_ref="img-1", network_ids=["net-1"],
        timeouts=OpTimeouts(host_schedule_to_start_s=timeouts.get("pickup", 5.0),
                            host_step_s=10.0, build_timeout_s=timeouts.get("build", 60.0)))


async def failure_of(handle) -> ApplicationError:
    with pytest.raises(WorkflowFailureError) as info:
        await handle.result()
    assert isinstance(info.value.cause, ApplicationError)
    return info.value.cause


async def test_a_failed_spawn_reschedules_to_the_next_host(temporal):
    async with Env(temporal) as env:
        env.cloud.on_host[env.host(1)] = {"spawn": lambda _: (_ for _ in ()).throw(
            failed("spawn on h1 failed: disk full"))}
        result = await (await env.start(BootServerWorkflow.run, boot_input(env), "boot")).result()
    cloud = env.cloud
    assert (result.host, result.attempts, result.tried_hosts) == (env.host(2), 2, [env.host(1)])
    # The failed host was released (counted as a failed build), destroyed, and
    # excluded from the second selection.
    released = cloud.called("release_claim")
    assert [(r.host, r.build_failed) for r in released] == [(env.host(1), True)]
    assert cloud.called("destroy_domain", env.host(1))
    assert cloud.called("select_destinations")[1].ignore_hosts == [env.host(1)]
    active = cloud.called("mark_active")[0]
    assert active.host == env.host(2)
    assert ("spawn (attempt 1)", "Error") in [(e.event, e.result) for e in
                                              cloud.called("allocate_network")[1].events]
    # Each attempt binds the ports to its own host (the second rebinds them).
    assert [a.host for a in cloud.called("allocate_network")] == [env.host(1), env.host(2)]


async def test_a_host_that_never_picks_up_the_spawn_is_skipped(temporal):
    async with Env(temporal, dead=(0,)) as env:
        result = await (await env.start(BootServerWorkflow.run, boot_input(env, pickup=1.0),
                                        "boot")).result()
    assert (result.host, result.tried_hosts) == (env.host(2), [env.host(1)])
    # No destroy is sent to a host whose worker is gone: it is queued for
    # when the host reports again, in case a late spawn left a domain there.
    assert not env.cloud.called("destroy_domain")
    assert [q.host for q in env.cloud.called("queue_host_cleanup")] == [env.host(1)]
    assert env.cloud.called("release_claim")[0].host == env.host(1)


async def test_every_host_failing_ends_in_max_retries_and_cleans_up(temporal):
    async with Env(temporal) as env:
        for h in env.cloud.hosts:
            env.cloud.on_host[h] = {"spawn": lambda _: (_ for _ in ()).throw(failed("no"))}
        handle = await env.start(BootServerWorkflow.run, boot_input(env), "boot")
        error = await failure_of(handle)
    assert error.type == errors.MAX_RETRIES_EXCEEDED
    assert "Exceeded maximum number of retries" in error.message
    assert "attempt 3 on" in error.message
    fault = env.cloud.called("set_error")[0]
    assert fault.error_type == errors.MAX_RETRIES_EXCEEDED
    # Every claim and port let go: three per-host releases, then all of them.
    assert env.cloud.called("release_claim")[-1].host is None
    assert env.cloud.names()[-3:] == ["release_claim", "deallocate_network", "set_error"]


async def test_no_valid_host_fails_at_once_with_the_filters_verdict(temporal):
    async with Env(temporal) as env:
        env.cloud.on["select_destinations"] = lambda _: (_ for _ in ()).throw(
            no_valid_host("No valid host was found. RamFilter removed 3 hosts"))
        error = await failure_of(await env.start(BootServerWorkflow.run, boot_input(env),
                                                 "boot"))
    assert error.type == errors.NO_VALID_HOST
    assert "RamFilter removed 3" in env.cloud.called("set_error")[0].message
    assert not env.cloud.called("spawn")


async def test_a_lost_claim_race_selects_again_without_using_an_attempt(temporal):
    async with Env(temporal) as env:
        env.cloud.lose_claim_races("claim_resources", 2)
        result = await (await env.start(BootServerWorkflow.run, boot_input(env), "boot")).result()
    assert (result.attempts, result.host) == (1, env.host(1))
    assert len(env.cloud.called("select_destinations")) == 3
    assert not env.cloud.called("release_claim")


async def test_a_boot_cancelled_by_delete_undoes_its_work(temporal):
    async with Env(temporal) as env:
        spawning = asyncio.Event()

        async def hang(_):
            spawning.set()
            await hang_until_cancelled()

        env.cloud.on_host[env.host(1)] = {"spawn": hang}
        handle = await env.start(BootServerWorkflow.run, boot_input(env), "boot")
        await asyncio.wait_for(spawning.wait(), 10)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    assert isinstance(info.value.cause, CancelledError)
    names = env.cloud.names()
    assert names.index("destroy_domain") > names.index("spawn")
    assert env.cloud.called("release_claim")[-1].host is None
    assert "deallocate_network" in names[names.index("destroy_domain"):]
    assert not env.cloud.called("mark_active") and not env.cloud.called("set_error")
