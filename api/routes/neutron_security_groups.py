"""The Neutron stand-in's security groups (/networking/v2.0/security-groups
and security-group-rules), in Neutron's shapes and words.

As in Neutron: every project has a ``default`` group, made on first use (a
list of the project's groups, a group or a port created in it) with rules
letting all traffic out and traffic from the group's own members in; a new
group lets all traffic out.  A group a port uses cannot be deleted (409),
the default one only by an admin; a rule naming a deleted group as its
remote goes with it.  Members see and change their project's groups,
admins every project's.  The port routes (api/routes/catalog.py) bind ports
to groups with the helpers here.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import delete as sql_delete
from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest, Conflict, NotFound
from api.schemas.catalog import (
    NeutronListQuery,
    SecurityGroupCreateRequest,
    SecurityGroupRuleCreateRequest,
    SecurityGroupUpdateRequest,
)
from api.views import isotime
from schema.models import (
    DefaultSecurityGroup,
    PortSecurityGroup,
    SecurityGroup,
    SecurityGroupRule,
    utcnow,
)

router = APIRouter(prefix="/networking/v2.0", tags=["catalog"])

DEFAULT = "default"
# Neutron's IP protocol names (neutron_lib.constants.IP_PROTOCOL_MAP).
PROTOCOLS = {"ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1,
             "igmp": 2, "ip": 0, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44,
             "ipv6-icmp": 58, "icmpv6": 58, "ipv6-nonxt": 59, "ipv6-opts": 60,
             "ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6,
             "udp": 17, "udplite": 136, "vrrp": 112}
_PORT_PROTOCOLS = {6, 17, 33, 132, 136}  # protocols with port ranges
_ICMP = {1, 58}


def not_found(group_id: str) -> NotFound:
    return NotFound(f"Security group {group_id} does not exist")


# -- views ---------------------------------------------------------------------

def rule_view(r: SecurityGroupRule, default_ids: set[str] | None = None) -> dict:
    cidr = (str(ipaddress.ip_network(r.remote_ip_prefix, strict=False))
            if r.remote_ip_prefix else None)
    return {
        "id": r.id, "security_group_id": r.security_group_id, "direction": r.direction,
        "ethertype": r.ethertype, "protocol": r.protocol,
        "port_range_min": r.port_range_min, "port_range_max": r.port_range_max,
        "remote_ip_prefix": r.remote_ip_prefix, "normalized_cidr": cidr,
        "remote_group_id": r.remote_group_id, "remote_address_group_id": None,
        "description": r.description, "project_id": r.project_id,
        "tenant_id": r.project_id, "tags": [], "revision_number": 0,
        "belongs_to_default_sg": r.security_group_id in (default_ids or set()),
        "created_at": isotime(r.created_at), "updated_at": isotime(r.created_at),
    }


def group_view(g: SecurityGroup, rules: list[SecurityGroupRule],
               default_ids: set[str]) -> dict:
    return {
        "id": g.id, "name": g.name, "description": g.description,
        "project_id": g.project_id, "tenant_id": g.project_id, "stateful": g.stateful,
        "shared": False, "tags": [], "revision_number": g.revision_number,
        "security_group_rules": [rule_view(r, default_ids) for r in rules],
        "created_at": isotime(g.created_at), "updated_at": isotime(g.updated_at),
    }


def _views(s: Session, groups: list[SecurityGroup]) -> list[dict]:
    ids = [g.id for g in groups]
    rules: dict[str, list[SecurityGroupRule]] = {}
    for r in s.exec(select(SecurityGroupRule).where(
            SecurityGroupRule.security_group_id.in_(ids))
            .order_by(SecurityGroupRule.created_at)).all():
        rules.setdefault(r.security_group_id, []).append(r)
    defaults = _default_ids(s, ids)
    return [group_view(g, rules.get(g.id, []), defaults) for g in groups]


def _default_ids(s: Session, ids: list[str]) -> set[str]:
    return set(s.exec(select(DefaultSecurityGroup.security_group_id).where(
        DefaultSecurityGroup.security_group_id.in_(ids))).all())


# -- helpers the port routes share ---------------------------------------------

def _egress_rules(group: SecurityGroup) -> list[SecurityGroupRule]:
    return [SecurityGroupRule(security_group_id=group.id, project_id=group.project_id,
                              direction="egress", ethertype=e) for e in ("IPv4", "IPv6")]


def ensure_default_group(db, project_id: str) -> str:
    """The project's ``default`` group, made (with Neutron's rules) if it has none."""
    for _ in range(5):
        with db.reader() as s:
            row = s.get(DefaultSecurityGroup, project_id)
            if row is not None:
                return row.security_group_id
        try:
            with db.writer() as s:
                group = SecurityGroup(name=DEFAULT, description="Default security group",
                                      project_id=project_id)
                s.add(group)
                s.add(DefaultSecurityGroup(project_id=project_id, security_group_id=group.id))
                for rule in _egress_rules(group):
                    s.add(rule)
                for e in ("IPv4", "IPv6"):  # from members of the group itself
                    s.add(SecurityGroupRule(security_group_id=group.id, project_id=project_id,
                                            direction="ingress", ethertype=e,
                                            remote_group_id=group.id))
            return group.id
        except IntegrityError:
            continue  # made by a concurrent request: read it
    raise Conflict("Default security group already exists.")


def _visible(ctx: RequestContext, g: SecurityGroup | None) -> bool:
    return g is not None and (ctx.is_admin or g.project_id == ctx.project_id)


def check_port_groups(s: Session, ctx: RequestContext, project_id: str,
                      ids: list[str]) -> list[str]:
    """The groups a port of ``project_id`` may use (Neutron's 404 for the others)."""
    wanted = list(dict.fromkeys(ids))
    found = {g.id: g for g in s.exec(select(SecurityGroup).where(
        SecurityGroup.id.in_(wanted))).all()}
    missing = [i for i in wanted if i not in found or not (
        ctx.is_admin or found[i].project_id == project_id)]
    if missing:
        raise not_found(", ".join(missing))
    return wanted


def set_port_groups(s: Session, port_id: str, ids: list[str]) -> None:
    s.execute(sql_delete(PortSecurityGroup).where(PortSecurityGroup.port_id == port_id))
    for gid in ids:
        s.add(PortSecurityGroup(port_id=port_id, security_group_id=gid))


def port_groups(s: Session, port_ids: list[str]) -> dict[str, list[str]]:
    """Each port's group ids."""
    out: dict[str, list[str]] = {}
    for b in s.exec(select(PortSecurityGroup).where(
            PortSecurityGroup.port_id.in_(port_ids))).all():
        out.setdefault(b.port_id, []).append(b.security_group_id)
    return out


def _filtered(items: list[dict], request: Request, keys: tuple[str, ...]) -> list[dict]:
    q = request.query_params
    for key in keys:
        if key in q:
            wanted = set(q.getlist(key))
            items = [i for i in items if str(i.get(key)) in wanted
                     or (i.get(key) is None and "" in wanted)]
    return items


# -- security groups -----------------------------------------------------------

def _list_project(ctx: RequestContext, request: Request) -> str:
    """The project whose default group a list makes (as Neutron: the filter's, else
    the caller's)."""
    q = request.query_params
    return q.get("project_id") or q.get("tenant_id") or ctx.project_id


@router.get("/security-groups")
async def list_security_groups(request: Request, ctx: Ctx, h: Handles,
                               _query: Annotated[NeutronListQuery, Query()]) -> dict:
    def read() -> list[dict]:
        project = _list_project(ctx, request)
        if ctx.is_admin or project == ctx.project_id:
            ensure_default_group(h.db, project)
        with h.db.reader() as s:
            stmt = select(SecurityGroup).order_by(SecurityGroup.created_at)
            if not ctx.is_admin:
                stmt = stmt.where(SecurityGroup.project_id == ctx.project_id)
            return _views(s, list(s.exec(stmt).all()))
    groups = await asyncio.to_thread(read)
    return {"security_groups": _filtered(groups, request, (
        "id", "name", "project_id", "tenant_id", "description", "stateful"))}


def _group(s: Session, ctx: RequestContext, group_id: str) -> SecurityGroup:
    g = s.get(SecurityGroup, group_id)
    if not _visible(ctx, g):
        raise not_found(group_id)
    return g


@router.get("/security-groups/{group_id}")
async def show_security_group(group_id: str, ctx: Ctx, h: Handles) -> dict:
    def read() -> dict:
        with h.db.reader() as s:
            return _views(s, [_group(s, ctx, group_id)])[0]
    return {"security_group": await asyncio.to_thread(read)}


@router.post("/security-groups", status_code=201)
async def create_security_group(payload: SecurityGroupCreateRequest, ctx: Ctx,
                                h: Handles) -> dict:
    body = payload.as_dict()["security_group"]
    project = body.get("project_id") or body.get("tenant_id") or ctx.project_id
    if project != ctx.project_id:
        ctx.require_admin("create_security_group:project_id")
    name = body.get("name") or ""
    if name == DEFAULT:
        raise Conflict("Default security group already exists.")

    def create() -> dict:
        ensure_default_group(h.db, project)
        with h.db.writer() as s:
            group = SecurityGroup(name=name, description=body.get("description") or "",
                                  project_id=project,
                                  stateful=body.get("stateful", True) is not False)
            s.add(group)
            for rule in _egress_rules(group):
                s.add(rule)
            s.flush()
            return _views(s, [group])[0]
    return {"security_group": await asyncio.to_thread(create)}


@router.put("/security-groups/{group_id}")
async def update_security_group(group_id: str, payload: SecurityGroupUpdateRequest,
                                ctx: Ctx, h: Handles) -> dict:
    body = payload.as_dict()["security_group"]

    def update() -> dict:
        with h.db.writer() as s:
            g = _group(s, ctx, group_id)
            if "name" in body and body["name"] != g.name and (
                    g.name == DEFAULT or body["name"] == DEFAULT):
                if g.name == DEFAULT:
                    raise Conflict("Updating default security group not allowed.")
                raise Conflict("Default security group already exists.")
            for key in ("name", "description"):
                if key in body:
                    setattr(g, key, body[key] or "")
            if "stateful" in body:
                g.stateful = bool(body["stateful"])
            g.revision_number += 1
            g.updated_at = utcnow()
            s.add(g)
            s.flush()
            return _views(s, [g])[0]
    return {"security_group": await asyncio.to_thread(update)}


@router.delete("/security-groups/{group_id}", status_code=204)
async def delete_security_group(group_id: str, ctx: Ctx, h: Handles) -> Response:
    def delete() -> None:
        with h.db.writer() as s:
            g = _group(s, ctx, group_id)
            default = s.exec(select(DefaultSecurityGroup).where(
                DefaultSecurityGroup.security_group_id == group_id)).first()
            if default is not None and not ctx.is_admin:
                raise Conflict("Insufficient rights for removing default security group.")
            if s.exec(select(PortSecurityGroup).where(
                    PortSecurityGroup.security_group_id == group_id)).first() is not None:
                raise Conflict(f"Security Group {group_id} in use.")
            s.execute(sql_delete(SecurityGroupRule).where(or_(
                SecurityGroupRule.security_group_id == group_id,
                SecurityGroupRule.remote_group_id == group_id)))
            if default is not None:
                s.delete(default)
            s.delete(g)
    await asyncio.to_thread(delete)
    return Response(status_code=204)


# -- rules ---------------------------------------------------------------------

def _visible_rules(s: Session, ctx: RequestContext) -> list[dict]:
    stmt = (select(SecurityGroupRule, SecurityGroup)
            .join(SecurityGroup, SecurityGroup.id == SecurityGroupRule.security_group_id)
            .order_by(SecurityGroupRule.created_at))
    if not ctx.is_admin:
        stmt = stmt.where(SecurityGroup.project_id == ctx.project_id)
    rows = s.exec(stmt).all()
    defaults = _default_ids(s, list({g.id for _, g in rows}))
    return [rule_view(r, defaults) for r, _ in rows]


@router.get("/security-group-rules")
async def list_security_group_rules(request: Request, ctx: Ctx, h: Handles,
                                    _query: Annotated[NeutronListQuery, Query()]) -> dict:
    def read() -> list[dict]:
        with h.db.reader() as s:
            return _visible_rules(s, ctx)
    rules = await asyncio.to_thread(read)
    return {"security_group_rules": _filtered(rules, request, (
        "id", "security_group_id", "direction", "ethertype", "protocol",
        "remote_group_id", "remote_ip_prefix", "project_id", "tenant_id"))}


def _rule(s: Session, ctx: RequestContext, rule_id: str) -> SecurityGroupRule:
    r = s.get(SecurityGroupRule, rule_id)
    if r is None or not _visible(ctx, s.get(SecurityGroup, r.security_group_id)):
        raise NotFound(f"Security group rule {rule_id} does not exist")
    return r


@router.get("/security-group-rules/{rule_id}")
async def show_security_group_rule(rule_id: str, ctx: Ctx, h: Handles) -> dict:
    def read() -> dict:
        with h.db.reader() as s:
            r = _rule(s, ctx, rule_id)
            return rule_view(r, _default_ids(s, [r.security_group_id]))
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
            g = _group(s, ctx, group_id)
            remote = body.get("remote_group_id")
            if remote is not None and not _visible(ctx, s.get(SecurityGroup, remote)):
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
            return rule_view(rule, _default_ids(s, [g.id]))
    return {"security_group_rule": await asyncio.to_thread(create)}


@router.delete("/security-group-rules/{rule_id}", status_code=204)
async def delete_security_group_rule(rule_id: str, ctx: Ctx, h: Handles) -> Response:
    def delete() -> None:
        with h.db.writer() as s:
            s.delete(_rule(s, ctx, rule_id))
    await asyncio.to_thread(delete)
    return Response(status_code=204)
