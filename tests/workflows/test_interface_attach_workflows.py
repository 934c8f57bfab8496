"""AttachInterfaceWorkflow and DetachInterfaceWorkflow against scripted
activities: a port bound then hot-plugged; a failing hot-plug hands the
bound port to the clean-up (deleted if novaflow made it, unbound if the
user's); a refused bind has nothing to undo; a failed unplug leaves the
port attached; a delete cancels an attach at once."""

from __future__ import annotations

import asyncio

import pytest
from fakes import Env, failed, heartbeat_until_cancelled
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError, CancelledError

from activities.types.catalog import PortInfo
from activities.types.context import OpContext
from activities.types.interface_attach import (
    INTERFACE_ATTACH_FAILED,
    INTERFACE_DETACH_FAILED,
    PORT_IN_USE,
    BoundPort,
    InterfaceRequest,
)
from workflows.common import OpTimeouts
from workflows.interface_attach import (
    AttachInterfaceWorkflow,
    DetachInterfaceWorkflow,
    InterfaceInput,
)

pytestmark = pytest.mark.asyncio

CTX = OpContext(server_id="srv-1", project_id="demo", user_id="demo")
TIMEOUTS = OpTimeouts(host_schedule_to_start_s=5.0, host_step_s=10.0, host_heartbeat_s=1.0)
PORT = PortInfo(id="port-2", network_id="net-1", network_name="private",
                ip_address="10.0.0.9", mac_address="fa:16:3e:00:00:02")


def _env(temporal, created: bool = True) -> Env:
    env = Env(temporal, hosts=1)
    bound = lambda _: BoundPort(host=env.host(1), port=PORT, created=created)  # noqa: E731
    env.cloud.on["bind_port"] = bound
    env.cloud.on["prepare_interface_detach"] = bound
    return env


def _attach(**request) -> InterfaceInput:
    return InterfaceInput(ctx=CTX, request=InterfaceRequest(**request), timeouts=TIMEOUTS)


def _untyped(message: str):
    def broken(_):  # a host error of no particular type
        raise ApplicationError(message, non_retryable=True)
    return broken


async def test_attach_binds_then_plugs_the_port(temporal):
    async with _env(temporal) as env:
        handle = await env.start(AttachInterfaceWorkflow.run,
                                 _attach(network_id="net-1", tag="nic2"), "attach_interface")
        result = await handle.result()
    assert result.port == PORT
    assert env.cloud.called("bind_port")[0].request.network_id == "net-1"
    assert env.cloud.called("attach_interface_device", env.host(1))[0].port == PORT
    (done,) = env.cloud.called("finish_interface_attach")
    assert (done.bound.port.id, done.tag, done.error) == ("port-2", "nic2", None)
    assert [(e.event, e.result) for e in done.events] == [("compute_attach_interface",
                                                            "Success")]


@pytest.mark.parametrize("created", [True, False], ids=["novaflow's port", "the user's port"])
async def test_a_failing_hot_plug_hands_the_port_to_the_clean_up(temporal, created):
    async with _env(temporal, created=created) as env:
        env.cloud.on_host[env.host(1)] = {"attach_interface_device": _untyped("no PCI slot")}
        handle = await env.start(AttachInterfaceWorkflow.run, _attach(port_id="port-2"),
                                 "attach_interface")
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()
    assert err.value.cause.type == INTERFACE_ATTACH_FAILED
    (done,) = env.cloud.called("finish_interface_attach")
    # With an error and the bound port: deleted if made for the server, else unbound.
    assert (done.bound.port.id, done.bound.created) == ("port-2", created)
    assert done.error == "Failed to attach network adapter device to srv-1: no PCI slot"
    assert [(e.event, e.result) for e in done.events] == [("compute_attach_interface",
                                                            "Error")]


async def test_a_refused_bind_has_nothing_to_undo(temporal):
    async with _env(temporal) as env:
        env.cloud.on["bind_port"] = lambda _: (_ for _ in ()).throw(
            failed("Port port-2 is still in use.", PORT_IN_USE))
        handle = await env.start(AttachInterfaceWorkflow.run, _attach(port_id="port-2"),
                                 "attach_interface")
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()
    assert err.value.cause.type == PORT_IN_USE
    (done,) = env.cloud.called("finish_interface_attach")
    assert done.bound is None and "still in use" in done.error
    assert not env.cloud.called("attach_interface_device")


async def test_a_delete_cancels_the_attach(temporal):
    async with _env(temporal) as env:
        plugging = asyncio.Event()

        async def hang(_):
            plugging.set()
            await heartbeat_until_cancelled()

        env.cloud.on_host[env.host(1)] = {"attach_interface_device": hang}
        handle = await env.start(AttachInterfaceWorkflow.run, _attach(network_id="net-1"),
                                 "attach_interface")
        await asyncio.wait_for(plugging.wait(), 10)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as err:
            await asyncio.wait_for(handle.result(), 10)
    # The delete frees the server's ports itself.
    assert isinstance(err.value.cause, CancelledError)
    assert not env.cloud.called("finish_interface_attach")


async def test_detach_unplugs_then_frees_the_port(temporal):
    async with _env(temporal) as env:
        handle = await env.start(DetachInterfaceWorkflow.run, _attach(port_id="port-2"),
                                 "detach_interface")
        await handle.result()
    assert env.cloud.called("detach_interface_device", env.host(1))[0].port == PORT
    (done,) = env.cloud.called("finish_interface_detach")
    assert done.bound.port.id == "port-2" and done.error is None


async def test_a_failed_unplug_leaves_the_port_attached(temporal):
    async with _env(temporal) as env:
        env.cloud.on_host[env.host(1)] = {"detach_interface_device": _untyped("guest busy")}
        handle = await env.start(DetachInterfaceWorkflow.run, _attach(port_id="port-2"),
                                 "detach_interface")
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()
    assert err.value.cause.type == INTERFACE_DETACH_FAILED
    (done,) = env.cloud.called("finish_interface_detach")
    assert done.bound is None and "guest busy" in done.error  # nothing freed
