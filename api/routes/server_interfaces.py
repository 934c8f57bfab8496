"""/v2.1/servers/{id}/os-interface: a server's ports, attached and detached
while it runs (Nova's ``attach_interfaces.InterfaceAttachmentController``).

POST attaches the user's port (``port_id``), or a new port on ``net_id``
(with the address of ``fixed_ips``, if given), or, with neither, a new port
on the one network the project may use: AttachInterfaceWorkflow, started
through the one operation start and waited for, since Nova answers when its
compute has plugged the port (200 with the interface).  DELETE starts
DetachInterfaceWorkflow (202).  The list and show read the ports bound to
the server; ``tag`` is shown from 2.70.  Ports and networks are read from the
network service through openstacksdk as the caller, as Nova's neutron API
does with the request's context, never from the stand-in's tables.  The
server's ``addresses`` follow.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import openstack.exceptions
from fastapi import APIRouter, Response
from sqlmodel import select
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from activities.types.day2 import NOT_SUPPORTED
from activities.types.interface_attach import PORT_IN_USE, InterfaceRequest
from api import cloud_proxy
from api.deps import AppHandles, Ctx, Handles, RequestContext
from api.errors import BadRequest, ComputeFault, Conflict, NotFound
from api.operations import Operation, check_transition, op_timeouts, start_operation
from api.routes.servers import get_instance
from api.schemas.common import check_versions
from api.schemas.interfaces import InterfaceAttachmentCreateRequest
from novaflow import errors
from schema.models import Instance, VirtualInterface
from workflows.interface_attach import (
    AttachInterfaceWorkflow,
    DetachInterfaceWorkflow,
    InterfaceInput,
    InterfaceResult,
)

router = APIRouter(prefix="/v2.1/servers/{server_id}/os-interface", tags=["interfaces"])


def interface_view(ctx: RequestContext, p: Any, tag: str | None) -> dict:
    """One port (an openstacksdk Port, as Neutron shows it) as Nova's interface."""
    body = {"port_state": p.status, "port_id": p.id, "net_id": p.network_id,
            "mac_addr": p.mac_address,
            "fixed_ips": [{"subnet_id": f.get("subnet_id"), "ip_address": f.get("ip_address")}
                          for f in p.fixed_ips or []]}
    if ctx.version.at_least("2.70"):
        body["tag"] = tag
    return body


def _tags(h: AppHandles, server_id: str) -> dict[str, str | None]:
    with h.db.reader() as s:
        return {v.port_id: v.tag for v in s.exec(select(VirtualInterface).where(
            VirtualInterface.instance_uuid == server_id)).all()}


def _server(h: AppHandles, ctx: RequestContext, server_id: str) -> Instance:
    with h.db.reader() as s:
        return get_instance(s, ctx, server_id)


async def _server_ports(h: AppHandles, ctx: RequestContext, server_id: str) -> list[Any]:
    """The server's ports, from the network service as the caller sees them."""
    ports = await cloud_proxy.call(
        h, ctx, lambda conn: list(cloud_proxy.network(conn).ports(device_id=server_id)))
    return sorted(ports, key=lambda p: (p.created_at or "", p.id))


async def _bound_port(h: AppHandles, ctx: RequestContext, server_id: str,
                      port_id: str) -> Any:
    missing = f"Instance {server_id} does not have a port with id {port_id}"
    try:
        p = await cloud_proxy.call(h, ctx, lambda conn: cloud_proxy.network(conn).get_port(
            port_id), not_found=missing)
    except BadRequest:  # not a port id at all
        raise NotFound(missing) from None
    if p.device_id != server_id:
        raise NotFound(missing)
    return p


@router.get("")
async def list_interfaces(server_id: str, ctx: Ctx, h: Handles) -> dict:
    await asyncio.to_thread(_server, h, ctx, server_id)
    ports = await _server_ports(h, ctx, server_id)
    tags = await asyncio.to_thread(_tags, h, server_id)
    return {"interfaceAttachments": [interface_view(ctx, p, tags.get(p.id)) for p in ports]}


@router.get("/{port_id}")
async def show_interface(server_id: str, port_id: str, ctx: Ctx, h: Handles) -> dict:
    await asyncio.to_thread(_server, h, ctx, server_id)
    p = await _bound_port(h, ctx, server_id, port_id)
    tags = await asyncio.to_thread(_tags, h, server_id)
    return {"interfaceAttachment": interface_view(ctx, p, tags.get(p.id))}


def _check_request(conn: Any, ctx: RequestContext, req: InterfaceRequest) -> None:
    """Nova's checks before it asks its compute, through the network service
    as the caller: the port is the caller's and free, the network one the
    caller may use, the address on it."""
    net = cloud_proxy.network(conn)
    if req.port_id:
        try:
            p = net.get_port(req.port_id)
        except (openstack.exceptions.NotFoundException,
                openstack.exceptions.BadRequestException):
            p = None
        if p is None:
            raise NotFound(f"Port id {req.port_id} could not be found.")
        if p.device_id:
            raise Conflict(f"Port {req.port_id} is still in use.")
        return
    nets = sorted(net.networks(), key=lambda n: (n.created_at or "", n.id))
    if req.network_id is None:
        if len(nets) != 1:
            raise Conflict("Multiple possible networks found, use a Network ID to be more "
                           "specific.") if nets else BadRequest(
                "No network is available to attach the interface to.")
        req.network_id = nets[0].id
    if req.network_id not in {n.id for n in nets}:
        raise NotFound(f"Network {req.network_id} could not be found.")
    if req.ip_address:
        subnets = list(net.subnets(network_id=req.network_id))
        try:
            inside = any(ipaddress.ip_address(req.ip_address) in
                         ipaddress.ip_network(sub.cidr) for sub in subnets)
        except ValueError:
            inside = False
        if not inside:
            raise BadRequest(f"Invalid input received: IP address {req.ip_address} is not "
                             f"on network {req.network_id}")
        taken = any(f.get("ip_address") == req.ip_address
                    for p in net.ports(network_id=req.network_id) for f in p.fixed_ips or [])
        if taken:
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

    inst = await asyncio.to_thread(_server, h, ctx, server_id)
    check_transition("attach_interface", inst, ctx)
    await cloud_proxy.call(h, ctx, lambda conn: _check_request(conn, ctx, req))
    workflow_id = await _start(h, ctx, inst, "attach_interface", AttachInterfaceWorkflow.run,
                               req)
    handle = h.temporal.get_workflow_handle(workflow_id, result_type=InterfaceResult)
    try:
        result = await asyncio.wait_for(handle.result(), op_timeouts(h).host_step_s + 30)
    except WorkflowFailureError as exc:
        raise _answer(exc, server_id) from exc
    except TimeoutError as exc:
        raise ComputeFault(f"Failed to attach network adapter device to {server_id}") from exc

    gone = f"Port id {result.port.id} could not be found."  # detached or deleted meanwhile
    p = await cloud_proxy.call(h, ctx, lambda conn: cloud_proxy.network(conn).get_port(
        result.port.id), not_found=gone)
    return {"interfaceAttachment": interface_view(ctx, p, req.tag)}


@router.delete("/{port_id}", status_code=202)
async def detach_interface(server_id: str, port_id: str, ctx: Ctx, h: Handles) -> Response:
    inst = await asyncio.to_thread(_server, h, ctx, server_id)
    check_transition("detach_interface", inst, ctx)
    await _bound_port(h, ctx, server_id, port_id)
    await _start(h, ctx, inst, "detach_interface", DetachInterfaceWorkflow.run,
                 InterfaceRequest(port_id=port_id))
    return Response(status_code=202)
