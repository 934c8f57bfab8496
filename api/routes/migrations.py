"""/v2.1/os-migrations and /v2.1/servers/{id}/migrations: migration records,
in Nova's shapes per microversion.

Every move writes one row (resize, cold or live migration) whose status the
move's workflow advances.  Nova's shapes only: the move's workflow is
named by the ``Novaflow-Workflow`` header of its instance action
(``GET /servers/{id}/os-instance-actions/{request_id}``, admins).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlmodel import or_, select

from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest, NotFound
from api.routes.servers import get_instance
from api.schemas.common import database_id
from api.schemas.lists import MigrationListQuery
from api.validation import integer
from schema.models import Migration

router = APIRouter(tags=["migrations"])

LIVE_IN_PROGRESS = ("queued", "preparing", "running", "post-migrating")


def _ts(ts: datetime | None) -> str | None:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%f") if ts else None


def _links(ctx: RequestContext, mig: Migration) -> list[dict]:
    path = f"servers/{mig.instance_uuid}/migrations/{mig.id}"
    return [{"rel": "self", "href": f"{ctx.api_url}/{path}"},
            {"rel": "bookmark", "href": f"{ctx.base_url}/{path}"}]


def migration_view(ctx: RequestContext, mig: Migration) -> dict:
    """One row of GET /os-migrations."""
    body = {
        "id": mig.id,
        "instance_uuid": mig.instance_uuid,
        "status": mig.status,
        "source_compute": mig.source_compute,
        "source_node": mig.source_node,
        "dest_compute": mig.dest_compute,
        "dest_node": mig.dest_node,
        "dest_host": mig.dest_host,
        "old_instance_type_id": (mig.old_flavor or {}).get("id"),
        "new_instance_type_id": (mig.new_flavor or {}).get("id"),
        "created_at": _ts(mig.created_at),
        "updated_at": _ts(mig.updated_at),
    }
    if ctx.version.at_least("2.23"):
        body["migration_type"] = mig.migration_type
        if mig.migration_type == "live-migration" and mig.status in LIVE_IN_PROGRESS:
            body["links"] = _links(ctx, mig)
    if ctx.version.at_least("2.59"):
        body["uuid"] = mig.uuid
    if ctx.version.at_least("2.80"):
        body["user_id"], body["project_id"] = mig.user_id, mig.project_id
    return body


def server_migration_view(ctx: RequestContext, mig: Migration) -> dict:
    """One in-progress live migration of GET /servers/{id}/migrations."""
    body = {
        "id": mig.id,
        "server_uuid": mig.instance_uuid,
        "status": mig.status,
        "source_compute": mig.source_compute,
        "source_node": mig.source_node,
        "dest_compute": mig.dest_compute,
        "dest_node": mig.dest_node,
        "dest_host": mig.dest_host,
        # libvirt's job progress is not tracked: Nova reports None before it starts too.
        "memory_total_bytes": None,
        "memory_processed_bytes": None,
        "memory_remaining_bytes": None,
        "disk_total_bytes": None,
        "disk_processed_bytes": None,
        "disk_remaining_bytes": None,
        "created_at": _ts(mig.created_at),
        "updated_at": _ts(mig.updated_at),
    }
    if ctx.version.at_least("2.59"):
        body["uuid"] = mig.uuid
    if ctx.version.at_least("2.80"):
        body["user_id"], body["project_id"] = mig.user_id, mig.project_id
    return body


def _time(q, key: str) -> datetime:
    try:
        ts = datetime.fromisoformat(q[key])
    except ValueError:
        raise BadRequest(f"Invalid input for query parameters {key}. Value: {q[key]}. "
                         f"'{q[key]}' is not a 'date-time'") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


@router.get("/v2.1/os-migrations")
async def list_migrations(request: Request, ctx: Ctx, h: Handles,
                          _query: Annotated[MigrationListQuery, Query()]) -> dict:
    ctx.require_admin("os_compute_api:os-migrations:index")
    q = request.query_params
    stmt = select(Migration)
    for key in ("status", "instance_uuid", "source_compute", "migration_type"):
        if key in q:
            stmt = stmt.where(getattr(Migration, key) == q[key])
    if "host" in q:
        stmt = stmt.where(or_(Migration.source_compute == q["host"],
                              Migration.dest_compute == q["host"]))
    paged = ctx.version.at_least("2.59")
    if paged and "changes-since" in q:
        stmt = stmt.where(Migration.updated_at >= _time(q, "changes-since"))
    if ctx.version.at_least("2.66") and "changes-before" in q:
        if "changes-since" in q and _time(q, "changes-before") < _time(q, "changes-since"):
            raise BadRequest("The value of changes-since must be less than or equal to "
                             "changes-before.")
        stmt = stmt.where(Migration.updated_at <= _time(q, "changes-before"))
    if ctx.version.at_least("2.80"):
        for key in ("user_id", "project_id"):
            if key in q:
                stmt = stmt.where(getattr(Migration, key) == q[key])
    stmt = stmt.order_by(Migration.created_at.desc(), Migration.id.desc())
    with h.db.reader() as s:
        rows = list(s.exec(stmt).all())
    limit = None
    if paged:
        if "marker" in q:
            uuids = [m.uuid for m in rows]
            if q["marker"] not in uuids:
                raise BadRequest(f"Marker {q['marker']} could not be found.")
            rows = rows[uuids.index(q["marker"]) + 1:]
        limit = integer(dict(q), "limit", minimum=0)
        limit = min(limit, h.settings.api_max_limit) if limit is not None else None
        if limit is not None:
            rows = rows[:limit]
    out: dict = {"migrations": [migration_view(ctx, m) for m in rows]}
    if paged and rows and limit is not None and len(rows) == limit:
        params = {k: v for k, v in q.items() if k != "marker"}
        params["marker"] = rows[-1].uuid
        query = "&".join(f"{k}={v}" for k, v in params.items())
        out["migrations_links"] = [{"rel": "next",
                                    "href": f"{ctx.api_url}/os-migrations?{query}"}]
    return out


def _server_migrations_allowed(ctx: RequestContext, action: str) -> None:
    if not ctx.version.at_least("2.23"):
        raise NotFound("The resource could not be found.")
    ctx.require_admin(f"os_compute_api:servers:migrations:{action}")


@router.get("/v2.1/servers/{server_id}/migrations")
async def list_server_migrations(server_id: str, ctx: Ctx, h: Handles) -> dict:
    _server_migrations_allowed(ctx, "index")
    with h.db.reader() as s:
        get_instance(s, ctx, server_id)
        rows = s.exec(select(Migration).where(
            Migration.instance_uuid == server_id,
            Migration.migration_type == "live-migration",
            Migration.status.in_(LIVE_IN_PROGRESS)).order_by(Migration.id)).all()
    return {"migrations": [server_migration_view(ctx, m) for m in rows]}


@router.get("/v2.1/servers/{server_id}/migrations/{migration_id}")
async def show_server_migration(server_id: str, migration_id: str, ctx: Ctx,
                                h: Handles) -> dict:
    _server_migrations_allowed(ctx, "show")
    with h.db.reader() as s:
        get_instance(s, ctx, server_id)
        mig = None
        if migration_id.isdigit():
            mig = s.exec(select(Migration).where(Migration.id == database_id(migration_id),
                                                 Migration.instance_uuid == server_id)).first()
    if mig is None:
        raise NotFound(f"In-progress live migration {migration_id} is not found for server "
                       f"{server_id}.")
    if mig.migration_type != "live-migration":
        raise NotFound(f"Migration {migration_id} for server {server_id} is not "
                       "live-migration.")
    if mig.status not in LIVE_IN_PROGRESS:
        raise NotFound(f"Live migration {migration_id} for server {server_id} is not in "
                       "progress.")
    return {"migration": server_migration_view(ctx, mig)}
