"""/v2.1/os-security-groups and /v2.1/os-security-group-rules: Nova's
security-group proxy, kept for microversions up to 2.35 (404 from 2.36).

Groups and rules live in the network service, reached through openstacksdk
as the caller (``api.cloud_proxy``).  Nova shows a group with its ingress
rules only (``server_security_groups.nova_group``), checks a new rule by its
own rules first (``api.nova_rules``) and answers Neutron's refusals with its
own statuses: a group in use cannot be deleted (400), a rule Neutron already
has or over quota is 403.
"""

from __future__ import annotations

from typing import Any

import openstack.exceptions
from fastapi import APIRouter, Request, Response

from api import cloud_proxy, nova_rules
from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest, Forbidden, NotFound
from api.routes.server_security_groups import nova_groups, nova_rule
from api.schemas.proxy import ProxySecurityGroupRequest, ProxySecurityGroupRuleRequest
from api.validation import is_uuid

router = APIRouter(prefix="/v2.1", tags=["security groups (proxy, < 2.36)"])

LAST_VERSION = "2.35"


def _start(ctx: RequestContext, rule: str) -> None:
    ctx.require_admin(rule)
    cloud_proxy.removed_after(ctx, LAST_VERSION)


def _uuid(value: str) -> str:
    """Nova's ``validate_id``."""
    if not is_uuid(value):
        raise BadRequest("Security group id should be uuid")
    return value


def _group(conn, group_id: str) -> Any:
    try:
        return cloud_proxy.network(conn).get_security_group(group_id)
    except openstack.exceptions.NotFoundException:
        raise NotFound(f"Security group {group_id} not found.") from None


def _query_int(request: Request, key: str) -> int | None:
    value = request.query_params.get(key)
    if value is None:
        return None
    if not value.isdigit():
        raise BadRequest(f"Invalid input for query parameters {key}. Value: {value[:50]}. "
                         f"'{value[:50]}' does not match '^[0-9]*$'")
    return int(value)


@router.get("/os-security-groups")
async def list_security_groups(request: Request, ctx: Ctx, h: Handles) -> dict:
    _start(ctx, "os_compute_api:os-security-groups:get")
    offset = _query_int(request, "offset") or 0
    limit = min(h.settings.api_max_limit, _query_int(request, "limit") or
                h.settings.api_max_limit)
    # Nova lists the caller's project's groups; an admin asking all_tenants, all.
    query = ({} if ctx.is_admin and "all_tenants" in request.query_params
             else {"project_id": ctx.project_id})

    def read(conn) -> list[dict]:
        groups = list(cloud_proxy.network(conn).security_groups(**query))
        return nova_groups(conn, groups[offset:offset + limit])
    return {"security_groups": await cloud_proxy.call(h, ctx, read)}


@router.get("/os-security-groups/{group_id}")
async def show_security_group(group_id: str, ctx: Ctx, h: Handles) -> dict:
    _start(ctx, "os_compute_api:os-security-groups:show")
    _uuid(group_id)
    shown = await cloud_proxy.call(h, ctx, lambda conn: nova_groups(
        conn, [_group(conn, group_id)]))
    return {"security_group": shown[0]}


@router.post("/os-security-groups")
async def create_security_group(payload: ProxySecurityGroupRequest, ctx: Ctx,
                                h: Handles) -> dict:
    _start(ctx, "os_compute_api:os-security-groups:create")
    asked = payload.security_group

    def create(conn) -> list[dict]:
        try:
            group = cloud_proxy.network(conn).create_security_group(
                name=asked.name, description=asked.description)
        except openstack.exceptions.ConflictException as exc:
            raise Forbidden(cloud_proxy.error_message(exc)) from None  # Nova: over quota
        return nova_groups(conn, [group])
    return {"security_group": (await cloud_proxy.call(h, ctx, create))[0]}


@router.put("/os-security-groups/{group_id}")
async def update_security_group(group_id: str, payload: ProxySecurityGroupRequest,
                                ctx: Ctx, h: Handles) -> dict:
    _start(ctx, "os_compute_api:os-security-groups:update")
    _uuid(group_id)
    asked = payload.security_group

    def update(conn) -> list[dict]:
        group = cloud_proxy.network(conn).update_security_group(
            _group(conn, group_id), name=asked.name, description=asked.description)
        return nova_groups(conn, [group])
    return {"security_group": (await cloud_proxy.call(h, ctx, update))[0]}


@router.delete("/os-security-groups/{group_id}", status_code=202)
async def delete_security_group(group_id: str, ctx: Ctx, h: Handles) -> Response:
    _start(ctx, "os_compute_api:os-security-groups:delete")
    _uuid(group_id)

    def delete(conn) -> None:
        group = _group(conn, group_id)
        try:
            cloud_proxy.network(conn).delete_security_group(group, ignore_missing=False)
        except openstack.exceptions.ConflictException as exc:
            raise BadRequest(cloud_proxy.error_message(exc)) from None  # in use
    await cloud_proxy.call(h, ctx, delete,
                           not_found=f"Security group {group_id} not found.")
    return Response(status_code=202)


@router.post("/os-security-group-rules")
async def create_security_group_rule(payload: ProxySecurityGroupRuleRequest, ctx: Ctx,
                                     h: Handles) -> dict:
    _start(ctx, "os_compute_api:os-security-groups:rule:create")
    asked = payload.security_group_rule

    def create(conn) -> dict:
        parent = _group(conn, asked.parent_group_id)
        source = _group(conn, asked.group_id) if asked.group_id is not None else None
        if asked.group_id is not None:
            new = nova_rules.new_ingress_rule(asked.ip_protocol, asked.from_port,
                                              asked.to_port, group_id=asked.group_id)
        else:
            new = nova_rules.new_ingress_rule(asked.ip_protocol, asked.from_port,
                                              asked.to_port,
                                              cidr=nova_rules.parse_cidr(asked.cidr))
        if new is None:
            raise BadRequest("Not enough parameters to build a valid rule.")
        if "cidr" in new:
            nova_rules.check_prefix(new["cidr"])
        if nova_rules.rule_exists(parent.security_group_rules or [], new):
            raise BadRequest(f"This rule already exists in group {parent.id}")
        try:
            rule = cloud_proxy.network(conn).create_security_group_rule(
                **nova_rules.neutron_rule(parent.id, new))
        except openstack.exceptions.ConflictException as exc:
            raise Forbidden(cloud_proxy.error_message(exc)) from None  # Nova: limit
        return nova_rule(rule.to_dict(), source)
    return {"security_group_rule": await cloud_proxy.call(h, ctx, create)}


@router.delete("/os-security-group-rules/{rule_id}", status_code=202)
async def delete_security_group_rule(rule_id: str, ctx: Ctx, h: Handles) -> Response:
    _start(ctx, "os_compute_api:os-security-groups:rule:delete")
    _uuid(rule_id)

    def delete(conn) -> None:
        net = cloud_proxy.network(conn)
        try:
            rule = net.get_security_group_rule(rule_id)
        except openstack.exceptions.NotFoundException:
            raise NotFound(f"Security group rule {rule_id} not found.") from None
        _group(conn, rule.security_group_id)
        net.delete_security_group_rule(rule, ignore_missing=False)
    await cloud_proxy.call(h, ctx, delete,
                           not_found=f"Security group rule {rule_id} not found.")
    return Response(status_code=202)
