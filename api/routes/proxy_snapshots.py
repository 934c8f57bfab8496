"""/v2.1/os-snapshots (+ /detail, /{id}): Nova's volume-snapshot proxy,
kept for microversions up to 2.35 (404 from 2.36).

Snapshots are read, made (``force`` snapshots an in-use volume) and deleted
in the volume service through openstacksdk as the caller
(``api.cloud_proxy``), and shown in Nova's camel-case shape (its
``_translate_snapshot_summary_view``; the detail view is the same).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from api import cloud_proxy
from api.deps import Ctx, Handles, RequestContext
from api.schemas.proxy import ProxySnapshotCreateRequest

router = APIRouter(prefix="/v2.1", tags=["volume snapshots (proxy, < 2.36)"])

LAST_VERSION = "2.35"


def snapshot_view(snap: Any) -> dict:
    """A snapshot as Nova's os-snapshots shows it."""
    return {"id": snap.id, "volumeId": snap.volume_id, "status": snap.status,
            "size": snap.size, "createdAt": snap.created_at, "displayName": snap.name,
            "displayDescription": snap.description}


async def _list(request: Request, ctx: RequestContext, h, rule: str) -> dict:
    ctx.require_admin(rule)
    cloud_proxy.removed_after(ctx, LAST_VERSION)
    snaps = await cloud_proxy.call(
        h, ctx, lambda conn: list(cloud_proxy.block_storage(conn).snapshots(details=True)))
    page = cloud_proxy.offset_page(request, snaps, h.settings.api_max_limit)
    return {"snapshots": [snapshot_view(s) for s in page]}


@router.get("/os-snapshots")
async def list_snapshots(request: Request, ctx: Ctx, h: Handles) -> dict:
    return await _list(request, ctx, h, "os_compute_api:os-volumes:snapshots:list")


@router.get("/os-snapshots/detail")
async def list_snapshots_detail(request: Request, ctx: Ctx, h: Handles) -> dict:
    return await _list(request, ctx, h, "os_compute_api:os-volumes:snapshots:detail")


@router.get("/os-snapshots/{snapshot_id}")
async def show_snapshot(snapshot_id: str, ctx: Ctx, h: Handles) -> dict:
    ctx.require_admin("os_compute_api:os-volumes:snapshots:show")
    cloud_proxy.removed_after(ctx, LAST_VERSION)
    snap = await cloud_proxy.call(
        h, ctx, lambda conn: cloud_proxy.block_storage(conn).get_snapshot(snapshot_id),
        not_found=f"Snapshot {snapshot_id} could not be found.")
    return {"snapshot": snapshot_view(snap)}


@router.post("/os-snapshots")
async def create_snapshot(payload: ProxySnapshotCreateRequest, ctx: Ctx, h: Handles) -> dict:
    ctx.require_admin("os_compute_api:os-volumes:snapshots:create")
    cloud_proxy.removed_after(ctx, LAST_VERSION)
    asked = payload.snapshot
    snap = await cloud_proxy.call(
        h, ctx, lambda conn: cloud_proxy.block_storage(conn).create_snapshot(
            volume_id=asked.volume_id, name=asked.display_name,
            description=asked.display_description, force=asked.force),
        not_found=f"Volume {asked.volume_id} could not be found.")
    return {"snapshot": snapshot_view(snap)}


@router.delete("/os-snapshots/{snapshot_id}", status_code=202)
async def delete_snapshot(snapshot_id: str, ctx: Ctx, h: Handles) -> Response:
    ctx.require_admin("os_compute_api:os-volumes:snapshots:delete")
    cloud_proxy.removed_after(ctx, LAST_VERSION)
    await cloud_proxy.call(
        h, ctx, lambda conn: cloud_proxy.block_storage(conn).delete_snapshot(
            snapshot_id, ignore_missing=False),
        not_found=f"Snapshot {snapshot_id} could not be found.")
    return Response(status_code=202)
