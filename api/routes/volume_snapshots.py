"""The Cinder stand-in's snapshots (``/volume/v3/{project}/snapshots``), in
Cinder v3's base (3.0) shapes.

- ``POST /snapshots`` ``{"snapshot": {"volume_id", "name", "description",
  "force", "metadata"}}``: a volume attached to a server (in-use) needs
  ``force`` (Cinder's 400 "Invalid volume" otherwise); the stand-in has no
  storage back end, so the snapshot is available at once, the volume's size;
- ``GET /snapshots``, ``/snapshots/detail``, ``GET/DELETE /snapshots/{id}``.

Scoped as the volumes are: the caller's project (``all_tenants=1`` lists every
project's for admins).  A volume with snapshots is not deleted (its route
checks for them).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session, select

from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest, NotFound
from api.routes.volumes import _scope, get_volume
from api.schemas.volumes import SnapshotCreateRequest, SnapshotListQuery
from api.views import isotime
from schema.models import VolumeSnapshot

router = APIRouter(tags=["volumes"])

_BASE = "/volume/v3/{project_id}/snapshots"


def _view(ctx: RequestContext, snap: VolumeSnapshot, detail: bool) -> dict:
    body = {"id": snap.id, "name": snap.name, "description": snap.description,
            "volume_id": snap.volume_id, "status": snap.status, "size": snap.size,
            "metadata": dict(snap.metadata_ or {}),
            "created_at": isotime(snap.created_at), "updated_at": isotime(snap.updated_at)}
    if detail:
        body["os-extended-snapshot-attributes:progress"] = "100%"
        body["os-extended-snapshot-attributes:project_id"] = snap.project_id
    return body


def _get(s: Session, ctx: RequestContext, snapshot_id: str) -> VolumeSnapshot:
    snap = s.get(VolumeSnapshot, snapshot_id)
    if snap is None or (snap.project_id != ctx.project_id and not ctx.is_admin):
        raise NotFound(f"Snapshot {snapshot_id} could not be found.")
    return snap


def _list(request: Request, ctx: RequestContext, h, project_id: str, detail: bool) -> dict:
    _scope(ctx, project_id)
    q = request.query_params
    stmt = select(VolumeSnapshot).order_by(VolumeSnapshot.created_at.desc(),
                                           VolumeSnapshot.id)
    if not (ctx.is_admin and q.get("all_tenants") not in (None, "0", "false", "False")):
        stmt = stmt.where(VolumeSnapshot.project_id == ctx.project_id)
    for key in ("name", "status", "volume_id"):
        if key in q:
            stmt = stmt.where(getattr(VolumeSnapshot, key) == q[key])
    with h.db.reader() as s:
        rows = list(s.exec(stmt).all())
    return {"snapshots": [_view(ctx, snap, detail) for snap in rows]}


@router.get(_BASE)
async def list_snapshots(project_id: str, request: Request, ctx: Ctx, h: Handles,
                         _query: Annotated[SnapshotListQuery, Query()]) -> dict:
    return _list(request, ctx, h, project_id, detail=False)


@router.get(_BASE + "/detail")
async def list_snapshots_detail(project_id: str, request: Request, ctx: Ctx, h: Handles,
                                _query: Annotated[SnapshotListQuery, Query()]) -> dict:
    return _list(request, ctx, h, project_id, detail=True)


@router.get(_BASE + "/{snapshot_id}")
async def show_snapshot(project_id: str, snapshot_id: str, ctx: Ctx, h: Handles) -> dict:
    _scope(ctx, project_id)
    with h.db.reader() as s:
        return {"snapshot": _view(ctx, _get(s, ctx, snapshot_id), detail=True)}


@router.post(_BASE, status_code=202)
async def create_snapshot(project_id: str, payload: SnapshotCreateRequest, ctx: Ctx,
                          h: Handles) -> dict:
    _scope(ctx, project_id)
    body = payload.snapshot
    with h.db.writer() as s:
        vol = get_volume(s, ctx, body.volume_id)
        allowed = ("available", "in-use") if body.force else ("available",)
        if vol.status not in allowed:
            raise BadRequest(f"Invalid volume: Volume {vol.id} status must be "
                             f"{' or '.join(allowed)}, but current status is: {vol.status}.")
        snap = VolumeSnapshot(
            volume_id=vol.id, size=vol.size, project_id=ctx.project_id, user_id=ctx.user_id,
            name=body.name if body.name is not None else body.display_name,
            description=(body.description if body.description is not None
                         else body.display_description),
            metadata_=dict(body.metadata or {}))
        s.add(snap)
        s.flush()
        made = _view(ctx, snap, detail=False)
    return {"snapshot": made}


@router.delete(_BASE + "/{snapshot_id}", status_code=202)
async def delete_snapshot(project_id: str, snapshot_id: str, ctx: Ctx, h: Handles
                          ) -> Response:
    _scope(ctx, project_id)
    with h.db.writer() as s:
        snap = _get(s, ctx, snapshot_id)
        if snap.status not in ("available", "error"):
            raise BadRequest("Invalid snapshot: Volume Snapshot status must be available "
                             "or error and must not be part of a group.")
        s.delete(snap)
    return Response(status_code=202)
