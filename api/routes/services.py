"""/v2.1/os-services: list compute services, enable/disable/force down, delete.

Admin only.  From microversion 2.53 services are addressed by uuid
(``PUT /os-services/{uuid}`` with ``status``/``disabled_reason``/
``forced_down``); before it, by integer id, with the legacy
``PUT /os-services/{enable,disable,disable-log-reason,force-down}`` actions.
Deleting a service refuses (409) while its host still has servers or
migrations; otherwise it removes the service, its compute node, the node's
allocations and aggregate memberships, and stops the host's monitor.  A host
worker that starts again registers afresh.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import or_
from sqlalchemy.orm import object_session
from sqlmodel import Session, delete, select
from temporalio.service import RPCError

from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest, Conflict, NotFound
from api.schemas.common import database_id
from api.schemas.services import ServiceListQuery, ServiceUpdateRequest
from api.validation import is_uuid
from api.views import isotime
from novaflow import logs
from novaflow.rules import FINAL_MIGRATION_STATUSES, service_is_up
from schema.models import (
    AggregateHost,
    Allocation,
    ComputeNode,
    ControlPlaneClock,
    Instance,
    Migration,
    Service,
    utcnow,
)

log = logs.get_logger("novaflow.api")
router = APIRouter(prefix="/v2.1/os-services", tags=["services"])

_LEGACY_ACTIONS = {"enable", "disable", "disable-log-reason", "force-down"}


def service_state(svc: Service, settings: Any) -> str:
    """'up' or 'down', by the same rule the scheduler's ComputeFilter uses
    (with the control plane's clock when the row's session is still open)."""
    session = object_session(svc)
    clock = ControlPlaneClock.read(session) if session is not None else None
    up = service_is_up(svc, settings.scheduler.service_down_time, clock=clock)
    return "up" if up else "down"


def service_id(ctx: RequestContext, svc: Service) -> Any:
    return svc.uuid if ctx.version.at_least("2.53") else svc.id


def service_view(ctx: RequestContext, svc: Service, zone: str, settings: Any) -> dict:
    body = {
        "id": service_id(ctx, svc),
        "binary": svc.binary,
        "host": svc.host,
        "zone": zone,
        "status": "disabled" if svc.disabled else "enabled",
        "state": service_state(svc, settings),
        "updated_at": isotime(svc.last_seen_up or svc.updated_at),
        "disabled_reason": svc.disabled_reason,
    }
    if ctx.version.at_least("2.11"):
        body["forced_down"] = svc.forced_down
    return body


def _zones(s: Session) -> dict[str, str]:
    return {n.host: n.availability_zone for n in s.exec(select(ComputeNode)).all()}


def _find(s: Session, ctx: RequestContext, ident: str) -> Service:
    if ctx.version.at_least("2.53"):
        if not is_uuid(ident):
            raise BadRequest(f"Invalid uuid {ident}")
        svc = s.exec(select(Service).where(Service.uuid == ident)).first()
    else:
        svc = s.get(Service, database_id(ident)) if ident.isdigit() else None
    if svc is None:
        raise NotFound(f"Service {ident} could not be found.")
    return svc


@router.get("")
async def list_services(request: Request, ctx: Ctx, h: Handles,
                        _query: Annotated[ServiceListQuery, Query()]) -> dict:
    ctx.require_admin("os_compute_api:os-services:list")
    q = request.query_params
    stmt = select(Service).order_by(Service.id)
    if "host" in q:
        stmt = stmt.where(Service.host == q["host"])
    if "binary" in q:
        stmt = stmt.where(Service.binary == q["binary"])
    with h.db.reader() as s:
        zones = _zones(s)
        rows = s.exec(stmt).all()
        return {"services": [service_view(ctx, v, zones.get(v.host, "nova"), h.settings)
                             for v in rows]}


def _validate_update(body: dict) -> dict:
    extra = set(body) - {"status", "disabled_reason", "forced_down"}
    if extra:
        raise BadRequest("Invalid input for field/attribute service. Additional properties "
                         f"are not allowed ({', '.join(sorted(extra))} unexpected)")
    if "status" not in body and "forced_down" not in body:
        raise BadRequest("No updates were requested. Fields 'status' or 'forced_down' "
                         "should be specified.")
    status = body.get("status")
    if "status" in body and status not in ("enabled", "disabled"):
        raise BadRequest(f"Invalid input for field/attribute status. Value: {status!r:.50}. "
                         f"{status!r:.50} is not one of ['enabled', 'disabled']")
    if "disabled_reason" in body:
        reason = body["disabled_reason"]
        if status != "disabled":
            raise BadRequest(f"Specifying 'disabled_reason' with status '{status}' is "
                             "invalid.")
        if not isinstance(reason, str) or not 1 <= len(reason.strip()) <= 255:
            raise BadRequest("Invalid input for field/attribute disabled_reason: a string "
                             "of 1 to 255 characters")
    if "forced_down" in body and not isinstance(body["forced_down"], bool):
        raise BadRequest(f"Invalid input for field/attribute forced_down. Value: "
                         f"{body['forced_down']!r:.50}. It is not of type 'boolean'")
    return body


def _apply(svc: Service, body: dict) -> None:
    if "status" in body:
        svc.disabled = body["status"] == "disabled"
        # Re-enabling forgets why it was disabled (Nova does the same).
        svc.disabled_reason = body.get("disabled_reason") if svc.disabled else None
    if "forced_down" in body:
        svc.forced_down = body["forced_down"]
    svc.updated_at = utcnow()


@router.put("/{ident}")
async def update_service(ident: str, payload: ServiceUpdateRequest, ctx: Ctx,
                         h: Handles) -> dict:
    ctx.require_admin("os_compute_api:os-services:update")
    body = payload.as_dict()
    if not ctx.version.at_least("2.53"):
        if ident not in _LEGACY_ACTIONS:
            raise NotFound("The resource could not be found.")
        return _legacy_update(ident, body, ctx, h)
    _validate_update(body)
    with h.db.writer() as s:
        svc = _find(s, ctx, ident)
        if "forced_down" in body and svc.binary != "nova-compute":
            raise BadRequest("Updating a forced_down status is only supported for "
                             "nova-compute services.")
        _apply(svc, body)
        s.add(svc)
        zone = _zones(s).get(svc.host, "nova")
    log.info("service updated", host=svc.host, change=body)
    return {"service": service_view(ctx, svc, zone, h.settings)}


def _legacy_update(verb: str, body: dict, ctx: RequestContext, h: Any) -> dict:
    host, binary = body.get("host"), body.get("binary")
    if not isinstance(host, str) or not isinstance(binary, str):
        raise BadRequest("Invalid input for field/attribute: 'host' and 'binary' are "
                         "required strings")
    change: dict = {}
    if verb == "enable":
        change = {"status": "enabled"}
    elif verb == "disable":
        change = {"status": "disabled"}
    elif verb == "disable-log-reason":
        change = {"status": "disabled", "disabled_reason": body.get("disabled_reason")}
    elif verb == "force-down":
        if not ctx.version.at_least("2.11"):
            raise NotFound("The resource could not be found.")
        change = {"forced_down": body.get("forced_down")}
    _validate_update(change)
    with h.db.writer() as s:
        svc = s.exec(select(Service).where(Service.host == host,
                                           Service.binary == binary)).first()
        if svc is None:
            raise NotFound(f"Compute service of {host} could not be found.")
        _apply(svc, change)
        s.add(svc)
    out = {"host": host, "binary": binary}
    if "status" in change:
        out["status"] = change["status"]
    if "disabled_reason" in change:
        out["disabled_reason"] = change["disabled_reason"]
    if "forced_down" in change:
        out["forced_down"] = change["forced_down"]
    return {"service": out}


def _in_use(s: Session, host: str, node: ComputeNode | None) -> str | None:
    """Why the host's service cannot be deleted yet, or None."""
    if s.exec(select(Instance.id).where(Instance.host == host,
                                        Instance.deleted.is_(False))).first():
        return ("Unable to delete compute service that is hosting instances. Migrate or "
                "delete the instances first.")
    if node is not None:
        consumers = list(s.exec(select(Allocation.consumer_id).where(
            Allocation.node_uuid == node.uuid)).all())
        live = s.exec(select(Instance.id).where(Instance.uuid.in_(consumers),
                                                Instance.deleted.is_(False))).first()
        if live:
            return ("Unable to delete compute service that has servers being built on it. "
                    "Wait for the builds or delete the servers first.")
    moving = s.exec(select(Migration.id).where(
        or_(Migration.source_compute == host, Migration.dest_compute == host),
        Migration.status.not_in(FINAL_MIGRATION_STATUSES))).first()
    if moving:
        return ("Unable to delete compute service that has in-progress migrations. Complete "
                "the migrations or delete the instances first.")
    return None


@router.delete("/{ident}", status_code=204)
async def delete_service(ident: str, ctx: Ctx, h: Handles) -> Response:
    ctx.require_admin("os_compute_api:os-services:delete")
    with h.db.writer() as s:
        svc = _find(s, ctx, ident)
        host = svc.host
        node = s.exec(select(ComputeNode).where(ComputeNode.host == host)).first()
        why = _in_use(s, host, node)
        if why:
            raise Conflict(why)
        if node is not None:
            s.execute(delete(Allocation).where(Allocation.node_uuid == node.uuid))
            s.delete(node)
        s.execute(delete(AggregateHost).where(AggregateHost.host == host))
        s.delete(svc)
    log.info("service deleted", host=host)
    if h.temporal is not None:
        try:
            await h.temporal.get_workflow_handle(f"host-monitor-{host}").terminate(
                reason=f"compute service of {host} deleted")
        except RPCError:
            pass  # not running
    return Response(status_code=204)
