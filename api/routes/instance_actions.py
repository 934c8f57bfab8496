"""/v2.1/servers/{id}/os-instance-actions (+ /{request_id} with its events).

The rows are written by the operations' workflows, one action per request
(its request id is the ``x-openstack-request-id`` the request was answered
with) and one event per step.  Members see events from 2.51 on, never their
tracebacks; the host is shown to admins only (2.62+).  Admins find the
action's workflow in the ``Novaflow-Workflow`` header of the show response.  From 2.21 a deleted
server's actions stay readable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session, select

from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest, NotFound
from api.schemas.lists import InstanceActionListQuery
from api.views import host_id, page, workflow_headers
from schema.models import Instance, InstanceAction, InstanceActionEvent

router = APIRouter(prefix="/v2.1/servers/{server_id}/os-instance-actions",
                   tags=["instance actions"])


def action_time(ts: datetime | None) -> str | None:
    """Nova's format for action and event times (UTC, microseconds, no zone)."""
    if ts is None:
        return None
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _instance(s: Session, ctx: RequestContext, server_id: str) -> Instance:
    inst = s.exec(select(Instance).where(Instance.uuid == server_id)).first()
    visible = inst is not None and (inst.project_id == ctx.project_id or ctx.is_admin)
    if not visible or (inst.deleted and not ctx.version.at_least("2.21")):
        raise NotFound(f"Instance {server_id} could not be found.")
    return inst


def _action_view(ctx: RequestContext, a: InstanceAction) -> dict:
    body = {"action": a.action, "instance_uuid": a.instance_uuid, "message": a.message,
            "project_id": a.project_id, "request_id": a.request_id,
            "start_time": action_time(a.start_time), "user_id": a.user_id}
    if ctx.version.at_least("2.58"):
        body["updated_at"] = action_time(a.updated_at)
    return body


def _event_view(ctx: RequestContext, inst: Instance, e: InstanceActionEvent) -> dict:
    body = {"event": e.event, "start_time": action_time(e.start_time),
            "finish_time": action_time(e.finish_time), "result": e.result}
    if ctx.is_admin:
        body["traceback"] = e.traceback
    if ctx.version.at_least("2.62"):
        body["hostId"] = host_id(inst.project_id, e.host)
        if ctx.is_admin:
            body["host"] = e.host or ""
    if ctx.version.at_least("2.84"):
        body["details"] = e.details
    return body


def _since(value: str, name: str) -> datetime:
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {value}. "
                         f"'{value}' is not a 'date-time'") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


@router.get("")
async def list_actions(server_id: str, request: Request, ctx: Ctx, h: Handles,
                       _query: Annotated[InstanceActionListQuery, Query()]) -> dict:
    q = request.query_params
    with h.db.reader() as s:
        inst = _instance(s, ctx, server_id)
        rows = list(s.exec(select(InstanceAction)
                           .where(InstanceAction.instance_uuid == inst.uuid)
                           .order_by(InstanceAction.start_time.desc(),
                                     InstanceAction.id.desc())).all())
    links = None
    if ctx.version.at_least("2.58"):
        for name, keep in (("changes-since", lambda a, t: _aware(a.updated_at) >= t),
                           ("changes-before", lambda a, t: _aware(a.updated_at) <= t)):
            if name in q and (name == "changes-since" or ctx.version.at_least("2.66")):
                when = _since(q[name], name)
                rows = [a for a in rows if keep(a, when)]
        rows, links = page(ctx, request, rows, key=lambda a: a.request_id,
                           collection=f"servers/{server_id}/os-instance-actions",
                           max_limit=h.settings.api_max_limit)
    out: dict = {"instanceActions": [_action_view(ctx, a) for a in rows]}
    if links:
        out["links"] = links
    return out


@router.get("/{request_id}")
async def show_action(server_id: str, request_id: str, ctx: Ctx, h: Handles,
                      response: Response) -> dict:
    with h.db.reader() as s:
        inst = _instance(s, ctx, server_id)
        action = s.exec(select(InstanceAction)
                        .where(InstanceAction.instance_uuid == inst.uuid,
                               InstanceAction.request_id == request_id)
                        .order_by(InstanceAction.id.desc())).first()
        if action is None:
            raise NotFound(f"Action for request_id {request_id} on instance {server_id} "
                           "not found")
        events = s.exec(select(InstanceActionEvent)
                        .where(InstanceActionEvent.action_id == action.id)
                        .order_by(InstanceActionEvent.start_time,
                                  InstanceActionEvent.id)).all()
    # Where to watch it in Temporal: a header, Nova's body has no room for it.
    response.headers.update(workflow_headers(ctx, action.workflow_id,
                                             h.settings.temporal_ui_url))
    body = _action_view(ctx, action)
    if ctx.is_admin or ctx.version.at_least("2.51"):
        body["events"] = [_event_view(ctx, inst, e) for e in events]
    return {"instanceAction": body}
