"""/v2.1/servers/{id}/os-security-groups: the groups of a server's ports, in
Nova's shape (``ServerSecurityGroupController.index``): id, name,
description, tenant_id and the ingress rules, each with its ports, protocol
and either the remote group (name, tenant) or the address range; sorted by
tenant and name.  Read from the network service off the event loop
(api/security_groups.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from api import security_groups as security_groups_api
from api.deps import Ctx, Handles
from api.nova_rules import nova_ports
from api.routes.servers import get_instance
from novaflow import security_groups as sg_api

router = APIRouter(prefix="/v2.1/servers/{server_id}", tags=["security groups"])

_NOT_FOUND = object()


def nova_rule(rule: dict, remote: Any) -> dict:
    """A Neutron rule as Nova shows it; ``remote`` is its remote group (or None)."""
    low, high = nova_ports(rule)
    body = {"id": rule["id"], "parent_group_id": rule["security_group_id"],
            "ip_protocol": rule.get("protocol"), "from_port": low, "to_port": high,
            "group": {}, "ip_range": {}}
    if rule.get("remote_group_id"):
        body["group"] = {"name": remote.name, "tenant_id": remote.project_id}
    else:
        body["ip_range"] = {"cidr": rule.get("remote_ip_prefix") or "0.0.0.0/0"}
    return body


def nova_group(group: Any, remotes: dict[str, Any]) -> dict:
    rules = []
    for rule in group.security_group_rules or []:
        if rule.get("direction") != "ingress":
            continue  # Nova shows ingress rules only
        remote = remotes.get(rule.get("remote_group_id") or "")
        if rule.get("remote_group_id") and remote in (None, _NOT_FOUND):
            continue  # its group is gone (or hidden): Nova skips the rule
        rules.append(nova_rule(rule, remote))
    return {"id": group.id, "name": group.name, "description": group.description or "",
            "tenant_id": group.project_id, "rules": rules}


def remote_groups(conn, groups: list[Any]) -> dict[str, Any]:
    """The groups ``groups``' rules name as their remote, by id (the ones given
    first, then each other one looked up once; a missing one marked not found)."""
    remotes: dict[str, Any] = {g.id: g for g in groups}
    for g in groups:
        for rule in g.security_group_rules or []:
            rid = rule.get("remote_group_id")
            if rid and rid not in remotes:
                found = conn.network.find_security_group(rid, ignore_missing=True)
                remotes[rid] = found if found is not None else _NOT_FOUND
    return remotes


def nova_groups(conn, groups: list[Any]) -> list[dict]:
    """``groups`` as Nova shows them, sorted by tenant and name (then id, so
    that pages of a list with equal names hold still)."""
    remotes = remote_groups(conn, groups)
    shown = [nova_group(g, remotes) for g in groups]
    return sorted(shown, key=lambda g: (g["tenant_id"], g["name"], g["id"]))


def _server_groups(conn, server_id: str) -> list[dict]:
    return nova_groups(conn, sg_api.groups_of_servers(conn, [server_id]).get(server_id, []))


@router.get("/os-security-groups")
async def list_server_security_groups(server_id: str, ctx: Ctx, h: Handles) -> dict:
    def load():
        with h.db.reader() as s:
            return get_instance(s, ctx, server_id)
    inst = await asyncio.to_thread(load)
    return {"security_groups": await security_groups_api.call(h, _server_groups, inst.uuid)}
