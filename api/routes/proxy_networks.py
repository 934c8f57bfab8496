"""/v2.1/os-networks and /v2.1/os-tenant-networks (list, show): Nova's
network proxy, kept for microversions up to 2.35 (404 from 2.36).

The networks are the ones the network service shows the caller, read
through openstacksdk as the caller (``api.cloud_proxy``); Nova shows only
their id and name (``label``): every nova-network field is null (admins
see the admin fields, null too), ``cidr`` of a tenant network is "None".
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api import cloud_proxy
from api.deps import Ctx, Handles, RequestContext

router = APIRouter(prefix="/v2.1", tags=["networks (proxy, < 2.36)"])

LAST_VERSION = "2.35"
_FIELDS = ("cidr", "netmask", "gateway", "broadcast", "dns1", "dns2", "cidr_v6", "gateway_v6",
           "netmask_v6")
_ADMIN_FIELDS = ("created_at", "updated_at", "deleted_at", "deleted", "injected", "bridge",
                 "vlan", "vpn_public_address", "vpn_public_port", "vpn_private_address",
                 "dhcp_start", "project_id", "host", "bridge_interface", "multi_host",
                 "priority", "rxtx_base", "mtu", "dhcp_server", "enable_dhcp",
                 "share_address")
_NOT_FOUND = "Network not found"


def network_view(ctx: RequestContext, net: Any) -> dict:
    """Nova's os-networks ``network_dict``."""
    body: dict = {"id": net.id, "label": net.name}
    for field in _FIELDS + (_ADMIN_FIELDS if ctx.is_admin else ()):
        body[field] = None
    return body


def tenant_network_view(net: Any) -> dict:
    return {"id": net.id, "cidr": "None", "label": net.name}


async def _networks(ctx: RequestContext, h, rule: str) -> list:
    ctx.require_admin(rule)
    cloud_proxy.removed_after(ctx, LAST_VERSION)
    return await cloud_proxy.call(
        h, ctx, lambda conn: list(cloud_proxy.network(conn).networks()))


async def _network(ctx: RequestContext, h, rule: str, network_id: str) -> Any:
    ctx.require_admin(rule)
    cloud_proxy.removed_after(ctx, LAST_VERSION)
    return await cloud_proxy.call(
        h, ctx, lambda conn: cloud_proxy.network(conn).get_network(network_id),
        not_found=_NOT_FOUND)


@router.get("/os-networks")
async def list_networks(ctx: Ctx, h: Handles) -> dict:
    nets = await _networks(ctx, h, "os_compute_api:os-networks:list")
    return {"networks": [network_view(ctx, n) for n in nets]}


@router.get("/os-networks/{network_id}")
async def show_network(network_id: str, ctx: Ctx, h: Handles) -> dict:
    net = await _network(ctx, h, "os_compute_api:os-networks:show", network_id)
    return {"network": network_view(ctx, net)}


@router.get("/os-tenant-networks")
async def list_tenant_networks(ctx: Ctx, h: Handles) -> dict:
    nets = await _networks(ctx, h, "os_compute_api:os-tenant-networks:list")
    return {"networks": [tenant_network_view(n) for n in nets]}


@router.get("/os-tenant-networks/{network_id}")
async def show_tenant_network(network_id: str, ctx: Ctx, h: Handles) -> dict:
    net = await _network(ctx, h, "os_compute_api:os-tenant-networks:show", network_id)
    return {"network": tenant_network_view(net)}
