"""GuestActionWorkflow (trigger_crash_dump): the host step is recorded as
Nova's event and the action finished; a refusal finishes the action with
the reason and fails the workflow with the type the API maps to 400/409."""

from __future__ import annotations

import pytest
from fakes import Env, failed
from temporalio.client import WorkflowFailureError

from activities.types.context import OpContext
from activities.types.day2 import NOT_SUPPORTED
from workflows.common import OpTimeouts
from workflows.guest_action import GuestActionWorkflow, GuestActionWorkflowInput

pytestmark = pytest.mark.asyncio

CTX = OpContext(server_id="srv-1", project_id="demo", user_id="demo", action_id=7)
TIMEOUTS = OpTimeouts(host_schedule_to_start_s=5.0, host_step_s=10.0)


async def test_crash_dump_runs_on_the_servers_host_and_finishes(temporal):
    async with Env(temporal) as env:
        handle = await env.start(GuestActionWorkflow.run, GuestActionWorkflowInput(
            ctx=CTX, key="trigger_crash_dump", host=env.host(2), timeouts=TIMEOUTS), "dump")
        await handle.result()
    assert [a.server_id for a in env.cloud.called("trigger_crash_dump", env.host(2))] == [
        "srv-1"]
    (done,) = env.cloud.called("finish_guest_action")
    assert done.error is None
    assert [(e.event, e.result, e.host) for e in done.events] == [
        ("compute_trigger_crash_dump", "Success", env.host(2))]


async def test_a_driver_refusal_fails_with_its_type_and_records_why(temporal):
    async with Env(temporal) as env:
        env.cloud.on_host[env.host(1)] = {"trigger_crash_dump": lambda _: (_ for _ in ()).throw(
            failed("cannot inject an NMI", NOT_SUPPORTED))}
        handle = await env.start(GuestActionWorkflow.run, GuestActionWorkflowInput(
            ctx=CTX, key="trigger_crash_dump", host=env.host(1), timeouts=TIMEOUTS), "dump")
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()
    assert err.value.cause.type == NOT_SUPPORTED
    (done,) = env.cloud.called("finish_guest_action")
    assert "cannot inject an NMI" in done.error
    assert [(e.event, e.result) for e in done.events] == [("compute_trigger_crash_dump", "Error")]


async def test_a_dead_host_times_out_and_the_action_says_so(temporal):
    async with Env(temporal, dead=(0,)) as env:
        handle = await env.start(GuestActionWorkflow.run, GuestActionWorkflowInput(
            ctx=CTX, key="trigger_crash_dump", host=env.host(1),
            timeouts=OpTimeouts(host_schedule_to_start_s=1.0, host_step_s=5.0)), "dump")
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    (done,) = env.cloud.called("finish_guest_action")
    assert "timed out" in done.error
