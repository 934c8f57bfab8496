"""AttachInterfaceWorkflow and DetachInterfaceWorkflow: a port hot-plugged
into a server's domain, or unplugged, through Neutron's ports API.

Ids ``attach_interface-<server uuid>-<action id>`` and
``detach_interface-<server uuid>-<action id>``.  The API has checked the
transitions table and taken task_state ``interface_attaching`` /
``interface_detaching`` (Nova's); it waits for the result, as Nova's API
waits for its compute's answer.

Attach: ``bind_port`` (the user's port bound to the server and its host, or
a new port on the network), ``attach_interface_device`` on the host,
``finish_interface_attach`` (Nova's record, the server's addresses,
task_state cleared).  A failure deletes the port novaflow made, or unbinds
the user's: nothing is left, the server as it was.

Detach: ``prepare_interface_detach``, ``detach_interface_device`` on the
host, ``finish_interface_detach`` (port deleted if novaflow made it, else
unbound; addresses updated).  A failed unplug leaves the port attached.
A delete cancels either; the delete frees the server's ports itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.hypervisor.interface_hotplug import HostInterfaceActivities
    from activities.interface_attach import InterfaceAttachActivities
    from activities.types.catalog import PortInfo
    from activities.types.context import OpContext
    from activities.types.interface_attach import (
        INTERFACE_ATTACH_FAILED,
        INTERFACE_DETACH_FAILED,
        BoundPort,
        FinishInterfaceInput,
        HostInterfaceInput,
        InterfaceRequest,
        PortStepInput,
    )

from workflows.common import OpTimeouts, control, failure_message, failure_type, on_host
from workflows.steps import StepTracking


@dataclass
class InterfaceInput:
    ctx: OpContext
    request: InterfaceRequest
    timeouts: OpTimeouts = field(default_factory=OpTimeouts)


@dataclass
class InterfaceResult:
    port: PortInfo


@workflow.defn(name="AttachInterfaceWorkflow")
class AttachInterfaceWorkflow(StepTracking):
    @workflow.run
    async def run(self, inp: InterfaceInput) -> InterfaceResult:
        ctx, bound = inp.ctx, None
        try:
            with self.steps.step("bind_port", quiet=True, where="bind the port in Neutron"):
                bound = await control(InterfaceAttachActivities.bind_port,
                                      PortStepInput(ctx=ctx, request=inp.request),
                                      summary="bind_port")
            host = bound.host
            with self.steps.step("compute_attach_interface", host=host,
                                 where=f"attach port {bound.port.id} on {host}") as step:
                await on_host(HostInterfaceActivities.attach_interface_device,
                              HostInterfaceInput(server_id=ctx.server_id, port=bound.port),
                              host, inp.timeouts, summary=step.summary)
                step.details = f"port {bound.port.id} ({bound.port.ip_address})"
        except ActivityError as exc:
            why = (f"Failed to attach network adapter device to {ctx.server_id}: "
                   f"{failure_message(exc)}")
            await control(InterfaceAttachActivities.finish_interface_attach,
                          FinishInterfaceInput(ctx=ctx, bound=bound, error=why,
                                               events=self.steps.take()),
                          summary="finish_interface_attach (failed)")
            raise ApplicationError(why, type=failure_type(exc) or INTERFACE_ATTACH_FAILED,
                                   non_retryable=True) from exc
        self.steps.at("finish_interface_attach")
        done: BoundPort = bound
        await control(InterfaceAttachActivities.finish_interface_attach, FinishInterfaceInput(
            ctx=ctx, bound=done, tag=inp.request.tag, events=self.steps.take()),
            summary="finish_interface_attach")
        self.steps.at("done")
        return InterfaceResult(port=done.port)


@workflow.defn(name="DetachInterfaceWorkflow")
class DetachInterfaceWorkflow(StepTracking):
    @workflow.run
    async def run(self, inp: InterfaceInput) -> None:
        ctx, bound = inp.ctx, None
        try:
            self.steps.at("prepare_interface_detach")
            bound = await control(InterfaceAttachActivities.prepare_interface_detach,
                                  PortStepInput(ctx=ctx, request=inp.request),
                                  summary="prepare_interface_detach")
            host = bound.host
            with self.steps.step("compute_detach_interface", host=host,
                                 where=f"detach port {bound.port.id} on {host}"):
                await on_host(HostInterfaceActivities.detach_interface_device,
                              HostInterfaceInput(server_id=ctx.server_id, port=bound.port),
                              host, inp.timeouts, summary=f"detach_interface on {host}")
        except ActivityError as exc:
            why = (f"Failed to detach network adapter device from {ctx.server_id}: "
                   f"{failure_message(exc)}")
            await control(InterfaceAttachActivities.finish_interface_detach,
                          FinishInterfaceInput(ctx=ctx, error=why, events=self.steps.take()),
                          summary="finish_interface_detach (failed)")
            raise ApplicationError(why, type=failure_type(exc) or INTERFACE_DETACH_FAILED,
                                   non_retryable=True) from exc
        self.steps.at("finish_interface_detach")
        await control(InterfaceAttachActivities.finish_interface_detach, FinishInterfaceInput(
            ctx=ctx, bound=bound, events=self.steps.take()), summary="finish_interface_detach")
        self.steps.at("done")
