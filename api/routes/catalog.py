"""The Neutron stand-in: the local network catalog in Neutron v2.0's shapes,
so clients of the embedded stack (openstacksdk, the ``openstack`` CLI)
discover the network service and find ids by name.  (Images are a real
Glance's, found through Keystone's catalog.)

Members read what they may see (shared networks, their own ports); admins
may create and delete networks and subnets.  Ports carry security groups
(api/routes/neutron_security_groups.py): a port made without any gets its
project's ``default`` group, as in Neutron.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import delete as sql_delete
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest, Conflict, NotFound
from api.routes.neutron_security_groups import (
    check_port_groups,
    ensure_default_group,
    port_groups,
    set_port_groups,
)
from api.schemas.catalog import (
    NetworkCreateRequest,
    NeutronListQuery,
    PortCreateRequest,
    PortUpdateRequest,
    SubnetCreateRequest,
)
from api.views import isotime
from novaflow import logs
from schema.models import Network, Port, PortSecurityGroup, Subnet

log = logs.get_logger("novaflow.neutron")
router = APIRouter(tags=["catalog"])


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


# -- Neutron v2.0 -------------------------------------------------------------

@router.get("/networking")
@router.get("/networking/")
async def network_versions(request: Request) -> dict:
    return {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
        {"rel": "self", "href": f"{_base(request)}/networking/v2.0/"}]}]}


@router.get("/networking/v2.0")
@router.get("/networking/v2.0/")
async def network_resources(request: Request) -> dict:
    base = f"{_base(request)}/networking/v2.0"
    return {"resources": [
        {"name": n, "collection": f"{n}s", "links": [{"rel": "self", "href": f"{base}/{n}s"}]}
        for n in ("network", "subnet", "port", "security-group", "security-group-rule")]}


@router.get("/networking/v2.0/extensions")
async def network_extensions(ctx: Ctx) -> dict:
    return {"extensions": []}


def network_view(net: Network, subnet_ids: list[str]) -> dict:
    return {
        "id": net.id, "name": net.name, "status": net.status, "subnets": subnet_ids,
        "admin_state_up": net.admin_state_up, "shared": net.shared,
        "tenant_id": net.project_id, "project_id": net.project_id, "mtu": net.mtu,
        "router:external": False, "availability_zones": ["nova"], "description": "",
        "created_at": isotime(net.created_at), "updated_at": isotime(net.updated_at),
        "tags": [], "revision_number": 1, "port_security_enabled": True,
        "ipv4_address_scope": None, "ipv6_address_scope": None,
    }


def _network_visible(ctx: RequestContext, net: Network) -> bool:
    return net.shared or net.project_id == ctx.project_id or ctx.is_admin


def _visible_networks(ctx: RequestContext, h, network_id: str | None = None) -> list[dict]:
    """The networks the caller sees (only ``network_id``, if given), read in
    the database rather than all of them filtered here."""
    with h.db.reader() as s:
        nets_q, subnets_q = select(Network), select(Subnet)
        if network_id is not None:
            nets_q = nets_q.where(Network.id == network_id)
            subnets_q = subnets_q.where(Subnet.network_id == network_id)
        nets = s.exec(nets_q.order_by(Network.created_at)).all()
        subnets = s.exec(subnets_q.order_by(Subnet.created_at)).all()
    by_net: dict[str, list[str]] = {}
    for sn in subnets:
        by_net.setdefault(sn.network_id, []).append(sn.id)
    return [network_view(n, by_net.get(n.id, [])) for n in nets if _network_visible(ctx, n)]


def _filtered(items: list[dict], request: Request, keys: tuple[str, ...]) -> list[dict]:
    q = request.query_params
    for key in keys:
        if key in q:
            wanted = q.getlist(key)
            items = [i for i in items if str(i.get(key)).lower() in
                     {w.lower() for w in wanted} or str(i.get(key)) in wanted]
    return items


@router.get("/networking/v2.0/networks")
async def list_networks(request: Request, ctx: Ctx, h: Handles,
                        _query: Annotated[NeutronListQuery, Query()]) -> dict:
    nets = await asyncio.to_thread(_visible_networks, ctx, h)
    return {"networks": _filtered(nets, request, ("name", "id", "shared", "project_id",
                                                  "tenant_id", "status"))}


@router.get("/networking/v2.0/networks/{network_id}")
async def show_network(network_id: str, ctx: Ctx, h: Handles) -> dict:
    for net in await asyncio.to_thread(_visible_networks, ctx, h, network_id):
        return {"network": net}
    raise NotFound(f"Network {network_id} could not be found.")


@router.post("/networking/v2.0/networks", status_code=201)
async def create_network(payload: NetworkCreateRequest, ctx: Ctx, h: Handles) -> dict:
    ctx.require_admin("create_network")
    body = payload.as_dict()["network"]
    try:
        net = Network(name=str(body.get("name", "")), shared=bool(body.get("shared", False)),
                      admin_state_up=bool(body.get("admin_state_up", True)),
                      mtu=int(body.get("mtu", 1500)),
                      project_id=str(body.get("project_id") or body.get("tenant_id")
                                     or ctx.project_id))
    except (TypeError, ValueError):
        raise BadRequest("Invalid input for mtu: it must be an integer") from None
    with h.db.writer() as s:
        s.add(net)
    return {"network": network_view(net, [])}


@router.delete("/networking/v2.0/networks/{network_id}", status_code=204)
async def delete_network(network_id: str, ctx: Ctx, h: Handles) -> Response:
    ctx.require_admin("delete_network")
    with h.db.writer() as s:
        net = s.get(Network, network_id)
        if net is None:
            raise NotFound(f"Network {network_id} could not be found.")
        if s.exec(select(Port).where(Port.network_id == network_id)).first() is not None:
            raise Conflict(f"Unable to complete operation on network {network_id}. There are "
                           "one or more ports still in use on the network.")
        s.execute(sql_delete(Subnet).where(Subnet.network_id == network_id))
        s.delete(net)
    return Response(status_code=204)


def subnet_view(sn: Subnet, project_id: str) -> dict:
    cidr = ipaddress.ip_network(sn.cidr, strict=False)
    # Neutron's default pool: every host address but the gateway's.
    first = cidr[2] if sn.gateway_ip == str(cidr[1]) else cidr[1]
    hosts = [str(first), str(cidr[-2])] if cidr.num_addresses > 3 else []
    return {
        "id": sn.id, "name": sn.name, "network_id": sn.network_id, "cidr": sn.cidr,
        "gateway_ip": sn.gateway_ip, "ip_version": sn.ip_version,
        "enable_dhcp": sn.enable_dhcp, "project_id": project_id, "tenant_id": project_id,
        "allocation_pools": [{"start": hosts[0], "end": hosts[1]}] if hosts else [],
        "dns_nameservers": [], "host_routes": [], "ipv6_ra_mode": None,
        "ipv6_address_mode": None, "subnetpool_id": None, "description": "", "tags": [],
        "service_types": [], "segment_id": None, "revision_number": 0,
        "created_at": isotime(sn.created_at), "updated_at": isotime(sn.created_at),
    }


def _visible_subnets(ctx: RequestContext, h) -> list[dict]:
    with h.db.reader() as s:
        rows = s.exec(select(Subnet, Network).join(Network, Network.id == Subnet.network_id)
                      .order_by(Subnet.created_at)).all()
    return [subnet_view(sn, net.project_id) for sn, net in rows if _network_visible(ctx, net)]


@router.get("/networking/v2.0/subnets")
async def list_subnets(request: Request, ctx: Ctx, h: Handles,
                       _query: Annotated[NeutronListQuery, Query()]) -> dict:
    return {"subnets": _filtered(_visible_subnets(ctx, h), request,
                                 ("name", "id", "network_id", "cidr", "ip_version"))}


@router.get("/networking/v2.0/subnets/{subnet_id}")
async def show_subnet(subnet_id: str, ctx: Ctx, h: Handles) -> dict:
    for sn in _visible_subnets(ctx, h):
        if sn["id"] == subnet_id:
            return {"subnet": sn}
    raise NotFound(f"Subnet {subnet_id} could not be found.")


@router.post("/networking/v2.0/subnets", status_code=201)
async def create_subnet(payload: SubnetCreateRequest, ctx: Ctx, h: Handles) -> dict:
    ctx.require_admin("create_subnet")
    body = payload.as_dict()["subnet"]
    try:
        cidr = ipaddress.ip_network(str(body.get("cidr")), strict=False)
    except ValueError:
        raise BadRequest(f"Invalid input for cidr. Reason: '{body.get('cidr')}' is not a "
                         "valid IP subnet.") from None
    if cidr.version != 4 or cidr.num_addresses < 4:
        raise BadRequest("Only IPv4 subnets with at least two host addresses are supported.")
    gateway = body.get("gateway_ip", str(cidr[1]))
    with h.db.writer() as s:
        net = s.get(Network, str(body.get("network_id")))
        if net is None:
            raise NotFound(f"Network {body.get('network_id')} could not be found.")
        sn = Subnet(network_id=net.id, name=str(body.get("name", "")), cidr=str(cidr),
                    gateway_ip=gateway, ip_version=4,
                    enable_dhcp=bool(body.get("enable_dhcp", True)))
        s.add(sn)
        project_id = net.project_id
    return {"subnet": subnet_view(sn, project_id)}


def port_view(p: Port, security_groups: list[str]) -> dict:
    return {
        "id": p.id, "name": "", "network_id": p.network_id, "mac_address": p.mac_address,
        "fixed_ips": [{"subnet_id": p.subnet_id, "ip_address": p.ip_address}],
        "device_id": p.device_id or "", "device_owner": p.device_owner, "status": p.status,
        "project_id": p.project_id, "tenant_id": p.project_id, "admin_state_up": True,
        "binding:vnic_type": "normal", "binding:host_id": p.binding_host_id,
        "binding:vif_type": "ovs" if p.binding_host_id else "unbound",
        "security_groups": security_groups, "description": "",
        "tags": [], "port_security_enabled": True, "allowed_address_pairs": [],
        "extra_dhcp_opts": [], "revision_number": 1,
        "created_at": isotime(p.created_at), "updated_at": isotime(p.created_at),
    }


# Port filters the database applies (indexed, and what the control plane asks
# by on every boot: the server's ports by device_id); ``_filtered`` still
# applies every filter to what comes back.
_PORT_COLUMN_FILTERS = ("id", "network_id", "device_id")


def _visible_ports(ctx: RequestContext, h, wanted: dict[str, list[str]] | None = None
                   ) -> list[dict]:
    """The ports the caller sees; ``wanted`` narrows the read by column
    (matched as ``_filtered`` matches: either case)."""
    with h.db.reader() as s:
        q = select(Port)
        if not ctx.is_admin:
            q = q.where(Port.project_id == ctx.project_id)
        for key, values in (wanted or {}).items():
            if key in _PORT_COLUMN_FILTERS and values and all(values):
                q = q.where(func.lower(getattr(Port, key)).in_([v.lower() for v in values]))
        rows = s.exec(q.order_by(Port.created_at)).all()
        groups = port_groups(s, [p.id for p in rows])
    return [port_view(p, groups.get(p.id, [])) for p in rows]


def _port_body(h, port: Port) -> dict:
    with h.db.reader() as s:
        return port_view(port, port_groups(s, [port.id]).get(port.id, []))


@router.get("/networking/v2.0/ports")
async def list_ports(request: Request, ctx: Ctx, h: Handles,
                     _query: Annotated[NeutronListQuery, Query()]) -> dict:
    wanted = {k: request.query_params.getlist(k) for k in _PORT_COLUMN_FILTERS
              if k in request.query_params}
    ports = await asyncio.to_thread(_visible_ports, ctx, h, wanted)
    return {"ports": _filtered(ports, request,
                               ("id", "network_id", "device_id", "device_owner",
                                "mac_address", "status"))}


@router.get("/networking/v2.0/ports/{port_id}")
async def show_port(port_id: str, ctx: Ctx, h: Handles) -> dict:
    for p in await asyncio.to_thread(_visible_ports, ctx, h, {"id": [port_id]}):
        if p["id"] == port_id:
            return {"port": p}
    raise NotFound(f"Port {port_id} could not be found.")


# Port writes, as Nova's network API makes them: create on a network (an
# address from its first IPv4 subnet), set device and host binding, delete.
# Binding a port to a host (``binding:host_id``) is admin only, as in Neutron.

def _mac() -> str:
    # fa:16:3e is the OUI OpenStack uses for its ports.
    return "fa:16:3e:" + ":".join(f"{secrets.randbelow(256):02x}" for _ in range(3))


def _wanted_address(fixed: Any, subnet: Subnet) -> str | None:
    """The address ``fixed_ips`` asks for on the network's subnet, if any."""
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


