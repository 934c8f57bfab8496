"""The Neutron stand-in's security group rules (/networking/v2.0/security-group-rules):
list, show, create and delete, checked in Neutron's words (direction,
ethertype, protocol by name or number, port ranges or ICMP type and code,
a remote address prefix or a remote group, never both; a rule that exists
already is 409).  The groups are api/routes/neutron_security_groups.py's.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session, select

from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest, Conflict, NotFound
from api.routes.neutron_security_groups import (
    default_group_ids,
    filtered,
    not_found,
    rule_view,
    visible,
    visible_group,
)
from api.schemas.catalog import NeutronListQuery, SecurityGroupRuleCreateRequest
from schema.models import SecurityGroup, SecurityGroupRule, utcnow

router = APIRouter(prefix="/networking/v2.0", tags=["catalog"])

# Neutron's IP protocol names (neutron_lib.constants.IP_PROTOCOL_MAP).
PROTOCOLS = {"ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1,
             "igmp": 2, "ip": 0, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44,
             "ipv6-icmp": 58, "icmpv6": 58, "ipv6-nonxt": 59, "ipv6-opts": 60,
             "ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6,
             "udp": 17, "udplite": 136, "vrrp": 112}
_PORT_PROTOCOLS = {6, 17, 33, 132, 136}  # protocols with port ranges
_ICMP = {1, 58}

def _visible_rules(s: Session, ctx: RequestContext) -> list[dict]:
    stmt = (select(SecurityGroupRule, SecurityGroup)
            .join(SecurityGroup, SecurityGroup.id == SecurityGroupRule.security_group_id)
            .order_by(SecurityGroupRule.created_at))
    if not ctx.is_admin:
        stmt = stmt.where(SecurityGroup.project_id == ctx.project_id)
    rows = s.exec(stmt).all()
    defaults = default_group_ids(s, list({g.id for _, g in rows}))
    return [rule_view(r, defaults) for r, _ in rows]


@router.get("/security-group-rules")
async def list_security_group_rules(request: Request, ctx: Ctx, h: Handles,
                                    _query: Annotated[NeutronListQuery, Query()]) -> dict:
    def read() -> list[dict]:
        with h.db.reader() as s:
            return _visible_rules(s, ctx)
    rules = await asyncio.to_thread(read)
    return {"security_group_rules": filtered(rules, request, (
        "id", "security_group_id", "direction", "ethertype", "protocol",
        "remote_group_id", "remote_ip_prefix", "project_id", "tenant_id"))}


def _rule(s: Session, ctx: RequestContext, rule_id: str) -> SecurityGroupRule:
    r = s.get(SecurityGroupRule, rule_id)
    if r is None or not visible(ctx, s.get(SecurityGroup, r.security_group_id)):
        raise NotFound(f"Security group rule {rule_id} does not exist")
    return r


@router.get("/security-group-rules/{rule_id}")
async def show_security_group_rule(rule_id: str, ctx: Ctx, h: Handles) -> dict:
    def read() -> dict:
        with h.db.reader() as s:
            r = _rule(s, ctx, rule_id)
            return rule_view(r, default_group_ids(s, [r.security_group_id]))
    return {"security_group_rule": await asyncio.to_thread(read)}


def _protocol(value: Any) -> tuple[str | None, int | None]:
    """The protocol as Neutron stores it (a lower-case name or a number) and its number."""
    if value is None or value == "":
        return None, None
    text = str(value).strip().lower()
    if text.isdigit() and 0 <= int(text) <= 255:
        return str(int(text)), int(text)
    if text in PROTOCOLS:
        return text, PROTOCOLS[text]
    names = ", ".join(["None", *sorted(PROTOCOLS)])
    raise BadRequest(f"Security group rule protocol {value} not supported. Only protocol "
                     f"values [{names}] and integer representations [0 to 255] are "
                     "supported.")


def _port(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        port = int(str(value))
    except ValueError:
        raise BadRequest(f"Invalid value for port {value}") from None
    if not 0 <= port <= 65535:
        raise BadRequest(f"Invalid value for port {value}")
    return port


def _ports(number: int | None, low: int | None, high: int | None) -> None:
    """Neutron's checks of a rule's port range (ICMP: type and code)."""
    if number is None:
        if low is not None or high is not None:
            raise BadRequest("Must also specify protocol if port range is given.")
        return
    if number in _PORT_PROTOCOLS:
        for p in (low, high):
            if p == 0:
                raise BadRequest(f"Invalid value for port {p}")
        if low is not None and high is not None and low > high:
            raise BadRequest("For TCP/UDP protocols, port_range_min must be <= "
                             "port_range_max")
    elif number in _ICMP:
        for field, attr, v in (("type", "port_range_min", low),
                               ("code", "port_range_max", high)):
            if v is not None and not 0 <= v <= 255:
                raise BadRequest(f"Invalid value for ICMP {field} ({attr}) {v}. It must "
                                 "be 0 to 255.")
        if high is not None and low is None:
            raise BadRequest(f"ICMP code (port-range-max) {high} is provided but ICMP type "
                             "(port-range-min) is missing.")


def _choice(body: dict, key: str, allowed: tuple[str, ...], default: str | None) -> str:
    value = body.get(key, default)
    if value is None:
        raise BadRequest(f"Failed to parse request. Required attribute '{key}' not specified")
    match = next((a for a in allowed if a.lower() == str(value).lower()), None)
    if match is None:
        raise BadRequest(f"Invalid input for {key}. Reason: '{value}' is not in "
                         f"{list(allowed)}.")
    return match


def _remote_prefix(body: dict, ethertype: str) -> str | None:
    prefix = body.get("remote_ip_prefix")
    if prefix is None:
        return None
    try:
        net = ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        raise BadRequest(f"Invalid input for remote_ip_prefix. Reason: '{prefix}' is not a "
                         "valid IP subnet.") from None
    if f"IPv{net.version}" != ethertype:
        raise BadRequest(f"Conflicting value ethertype {ethertype} for CIDR {prefix}")
    return prefix


def _same(r: SecurityGroupRule, new: SecurityGroupRule) -> bool:
    def norm(rule: SecurityGroupRule) -> tuple:
        number = _protocol(rule.protocol)[1]
        prefix = (str(ipaddress.ip_network(rule.remote_ip_prefix, strict=False))
                  if rule.remote_ip_prefix else None)
        return (rule.direction, rule.ethertype, number, rule.port_range_min,
                rule.port_range_max, prefix, rule.remote_group_id)
    return norm(r) == norm(new)


@router.post("/security-group-rules", status_code=201)
async def create_security_group_rule(payload: SecurityGroupRuleCreateRequest, ctx: Ctx,
                                     h: Handles) -> dict:
    body = payload.as_dict()["security_group_rule"]
    group_id = body.get("security_group_id")
    if not group_id:
        raise BadRequest("Failed to parse request. Required attribute 'security_group_id' "
                         "not specified")
    direction = _choice(body, "direction", ("ingress", "egress"), None)
    ethertype = _choice(body, "ethertype", ("IPv4", "IPv6"), "IPv4")
    protocol, number = _protocol(body.get("protocol"))
    low, high = _port(body.get("port_range_min")), _port(body.get("port_range_max"))
    _ports(number, low, high)
    if body.get("remote_ip_prefix") is not None and body.get("remote_group_id") is not None:
        raise BadRequest("Only remote_ip_prefix or remote_group_id may be provided.")
    prefix = _remote_prefix(body, ethertype)
    if number in _PORT_PROTOCOLS and low is not None and high is None:
        high = low  # Neutron: a single port

    def create() -> dict:
        with h.db.writer() as s:
            g = visible_group(s, ctx, group_id)
            remote = body.get("remote_group_id")
            if remote is not None and not visible(ctx, s.get(SecurityGroup, remote)):
                raise not_found(remote)
            rule = SecurityGroupRule(
                security_group_id=g.id, project_id=g.project_id, direction=direction,
                ethertype=ethertype, protocol=protocol, port_range_min=low,
                port_range_max=high, remote_ip_prefix=prefix, remote_group_id=remote,
                description=body.get("description") or "")
            for have in s.exec(select(SecurityGroupRule).where(
                    SecurityGroupRule.security_group_id == g.id)).all():
                if _same(have, rule):
                    raise Conflict(f"Security group rule already exists. Rule id is "
                                   f"{have.id}.")
            s.add(rule)
            g.revision_number += 1
            g.updated_at = utcnow()
            s.add(g)
            s.flush()
            return rule_view(rule, default_group_ids(s, [g.id]))
    return {"security_group_rule": await asyncio.to_thread(create)}


@router.delete("/security-group-rules/{rule_id}", status_code=204)
async def delete_security_group_rule(rule_id: str, ctx: Ctx, h: Handles) -> Response:
    def delete() -> None:
        with h.db.writer() as s:
            s.delete(_rule(s, ctx, rule_id))
    await asyncio.to_thread(delete)
    return Response(status_code=204)
