"""/v2.1/os-simple-tenant-usage (all projects: admin; /{tenant_id}: the project's
readers): hours, vCPU-hours, MB-hours and GB-hours each server was up in a
period, from its ``launched_at``/``terminated_at`` and its flavor snapshot, as
Nova's ``simple_tenant_usage.py`` computes them.

``start`` and ``end`` default to now; ``end`` is capped at now.  Deleted
servers count for the time they ran.  From 2.40 ``limit``/``marker`` page
over servers (ordered by project, then uuid) with a ``*_links`` "next" link
when a page is full.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlalchemy import or_, tuple_
from sqlmodel import select

from api import views
from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest
from schema.models import Instance

router = APIRouter(prefix="/v2.1/os-simple-tenant-usage", tags=["usage"])

_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")


def _aware(ts: datetime | None) -> datetime | None:
    return ts.replace(tzinfo=UTC) if ts is not None and ts.tzinfo is None else ts


def _naive(ts: datetime | None) -> str | None:
    return ts.astimezone(UTC).replace(tzinfo=None).isoformat() if ts else None


def _parse(value: str | None, now: datetime) -> datetime:
    if not value:
        return now
    for fmt in _FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise BadRequest("Invalid datetime string: Datetime is in invalid format")


def _period(q) -> tuple[datetime, datetime, bool]:
    now = datetime.now(UTC)
    # Nova reads the clock once per default, so a bare request's end (and the
    # cap) come a moment after its start: an empty period, not a 400.
    later = now + timedelta(microseconds=1)
    start, stop = _parse(q.get("start"), now), _parse(q.get("end"), later)
    if not start < stop:
        raise BadRequest("Invalid start time. The start time cannot occur after the end "
                         "time.")
    return start, min(stop, later), q.get("detailed", "0") == "1"


def _hours(inst: Instance, start: datetime, stop: datetime) -> float:
    launched, ended = _aware(inst.launched_at), _aware(inst.terminated_at)
    if launched is None or (ended and ended < start) or launched > stop:
        return 0
    return ((min(stop, ended) if ended else stop) - max(launched, start)).total_seconds() / 3600


def _server_usage(inst: Instance, start: datetime, stop: datetime, now: datetime) -> dict:
    f = inst.flavor or {}
    launched, ended = _aware(inst.launched_at), _aware(inst.terminated_at)
    return {
        "instance_id": inst.uuid, "name": inst.display_name, "tenant_id": inst.project_id,
        "hours": _hours(inst, start, stop), "flavor": f.get("name", ""),
        "memory_mb": f.get("memory_mb", 0),
        "local_gb": f.get("root_gb", 0) + f.get("ephemeral_gb", 0),
        "vcpus": f.get("vcpus", 0), "started_at": _naive(launched), "ended_at": _naive(ended),
        "state": "terminated" if ended else inst.vm_state,
        "uptime": int(((ended or now) - launched).total_seconds()),
    }


def _usages(ctx: RequestContext, request: Request, h, project: str | None, links: bool
            ) -> tuple[list[dict], list[dict], bool]:
    q = request.query_params
    start, stop, detailed = _period(q)
    detailed = detailed or project is not None  # Nova's show is always detailed
    limit = views.limit_param(q, h.settings.api_max_limit) if links else \
        h.settings.api_max_limit
    stmt = select(Instance).where(or_(Instance.terminated_at == None,  # noqa: E711
                                      Instance.terminated_at > start),
                                  Instance.launched_at < stop)
    if project is not None:
        stmt = stmt.where(Instance.project_id == project)
    with h.db.reader() as s:
        if links and q.get("marker"):
            marker = s.exec(select(Instance).where(Instance.uuid == q["marker"])).first()
            if marker is None:
                raise BadRequest(f"Marker {q['marker']} could not be found.")
            stmt = stmt.where(tuple_(Instance.project_id, Instance.uuid)
                              > (marker.project_id, marker.uuid))
        rows = list(s.exec(stmt.order_by(Instance.project_id, Instance.uuid)
                           .limit(limit)).all())
    now = datetime.now(UTC)
    summaries: dict[str, dict] = {}
    servers = []
    for inst in rows:
        info = _server_usage(inst, start, stop, now)
        total = summaries.setdefault(inst.project_id, {
            "tenant_id": inst.project_id, **({"server_usages": []} if detailed else {}),
            "total_local_gb_usage": 0, "total_vcpus_usage": 0, "total_memory_mb_usage": 0,
            "total_hours": 0, "start": _naive(start), "stop": _naive(stop)})
        total["total_local_gb_usage"] += info["local_gb"] * info["hours"]
        total["total_vcpus_usage"] += info["vcpus"] * info["hours"]
        total["total_memory_mb_usage"] += info["memory_mb"] * info["hours"]
        total["total_hours"] += info["hours"]
        servers.append(info)
        if detailed:
            total["server_usages"].append(info)
    return list(summaries.values()), servers, bool(rows) and len(rows) == limit


def _next(ctx: RequestContext, request: Request, path: str, servers: list[dict]) -> list:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
    params.append(("marker", servers[-1]["instance_id"]))
    return [{"rel": "next", "href": f"{ctx.api_url}/{path}?{urlencode(params)}"}]


@router.get("")
def list_usage(request: Request, ctx: Ctx, h: Handles) -> dict:
    links = ctx.version.at_least("2.40")
    usages, servers, full = _usages(ctx, request, h, None, links)
    out: dict = {"tenant_usages": usages}
    if links and full:
        out["tenant_usages_links"] = _next(ctx, request, "os-simple-tenant-usage", servers)
    return out


@router.get("/{tenant_id}")
def show_usage(tenant_id: str, request: Request, ctx: Ctx, h: Handles) -> dict:
    # The route's rule was checked against the caller's project; Nova's
    # target is the project asked about.
    ctx.authorize("os_compute_api:os-simple-tenant-usage:show", {"project_id": tenant_id})
    links = ctx.version.at_least("2.40")
    usages, servers, full = _usages(ctx, request, h, tenant_id, links)
    out: dict = {"tenant_usage": usages[0] if usages else {}}
    if links and full:
        out["tenant_usage_links"] = _next(ctx, request, f"os-simple-tenant-usage/{tenant_id}",
                                          servers)
    return out