def _allocate_port(h, net: Network, fields: dict, fixed_ips: Any = None,
                   security_groups: list[str] = ()) -> Port:
    """A port with the address ``fixed_ips`` asks for (Neutron's 409 when it
    is taken) or the network's next free one (the unique (subnet, address)
    constraint makes racing creates safe: the loser tries again)."""
    for _ in range(20):
        with h.db.writer() as s:
            subnet = s.exec(select(Subnet).where(Subnet.network_id == net.id,
                                                 Subnet.ip_version == 4)).first()
            if subnet is None:
                raise BadRequest(f"Network {net.id} has no IPv4 subnet.")
            wanted = _wanted_address(fixed_ips, subnet)
            used = set(s.exec(select(Port.ip_address).where(Port.subnet_id == subnet.id)))
            if wanted is not None and wanted in used:
                raise Conflict(f"IP address {wanted} already allocated in subnet {subnet.id}")
            cidr = ipaddress.ip_network(subnet.cidr)
            free = wanted or next((str(a) for a in cidr.hosts()
                                   if str(a) not in used and str(a) != subnet.gateway_ip), None)
            if free is None:
                raise Conflict(f"No more IP addresses available on network {net.id}.")
            port = Port(network_id=net.id, subnet_id=subnet.id, ip_address=free,
                        mac_address=_mac(), **fields)
            s.add(port)
            try:
                s.flush()
            except IntegrityError:
                s.rollback()
                continue
            set_port_groups(s, port.id, list(security_groups))
            return port
    raise Conflict(f"No more IP addresses available on network {net.id}.")


