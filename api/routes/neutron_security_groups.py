"""The Neutron stand-in's security groups (/networking/v2.0/security-groups),
in Neutron's shapes and words (their rules: neutron_security_group_rules.py).

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
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import delete as sql_delete
from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from api.deps import Ctx, Handles, RequestContext
from api.errors import Conflict, NotFound
from api.schemas.catalog import (
    NeutronListQuery,
    SecurityGroupCreateRequest,
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
    defaults = default_group_ids(s, ids)
    return [group_view(g, rules.get(g.id, []), defaults) for g in groups]


def default_group_ids(s: Session, ids: list[str]) -> set[str]:
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


def visible(ctx: RequestContext, g: SecurityGroup | None) -> bool:
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


def filtered(items: list[dict], request: Request, keys: tuple[str, ...]) -> list[dict]:
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
    return {"security_groups": filtered(groups, request, (
        "id", "name", "project_id", "tenant_id", "description", "stateful"))}


def visible_group(s: Session, ctx: RequestContext, group_id: str) -> SecurityGroup:
    g = s.get(SecurityGroup, group_id)
    if not visible(ctx, g):
        raise not_found(group_id)
    return g


@router.get("/security-groups/{group_id}")
async def show_security_group(group_id: str, ctx: Ctx, h: Handles) -> dict:
    def read() -> dict:
        with h.db.reader() as s:
            return _views(s, [visible_group(s, ctx, group_id)])[0]
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
            g = visible_group(s, ctx, group_id)
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
            g = visible_group(s, ctx, group_id)
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
