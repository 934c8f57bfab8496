"""/v2.1/servers/{id}/os-interface: a server's ports, attached and detached
while it runs (Nova's ``attach_interfaces.InterfaceAttachmentController``).

POST attaches the user's port (``port_id``), or a new port on ``net_id``
(with the address of ``fixed_ips``, if given), or, with neither, a new port
on the one network the project may use: AttachInterfaceWorkflow, started
through the one operation start and waited for, since Nova answers when its
compute has plugged the port (200 with the interface).  DELETE starts
DetachInterfaceWorkflow (202).  The list and show read the ports bound to
the server; ``tag`` is shown from 2.70.  The server's ``addresses`` follow.
"""

from __future__ import annotations

import asyncio
import ipaddress

from fastapi import APIRouter, Response
from sqlmodel import Session, select
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from activities.types.day2 import NOT_SUPPORTED
from activities.types.interface_attach import PORT_IN_USE, InterfaceRequest
from api.deps import AppHandles, Ctx, Handles, RequestContext
from api.errors import BadRequest, ComputeFault, Conflict, NotFound
from api.operations import Operation, check_transition, op_timeouts, start_operation
from api.routes.servers import get_instance
from api.schemas.common import check_versions
from api.schemas.interfaces import InterfaceAttachmentCreateRequest
from novaflow import errors
from schema.models import Instance, Network, Port, Subnet, VirtualInterface
from workflows.interface_attach import (
    AttachInterfaceWorkflow,
    DetachInterfaceWorkflow,
    InterfaceInput,
    InterfaceResult,
)

router = APIRouter(prefix="/v2.1/servers/{server_id}/os-interface", tags=["interfaces"])


def interface_view(ctx: RequestContext, p: Port, tag: str | None) -> dict:
    body = {"port_state": p.status, "port_id": p.id, "net_id": p.network_id,
            "mac_addr": p.mac_address,
            "fixed_ips": [{"subnet_id": p.subnet_id, "ip_address": p.ip_address}]}
    if ctx.version.at_least("2.70"):
        body["tag"] = tag
    return body


def _tags(s: Session, server_id: str) -> dict[str, str | None]:
    return {v.port_id: v.tag for v in s.exec(select(VirtualInterface).where(
        VirtualInterface.instance_uuid == server_id)).all()}


def _bound_port(s: Session, server_id: str, port_id: str) -> Port:
    p = s.get(Port, port_id)
    if p is None or p.device_id != server_id:
        raise NotFound(f"Instance {server_id} does not have a port with id {port_id}")
    return p


@router.get("")
async def list_interfaces(server_id: str, ctx: Ctx, h: Handles) -> dict:
    def read() -> list[dict]:
        with h.db.reader() as s:
            get_instance(s, ctx, server_id)
            tags = _tags(s, server_id)
            ports = s.exec(select(Port).where(Port.device_id == server_id)
                           .order_by(Port.created_at)).all()
            return [interface_view(ctx, p, tags.get(p.id)) for p in ports]
    return {"interfaceAttachments": await asyncio.to_thread(read)}


@router.get("/{port_id}")
async def show_interface(server_id: str, port_id: str, ctx: Ctx, h: Handles) -> dict:
    def read() -> dict:
        with h.db.reader() as s:
            get_instance(s, ctx, server_id)
            p = _bound_port(s, server_id, port_id)
            return interface_view(ctx, p, _tags(s, server_id).get(p.id))
    return {"interfaceAttachment": await asyncio.to_thread(read)}


def _check_request(s: Session, ctx: RequestContext, req: InterfaceRequest) -> None:
    """Nova's checks before it asks its compute: the port is the caller's and
    free, the network one the caller may use, the address on it."""
    if req.port_id:
        p = s.get(Port, req.port_id)
        if p is None or (p.project_id != ctx.project_id and not ctx.is_admin):
            raise NotFound(f"Port id {req.port_id} could not be found.")
        if p.device_id:
            raise Conflict(f"Port {req.port_id} is still in use.")
        return
    nets = [n for n in s.exec(select(Network).order_by(Network.created_at)).all()
            if n.shared or n.project_id == ctx.project_id or ctx.is_admin]
    if req.network_id is None:
        if len(nets) != 1:
            raise Conflict("Multiple possible networks found, use a Network ID to be more "
                           "specific.") if nets else BadRequest(
                "No network is available to attach the interface to.")
        req.network_id = nets[0].id
    if req.network_id not in {n.id for n in nets}:
        raise NotFound(f"Network {req.network_id} could not be found.")
    if req.ip_address:
        subnet = s.exec(select(Subnet).where(Subnet.network_id == req.network_id)).first()
        try:
            inside = subnet is not None and ipaddress.ip_address(req.ip_address) in \
                ipaddress.ip_network(subnet.cidr)
        except ValueError:
            inside = False
        if not inside:
            raise BadRequest(f"Invalid input received: IP address {req.ip_address} is not "
                             f"on network {req.network_id}")
        if s.exec(select(Port).where(Port.network_id == req.network_id,
                                     Port.ip_address == req.ip_address)).first():
            raise Conflict(f"Fixed IP address {req.ip_address} is already in use on "
                           "instance")


