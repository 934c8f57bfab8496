"""/v2.1/os-server-groups: create, list, show, delete.

Before 2.64 a group carries a one-item ``policies`` list (and ``metadata``);
from 2.64 a single ``policy`` and its ``rules`` (``max_server_per_host`` for
anti-affinity).  Members are the group's instances that are not deleted;
placing them (the ``group`` scheduler hint) is the scheduler's business.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import delete as sql_delete
from sqlmodel import Session, select

from api import quotas
from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest, Forbidden, NotFound
from api.schemas.server_groups import ServerGroupCreateRequest, ServerGroupListQuery
from api.validation import no_extra_keys
from api.views import limit_param
from schema.models import Instance, ServerGroup, ServerGroupMember

router = APIRouter(prefix="/v2.1/os-server-groups", tags=["server groups"])

HARD_POLICIES = ["affinity", "anti-affinity"]
SOFT_POLICIES = ["soft-affinity", "soft-anti-affinity"]  # 2.15+


def members(s: Session, group_uuid: str) -> list[str]:
    stmt = (select(ServerGroupMember.instance_uuid)
            .join(Instance, Instance.uuid == ServerGroupMember.instance_uuid)
            .where(ServerGroupMember.group_uuid == group_uuid,
                   Instance.deleted == False)  # noqa: E712
            .order_by(ServerGroupMember.id))
    return list(s.exec(stmt).all())


def view(ctx: RequestContext, g: ServerGroup, member_ids: list[str]) -> dict:
    body: dict = {"id": g.uuid, "name": g.name}
    if ctx.version.at_least("2.64"):
        body.update({"policy": g.policy, "rules": dict(g.rules or {})})
    else:
        body.update({"policies": [g.policy], "metadata": {}})
    body["members"] = member_ids
    if ctx.version.at_least("2.13"):
        body.update({"project_id": g.project_id, "user_id": g.user_id})
    return body


def get_group(s: Session, ctx: RequestContext, group_id: str) -> ServerGroup:
    """The caller's group (any project's for admins), else 404."""
    g = s.exec(select(ServerGroup).where(ServerGroup.uuid == group_id)).first()
    if g is None or (g.project_id != ctx.project_id and not ctx.is_admin):
        raise NotFound(f"Instance group {group_id} could not be found.")
    return g


def _policy_and_rules(ctx: RequestContext, body: dict) -> tuple[str, dict]:
    allowed = HARD_POLICIES + (SOFT_POLICIES if ctx.version.at_least("2.15") else [])
    if ctx.version.at_least("2.64"):
        no_extra_keys(body, {"name", "policy", "rules"}, "server_group")
        policy = body.get("policy")
        rules = body.get("rules", {})
        if not isinstance(rules, dict):
            raise BadRequest("Invalid input for field/attribute rules. Value: "
                             f"{rules!r:.100}. {rules!r:.100} is not of type 'object'")
        no_extra_keys(rules, {"max_server_per_host"}, "rules")
        if rules and policy != "anti-affinity":
            raise BadRequest("Only anti-affinity policy supports rules.")
        if "max_server_per_host" in rules:
            mspm = rules["max_server_per_host"]
            if isinstance(mspm, bool) or not isinstance(mspm, int) or mspm < 1:
                raise BadRequest("Invalid input for field/attribute max_server_per_host. "
                                 f"Value: {mspm!r:.100}. It must be a positive integer")
    else:
        no_extra_keys(body, {"name", "policies"}, "server_group")
        policies = body.get("policies")
        if not isinstance(policies, list) or len(policies) != 1:
            raise BadRequest("Invalid input for field/attribute policies. Value: "
                             f"{policies!r:.100}. It must be a list of exactly one policy")
        policy, rules = policies[0], {}
    if policy not in allowed:
        raise BadRequest(f"Invalid input for field/attribute policy. Value: {policy!r:.100}. "
                         f"{policy!r:.100} is not one of {allowed}")
    return policy, rules


@router.post("")
async def create_server_group(payload: ServerGroupCreateRequest, ctx: Ctx, h: Handles) -> dict:
    body = payload.as_dict()["server_group"]
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 255:
        raise BadRequest("Invalid input for field/attribute name. Value: "
                         f"{name!r:.100}. It must be a string of 1 to 255 characters")
    policy, rules = _policy_and_rules(ctx, body)
    with h.db.writer() as s:
        limit = quotas.project_limits(s, ctx.project_id, h.settings)["server_groups"]
        used = quotas.project_usage(s, ctx.project_id)["server_groups"]
        if 0 <= limit <= used:
            raise Forbidden("Quota exceeded, too many server groups.")
        g = ServerGroup(name=name, project_id=ctx.project_id, user_id=ctx.user_id,
                        policy=policy, rules=rules)
        s.add(g)
        s.flush()
    return {"server_group": view(ctx, g, [])}


@router.get("")
async def list_server_groups(request: Request, ctx: Ctx, h: Handles,
                             _query: Annotated[ServerGroupListQuery, Query()]) -> dict:
    q = request.query_params
    stmt = select(ServerGroup).order_by(ServerGroup.id)
    # As in Nova, all_projects from a member is ignored, not refused.
    if not ("all_projects" in q and ctx.is_admin):
        stmt = stmt.where(ServerGroup.project_id == ctx.project_id)
    limit = limit_param(q, h.settings.api_max_limit)
    try:
        offset = int(q.get("offset", 0))
    except ValueError:
        raise BadRequest("offset param must be an integer") from None
    if offset < 0:
        raise BadRequest("offset param must be positive")
    with h.db.reader() as s:
        groups = list(s.exec(stmt.offset(offset).limit(limit)).all())
        return {"server_groups": [view(ctx, g, members(s, g.uuid)) for g in groups]}


@router.get("/{group_id}")
async def show_server_group(group_id: str, ctx: Ctx, h: Handles) -> dict:
    with h.db.reader() as s:
        g = get_group(s, ctx, group_id)
        return {"server_group": view(ctx, g, members(s, g.uuid))}


@router.delete("/{group_id}", status_code=204)
async def delete_server_group(group_id: str, ctx: Ctx, h: Handles) -> Response:
    with h.db.writer() as s:
        g = get_group(s, ctx, group_id)
        s.execute(sql_delete(ServerGroupMember).where(ServerGroupMember.group_uuid == g.uuid))
        s.delete(g)
    return Response(status_code=204)
