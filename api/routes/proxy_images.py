"""/v2.1/images (+ /detail, /{id}, /{id}/metadata): Nova's image proxy,
kept for microversions up to 2.35 (404 from 2.36, as in Nova; the metadata
reads up to 2.38).

The images are read from the image service through openstacksdk as the
caller (``api.cloud_proxy``), and shown in Nova's v2.1 shapes (its
``views/images.py``): ``minRam``/``minDisk``, Glance's own properties as
``metadata``, the status mapped to Nova's words.  Nova checks no policy
here: the image service decides what the caller may see or delete.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from api import cloud_proxy, views
from api.deps import Ctx, Handles, RequestContext
from api.errors import NotFound

router = APIRouter(prefix="/v2.1/images", tags=["images (proxy, < 2.36)"])

LAST_VERSION = "2.35"
LAST_METADATA_VERSION = "2.38"  # Nova keeps /images/{id}/metadata three versions longer
_STATUS = {"active": "ACTIVE", "queued": "SAVING", "saving": "SAVING", "deleted": "DELETED",
           "pending_delete": "DELETED", "killed": "ERROR"}
# Nova's filters and the image service's names for them.
_FILTERS = {"name": "name", "status": "status", "minRam": "min_ram", "minDisk": "min_disk"}


def _links(ctx: RequestContext, image_id: str, glance_url: str) -> list[dict]:
    return [*views.links(ctx, "images", image_id),
            {"rel": "alternate", "type": "application/vnd.openstack.image",
             "href": f"{glance_url.rstrip('/')}/images/{image_id}"}]


def _metadata(image: Any) -> dict:
    return {k: v for k, v in (image.properties or {}).items()
            if isinstance(v, str | int | float | bool) and k not in ("stores",)}


def image_detail(ctx: RequestContext, image: Any, glance_url: str) -> dict:
    """One image as Nova's GET /images/{id} shows it."""
    meta = _metadata(image)
    body = {"id": image.id, "name": image.name, "minRam": int(image.min_ram or 0),
            "minDisk": int(image.min_disk or 0), "metadata": meta,
            "created": image.created_at, "updated": image.updated_at,
            "status": _STATUS.get(image.status, "UNKNOWN"),
            "progress": {"active": 100, "saving": 50}.get(image.status, 0),
            "OS-EXT-IMG-SIZE:size": image.size,
            "links": _links(ctx, image.id, glance_url)}
    if meta.get("instance_uuid"):
        body["server"] = {"id": meta["instance_uuid"],
                          "links": views.links(ctx, "servers", str(meta["instance_uuid"]))}
    if "auto_disk_config" in meta:
        auto = str(meta["auto_disk_config"]).lower() in ("1", "true", "yes", "on", "y", "t")
        body["OS-DCF:diskConfig"] = "AUTO" if auto else "MANUAL"
    return body


async def _images(request: Request, ctx: Ctx, h: Handles, detail: bool) -> dict:
    cloud_proxy.removed_after(ctx, LAST_VERSION)
    q = request.query_params
    filters = {glance: q[nova] for nova, glance in _FILTERS.items() if nova in q}
    if "status" in filters:
        filters["status"] = filters["status"].lower()

    def fetch(conn) -> tuple[list, str]:
        svc = cloud_proxy.image_service(conn)
        return list(svc.images(**filters)), svc.get_endpoint()

    images, glance_url = await cloud_proxy.call(h, ctx, fetch)
    images.sort(key=lambda i: (i.created_at or "", i.id), reverse=True)
    collection = "images/detail" if detail else "images"
    rows, links = views.page(ctx, request, images, key=lambda i: i.id, collection=collection,
                             max_limit=h.settings.api_max_limit)
    if detail:
        out: dict = {"images": [image_detail(ctx, i, glance_url) for i in rows]}
    else:
        out = {"images": [{"id": i.id, "name": i.name, "links": _links(ctx, i.id, glance_url)}
                          for i in rows]}
    if links:
        out["images_links"] = links
    return out


@router.get("")
async def list_images(request: Request, ctx: Ctx, h: Handles) -> dict:
    return await _images(request, ctx, h, detail=False)


@router.get("/detail")
async def list_images_detail(request: Request, ctx: Ctx, h: Handles) -> dict:
    return await _images(request, ctx, h, detail=True)


async def _image(ctx: RequestContext, h, image_id: str,
                 last: str = LAST_VERSION) -> tuple[Any, str]:
    cloud_proxy.removed_after(ctx, last)

    def fetch(conn) -> tuple[Any, str]:
        svc = cloud_proxy.image_service(conn)
        return svc.get_image(image_id), svc.get_endpoint()

    return await cloud_proxy.call(h, ctx, fetch, not_found="Image not found.")


@router.get("/{image_id}")
async def show_image(image_id: str, ctx: Ctx, h: Handles) -> dict:
    image, glance_url = await _image(ctx, h, image_id)
    return {"image": image_detail(ctx, image, glance_url)}


@router.delete("/{image_id}", status_code=204)
async def delete_image(image_id: str, ctx: Ctx, h: Handles) -> Response:
    cloud_proxy.removed_after(ctx, LAST_VERSION)
    await cloud_proxy.call(
        h, ctx, lambda conn: cloud_proxy.image_service(conn).delete_image(
            image_id, ignore_missing=False), not_found="Image not found.")
    return Response(status_code=204)


@router.get("/{image_id}/metadata")
async def show_image_metadata(image_id: str, ctx: Ctx, h: Handles) -> dict:
    image, _ = await _image(ctx, h, image_id, LAST_METADATA_VERSION)
    return {"metadata": _metadata(image)}


@router.get("/{image_id}/metadata/{key}")
async def show_image_metadata_item(image_id: str, key: str, ctx: Ctx, h: Handles) -> dict:
    image, _ = await _image(ctx, h, image_id, LAST_METADATA_VERSION)
    meta = _metadata(image)
    if key not in meta:
        raise NotFound(f"Image metadata {key} not found.")
    return {"meta": {key: meta[key]}}