def _answer(exc: WorkflowFailureError, server_id: str) -> Exception:
    cause = exc.cause
    message = getattr(cause, "message", None) or str(cause)
    kind = cause.type if isinstance(cause, ApplicationError) else ""
    if kind == PORT_IN_USE:
        return Conflict(message)
    if kind == errors.NOT_FOUND:
        return NotFound(message)
    if kind in (errors.INVALID_REQUEST, NOT_SUPPORTED):  # Nova: AttachInterfaceNotSupported
        return BadRequest(message)
    return ComputeFault(f"Failed to attach network adapter device to {server_id}")


async def _start(h: AppHandles, ctx: RequestContext, inst: Instance, key: str, workflow,
                 req: InterfaceRequest) -> str:
    started = await start_operation(h, ctx, inst, Operation(
        key=key, workflow=workflow,
        workflow_id=lambda row, action_id: f"{key}-{row.uuid}-{action_id}",
        make_input=lambda op_ctx, _started: InterfaceInput(ctx=op_ctx, request=req,
                                                           timeouts=op_timeouts(h)),
        summary=f"{key} {req.port_id or req.network_id} on {inst.display_name} ({inst.host})",
        details=f"server {inst.uuid}, port {req.port_id}, network {req.network_id}"))
    return started.workflow_id


@router.post("")
async def attach_interface(server_id: str, payload: InterfaceAttachmentCreateRequest,
                           ctx: Ctx, h: Handles) -> dict:
    check_versions(payload, ctx.version)
    body = payload.interfaceAttachment
    req = InterfaceRequest(port_id=body.port_id if body else None,
                           network_id=body.net_id if body else None,
                           ip_address=body.fixed_ips[0].ip_address
                           if body and body.fixed_ips else None,
                           tag=body.tag if body else None)
    if req.port_id and req.network_id:
        raise BadRequest("Must not input both network_id and port_id")
    if req.ip_address and not req.network_id:
        raise BadRequest("Must input network_id when request IP address")

    def check() -> Instance:
        with h.db.reader() as s:
            inst = get_instance(s, ctx, server_id)
            check_transition("attach_interface", inst, ctx)
            _check_request(s, ctx, req)
            return inst

    inst = await asyncio.to_thread(check)
    workflow_id = await _start(h, ctx, inst, "attach_interface", AttachInterfaceWorkflow.run,
                               req)
    handle = h.temporal.get_workflow_handle(workflow_id, result_type=InterfaceResult)
    try:
        result = await asyncio.wait_for(handle.result(), op_timeouts(h).host_step_s + 30)
    except WorkflowFailureError as exc:
        raise _answer(exc, server_id) from exc
    except TimeoutError as exc:
        raise ComputeFault(f"Failed to attach network adapter device to {server_id}") from exc

    def shown() -> dict:
        with h.db.reader() as s:
            p = s.get(Port, result.port.id)
            if p is None:  # detached or deleted meanwhile
                raise NotFound(f"Port id {result.port.id} could not be found.")
            return interface_view(ctx, p, req.tag)
    return {"interfaceAttachment": await asyncio.to_thread(shown)}


@router.delete("/{port_id}", status_code=202)
async def detach_interface(server_id: str, port_id: str, ctx: Ctx, h: Handles) -> Response:
    def check() -> Instance:
        with h.db.reader() as s:
            inst = get_instance(s, ctx, server_id)
            check_transition("detach_interface", inst, ctx)
            _bound_port(s, server_id, port_id)
            return inst

    inst = await asyncio.to_thread(check)
    await _start(h, ctx, inst, "detach_interface", DetachInterfaceWorkflow.run,
                 InterfaceRequest(port_id=port_id))
    return Response(status_code=202)
