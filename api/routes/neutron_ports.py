"""The Neutron stand-in's port writes (v2.0, Neutron's shapes): create, update
(bind to a device and host, or unbind), delete.  Reads are in catalog.py.

A port takes the first free address of its network's IPv4 subnet, or the
``fixed_ips`` address asked for (Neutron's 409 IpAddressAlreadyAllocated
when taken); the unique (subnet, address) constraint settles races.  An
admin (Nova's service user) may create a port in another project
(``project_id``/``tenant_id``).  A bound port (``device_id`` set) is ACTIVE.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest, Conflict, NotFound
from api.routes.catalog import _network_visible, port_view
from schema.models import Network, Port, Subnet

router = APIRouter(tags=["catalog"])

_AnyBody = Annotated[Any, Body()]


def _mac() -> str:
    return "fa:16:3e:" + ":".join(f"{random.randrange(256):02x}" for _ in range(3))


_STRINGS = ("network_id", "project_id", "tenant_id", "device_id", "device_owner",
            "mac_address", "name", "binding:host_id")


def _inner(body: Any) -> dict:
    if not isinstance(body, dict) or not isinstance(body.get("port"), dict):
        raise BadRequest("Resource body required")
    inner = body["port"]
    for key in _STRINGS:
        value = inner.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise BadRequest(f"Invalid input for {key}. Reason: '{value!s:.50}' is not a "
                             "valid string.")
    return inner


def _port(s, ctx: RequestContext, port_id: str) -> Port:
    p = s.get(Port, port_id)
    if p is None or (p.project_id != ctx.project_id and not ctx.is_admin):
        raise NotFound(f"Port {port_id} could not be found.")
    return p


def _wanted_address(inner: dict, subnet: Subnet) -> str | None:
    fixed = inner.get("fixed_ips")
    if fixed is None:
        return None
    if not isinstance(fixed, list) or len(fixed) > 1 or not all(
            isinstance(f, dict) for f in fixed):
        raise BadRequest("Invalid input for fixed_ips: one {subnet_id, ip_address} at most")
    if not fixed:
        return None
    if not all(isinstance(v, str) for v in fixed[0].values()):
        raise BadRequest("Invalid input for fixed_ips: subnet_id and ip_address are strings")
    if fixed[0].get("subnet_id") not in (None, subnet.id):
        raise BadRequest(f"Invalid input for operation: subnet {fixed[0]['subnet_id']} is "
                         "not on the port's network.")
    ip = fixed[0].get("ip_address")
    if ip is None:
        return None
    try:
        if ipaddress.ip_address(ip) not in ipaddress.ip_network(subnet.cidr):
            raise ValueError
    except ValueError:
        raise BadRequest(f"Invalid input for operation: IP address {ip!s:.50} is not a "
                         f"valid IP for the specified subnet.") from None
    return str(ip)


@router.post("/networking/v2.0/ports", status_code=201)
async def create_port(body: _AnyBody, ctx: Ctx, h: Handles) -> dict:
    inner = _inner(body)
    net_id = inner.get("network_id")
    project = inner.get("project_id") or inner.get("tenant_id") or ctx.project_id
    if project != ctx.project_id and not ctx.is_admin:
        raise NotFound(f"Network {net_id} could not be found.")  # Neutron hides it so
    for _ in range(20):
        with h.db.writer() as s:
            net = s.get(Network, net_id) if isinstance(net_id, str) else None
            if net is None or not _network_visible(ctx, net):
                raise NotFound(f"Network {net_id} could not be found.")
            subnet = s.exec(select(Subnet).where(Subnet.network_id == net.id,
                                                 Subnet.ip_version == 4)).first()
            if subnet is None:
                raise BadRequest(f"Network {net.id} has no IPv4 subnet")
            wanted = _wanted_address(inner, subnet)
            used = set(s.exec(select(Port.ip_address).where(Port.subnet_id == subnet.id)))
            if wanted is not None and wanted in used:
                raise Conflict(f"IP address {wanted} already allocated in subnet {subnet.id}")
            ip = wanted or next((str(a) for a in ipaddress.ip_network(subnet.cidr).hosts()
                                 if str(a) not in used and str(a) != subnet.gateway_ip), None)
            if ip is None:
                raise Conflict(f"No more IP addresses available on network {net.id}.")
            device = inner.get("device_id") or None
            port = Port(network_id=net.id, subnet_id=subnet.id, ip_address=ip,
                        mac_address=inner.get("mac_address") or _mac(), device_id=device,
                        device_owner=inner.get("device_owner") or "",
                        project_id=project, status="ACTIVE" if device else "DOWN")
            s.add(port)
            try:
                s.flush()
            except IntegrityError:
                s.rollback()
                continue
            return {"port": port_view(port)}
    raise Conflict("Could not allocate an address: too many concurrent requests")


@router.put("/networking/v2.0/ports/{port_id}")
async def update_port(port_id: str, body: _AnyBody, ctx: Ctx, h: Handles) -> dict:
    """Bind (``device_id``, ``device_owner``, ``binding:host_id``) or unbind (empty)."""
    inner = _inner(body)
    with h.db.writer() as s:
        port = _port(s, ctx, port_id)
        if "device_id" in inner:
            port.device_id = inner["device_id"] or None
            port.status = "ACTIVE" if port.device_id else "DOWN"
        if "device_owner" in inner:
            port.device_owner = inner["device_owner"] or ""
        s.add(port)
        return {"port": port_view(port)}


@router.delete("/networking/v2.0/ports/{port_id}", status_code=204)
async def delete_port(port_id: str, ctx: Ctx, h: Handles) -> Response:
    with h.db.writer() as s:
        s.delete(_port(s, ctx, port_id))
    return Response(status_code=204)
