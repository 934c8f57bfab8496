"""/v2.1/os-volumes (+ /detail, /{id}): Nova's
volume proxy, kept for microversions up to 2.35 (404 from 2.36).

Volumes are read, made and deleted in the volume service through
openstacksdk as the caller (``api.cloud_proxy``) and shown in Nova's
camel-case shape (its ``_translate_volume_detail_view``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from api import cloud_proxy
from api.deps import Ctx, Handles, RequestContext
from api.schemas.proxy import ProxyVolumeCreateRequest

router = APIRouter(prefix="/v2.1", tags=["volumes (proxy, < 2.36)"])

LAST_VERSION = "2.35"


def volume_view(vol: Any) -> dict:
    """A volume as Nova's os-volumes shows it."""
    body = {"id": vol.id, "status": vol.status, "size": vol.size,
            "availabilityZone": vol.availability_zone, "createdAt": vol.created_at,
            "attachments": [{}], "displayName": vol.name,
            "displayDescription": vol.description, "volumeType": vol.volume_type,
            "snapshotId": vol.snapshot_id, "metadata": dict(vol.metadata or {})}
    attached = [a for a in vol.attachments or [] if a.get("server_id")]
    if attached:
        first = attached[0]
        body["attachments"] = [{"id": vol.id, "volumeId": vol.id,
                                "serverId": first["server_id"]}]
        if first.get("device"):
            body["attachments"][0]["device"] = first["device"]
    return body


async def _list(request: Request, ctx: RequestContext, h, rule: str) -> dict:
    ctx.require_admin(rule)
    cloud_proxy.removed_after(ctx, LAST_VERSION)
    vols = await cloud_proxy.call(
        h, ctx, lambda conn: list(cloud_proxy.block_storage(conn).volumes(details=True)))
    page = cloud_proxy.offset_page(request, vols, h.settings.api_max_limit)
    return {"volumes": [volume_view(v) for v in page]}


@router.get("/os-volumes")
async def list_volumes(request: Request, ctx: Ctx, h: Handles) -> dict:
    return await _list(request, ctx, h, "os_compute_api:os-volumes:list")


@router.get("/os-volumes/detail")
async def list_volumes_detail(request: Request, ctx: Ctx, h: Handles) -> dict:
    return await _list(request, ctx, h, "os_compute_api:os-volumes:detail")


@router.get("/os-volumes/{volume_id}")
async def show_volume(volume_id: str, ctx: Ctx, h: Handles) -> dict:
    ctx.require_admin("os_compute_api:os-volumes:show")
    cloud_proxy.removed_after(ctx, LAST_VERSION)
    vol = await cloud_proxy.call(
        h, ctx, lambda conn: cloud_proxy.block_storage(conn).get_volume(volume_id),
        not_found=f"Volume {volume_id} could not be found.")
    return {"volume": volume_view(vol)}


@router.post("/os-volumes")
async def create_volume(payload: ProxyVolumeCreateRequest, request: Request,
                        response: Response, ctx: Ctx, h: Handles) -> dict:
    ctx.require_admin("os_compute_api:os-volumes:create")
    cloud_proxy.removed_after(ctx, LAST_VERSION)
    asked = payload.as_dict()["volume"]
    attrs = {"size": asked["size"], "name": asked.get("display_name"),
             "description": asked.get("display_description")}
    for key in ("volume_type", "metadata", "snapshot_id", "availability_zone"):
        if asked.get(key) is not None:
            attrs[key] = asked[key]
    vol = await cloud_proxy.call(
        h, ctx, lambda conn: cloud_proxy.block_storage(conn).create_volume(**attrs))
    response.headers["Location"] = f"{str(request.url).rstrip('/')}/{vol.id}"
    return {"volume": volume_view(vol)}


@router.delete("/os-volumes/{volume_id}", status_code=202)
async def delete_volume(volume_id: str, ctx: Ctx, h: Handles) -> Response:
    ctx.require_admin("os_compute_api:os-volumes:delete")
    cloud_proxy.removed_after(ctx, LAST_VERSION)
    await cloud_proxy.call(
        h, ctx, lambda conn: cloud_proxy.block_storage(conn).delete_volume(
            volume_id, ignore_missing=False),
        not_found=f"Volume {volume_id} could not be found.")
    return Response(status_code=202)
