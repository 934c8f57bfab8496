"""The routes Nova has removed: each still answers, with 410 Gone and Nova's
body, to any authenticated caller (Nova's ``@wsgi.removed`` handlers raise
``HTTPGone`` before any policy check).  Paths and methods are those of
``nova/api/openstack/compute/routes.py`` whose controllers only raise
``HTTPGone`` (agents, cells, certificates, cloudpipe, fixed IPs, floating-IP
DNS and bulk, fping, nova-network's networks, default security-group rules,
consoles, virtual interfaces), plus the ``resetNetwork`` server action."""

from __future__ import annotations

from api.errors import NovaAPIError

_P = "/v2.1"
REMOVED: dict[str, tuple[str, ...]] = {
    f"{_P}/os-agents": ("GET", "POST"),
    f"{_P}/os-agents/{{id}}": ("PUT", "DELETE"),
    f"{_P}/os-cells": ("GET", "POST"),
    f"{_P}/os-cells/capacities": ("GET",),
    f"{_P}/os-cells/detail": ("GET",),
    f"{_P}/os-cells/info": ("GET",),
    f"{_P}/os-cells/sync_instances": ("POST",),
    f"{_P}/os-cells/{{id}}": ("GET", "PUT", "DELETE"),
    f"{_P}/os-cells/{{id}}/capacities": ("GET",),
    f"{_P}/os-certificates": ("POST",),
    f"{_P}/os-certificates/{{id}}": ("GET",),
    f"{_P}/os-cloudpipe": ("GET", "POST"),
    f"{_P}/os-cloudpipe/{{id}}": ("PUT",),
    f"{_P}/os-fixed-ips/{{id}}": ("GET",),
    f"{_P}/os-fixed-ips/{{id}}/action": ("POST",),
    f"{_P}/os-floating-ip-dns": ("GET",),
    f"{_P}/os-floating-ip-dns/{{id}}": ("PUT", "DELETE"),
    f"{_P}/os-floating-ip-dns/{{domain_id}}/entries/{{id}}": ("GET", "PUT", "DELETE"),
    f"{_P}/os-floating-ips-bulk": ("GET", "POST"),
    f"{_P}/os-floating-ips-bulk/{{id}}": ("GET", "PUT"),
    f"{_P}/os-fping": ("GET",),
    f"{_P}/os-fping/{{id}}": ("GET",),
    # nova-network: create, add, delete and the (dis)associate actions are gone;
    # listing and showing networks remain (proxies to Neutron, up to 2.35).
    f"{_P}/os-networks": ("POST",),
    f"{_P}/os-networks/add": ("POST",),
    f"{_P}/os-networks/{{id}}": ("DELETE",),
    f"{_P}/os-networks/{{id}}/action": ("POST",),
    f"{_P}/os-security-group-default-rules": ("GET", "POST"),
    f"{_P}/os-security-group-default-rules/{{id}}": ("GET", "DELETE"),
    f"{_P}/os-tenant-networks": ("POST",),
    f"{_P}/os-tenant-networks/{{id}}": ("DELETE",),
    f"{_P}/servers/{{server_id}}/consoles": ("GET", "POST"),
    f"{_P}/servers/{{server_id}}/consoles/{{id}}": ("GET", "DELETE"),
    f"{_P}/servers/{{server_id}}/os-virtual-interfaces": ("GET",),
}

REMOVED_SERVER_ACTIONS = frozenset({"resetNetwork"})


class Gone(NovaAPIError):
    # Nova has no fault name for 410: its body falls back to computeFault,
    # with webob's HTTPGone explanation.
    status, key = 410, "computeFault"

    def __init__(self) -> None:
        super().__init__("This resource is no longer available.  No forwarding address is "
                         "given.")