def _port_status(binding_host_id: str, device_id: str | None) -> str:
    return "ACTIVE" if binding_host_id and device_id else "DOWN"


def _notify_plugged(h, port: Port) -> None:
    """As Neutron's Nova notifier: a compute port just bound to a host sends
    ``network-vif-plugged`` to Nova's os-server-external-events (over the
    compute API in the catalog, as the service user), in the background."""
    if not (h.settings.notify_nova_on_port_status_changes and port.binding_host_id
            and port.device_id and port.device_owner.startswith("compute:")):
        return
    body = {"events": [{"name": "network-vif-plugged", "server_uuid": port.device_id,
                        "tag": port.id, "status": "completed"}]}

    def send() -> None:
        for attempt in range(3):
            try:
                resp = h.cloud().compute.post("/os-server-external-events", json=body)
                if resp.status_code in (200, 207, 404):
                    return
            except Exception as exc:  # logged, retried
                log.warning("vif-plugged notification failed", port_id=port.id,
                            error=str(exc))
            time.sleep(0.5 * (attempt + 1))
    future = asyncio.get_running_loop().run_in_executor(h.notifier, send)
    h.background.add(future)
    future.add_done_callback(h.background.discard)


@router.post("/networking/v2.0/ports", status_code=201)
async def create_port(payload: PortCreateRequest, ctx: Ctx, h: Handles) -> dict:
    body = payload.as_dict()["port"]
    project = body.get("project_id") or body.get("tenant_id") or ctx.project_id
    if project != ctx.project_id or body.get("binding:host_id"):
        ctx.require_admin("create_port:binding:host_id" if body.get("binding:host_id")
                          else "create_port:project_id")

    def create() -> Port:
        with h.db.reader() as s:
            net = s.get(Network, str(body["network_id"]))
        if net is None or not _network_visible(ctx, net):
            raise NotFound(f"Network {body['network_id']} could not be found.")
        host = str(body.get("binding:host_id") or "")
        device = body.get("device_id") or None
        if body.get("security_groups") is None:
            groups = [ensure_default_group(h.db, project)]
        else:
            with h.db.reader() as s:
                groups = check_port_groups(s, ctx, project, body["security_groups"])
        port = _allocate_port(h, net, {
            "device_id": device, "device_owner": str(body.get("device_owner") or ""),
            "project_id": project, "binding_host_id": host,
            "status": _port_status(host, device)}, body.get("fixed_ips"), groups)
        return port, port_view(port, groups)
    port, view = await asyncio.to_thread(create)
    _notify_plugged(h, port)
    return {"port": view}


def _own_port(ctx: RequestContext, s, port_id: str) -> Port:
    port = s.get(Port, port_id)
    if port is None or not (port.project_id == ctx.project_id or ctx.is_admin):
        raise NotFound(f"Port {port_id} could not be found.")
    return port


@router.put("/networking/v2.0/ports/{port_id}")
async def update_port(port_id: str, payload: PortUpdateRequest, ctx: Ctx, h: Handles) -> dict:
    body = payload.as_dict()["port"]
    if "binding:host_id" in body:
        ctx.require_admin("update_port:binding:host_id")

    def update() -> tuple[Port, bool]:
        with h.db.writer() as s:
            port = _own_port(ctx, s, port_id)
            was = (port.binding_host_id, port.device_id)
            if "device_id" in body:
                port.device_id = body["device_id"] or None
            if "device_owner" in body:
                port.device_owner = body["device_owner"] or ""
            if "binding:host_id" in body:
                port.binding_host_id = body["binding:host_id"] or ""
            if body.get("security_groups") is not None:
                set_port_groups(s, port.id, check_port_groups(
                    s, ctx, port.project_id, body["security_groups"]))
            port.status = _port_status(port.binding_host_id, port.device_id)
            s.add(port)
            return port, was != (port.binding_host_id, port.device_id)
    port, rebound = await asyncio.to_thread(update)
    if rebound:
        _notify_plugged(h, port)
    return {"port": await asyncio.to_thread(_port_body, h, port)}


@router.delete("/networking/v2.0/ports/{port_id}", status_code=204)
async def delete_port(port_id: str, ctx: Ctx, h: Handles) -> Response:
    def delete() -> None:
        with h.db.writer() as s:
            s.delete(_own_port(ctx, s, port_id))
            s.execute(sql_delete(PortSecurityGroup).where(
                PortSecurityGroup.port_id == port_id))
    await asyncio.to_thread(delete)
    return Response(status_code=204)
