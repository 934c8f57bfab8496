"""Writes of /v2.1/images/{id}/metadata (+ /{key}) through Nova's image proxy,
up to 2.38 (404 from 2.39, as in Nova; the reads are in proxy_images.py).

Nova reads the image, changes its properties and writes them back to the
image service with ``purge_props``; here the change goes to Glance as one
JSON patch (add, replace, remove) through openstacksdk as the caller, so the
image service's own rules decide who may change what.  The properties are
held to the project's ``metadata_items`` quota (Nova's 403 "Image metadata
limit exceeded").  Nova checks no policy here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import openstack.exceptions
from fastapi import APIRouter, Response

from api import cloud_proxy, quotas
from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest, Forbidden, NotFound
from api.routes.proxy_images import LAST_METADATA_VERSION, _metadata
from api.schemas.metadata import MetadataItemRequest, MetadataRequest

router = APIRouter(prefix="/v2.1/images", tags=["images (proxy, < 2.36)"])

_PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}


async def _check_quota(h, ctx: RequestContext, properties: dict) -> None:
    def limit() -> int:
        with h.db.reader() as s:
            return quotas.project_limits(s, ctx.project_id, h.settings)["metadata_items"]

    allowed = await asyncio.to_thread(limit)
    if 0 <= allowed < len(properties):
        raise Forbidden("Image metadata limit exceeded")


async def _write(h, ctx: RequestContext, image_id: str,
                 change: Any) -> dict:
    """Read the image's properties, let ``change`` give the new ones (or raise),
    check the quota and patch the difference into the image service."""
    def read(conn) -> dict:
        return _metadata(cloud_proxy.image_service(conn).get_image(image_id))

    cloud_proxy.removed_after(ctx, LAST_METADATA_VERSION)
    old = await cloud_proxy.call(h, ctx, read, not_found="Image not found.")
    new = change(dict(old))
    await _check_quota(h, ctx, new)
    ops = [{"op": "remove", "path": f"/{k}"} for k in old if k not in new]
    ops += [{"op": "replace" if k in old else "add", "path": f"/{k}", "value": v}
            for k, v in new.items() if old.get(k) != v]

    def patch(conn) -> None:
        if ops:
            svc = cloud_proxy.image_service(conn)
            resp = svc.patch(f"/images/{image_id}", json=ops, headers=_PATCH)
            openstack.exceptions.raise_from_response(resp)

    await cloud_proxy.call(h, ctx, patch, not_found="Image not found.")
    return new


@router.post("/{image_id}/metadata")
async def update_image_metadata(image_id: str, payload: MetadataRequest, ctx: Ctx,
                                h: Handles) -> dict:
    items = payload.as_dict()["metadata"]
    return {"metadata": await _write(h, ctx, image_id, lambda props: {**props, **items})}


@router.put("/{image_id}/metadata")
async def replace_image_metadata(image_id: str, payload: MetadataRequest, ctx: Ctx,
                                 h: Handles) -> dict:
    items = payload.as_dict()["metadata"]
    await _write(h, ctx, image_id, lambda _props: dict(items))
    return {"metadata": items}


@router.put("/{image_id}/metadata/{key}")
async def set_image_metadata_item(image_id: str, key: str, payload: MetadataItemRequest,
                                  ctx: Ctx, h: Handles) -> dict:
    meta = payload.as_dict()["meta"]
    if key not in meta:
        raise BadRequest("Request body and URI mismatch")
    await _write(h, ctx, image_id, lambda props: {**props, key: meta[key]})
    return {"meta": meta}


@router.delete("/{image_id}/metadata/{key}", status_code=204)
async def delete_image_metadata_item(image_id: str, key: str, ctx: Ctx,
                                     h: Handles) -> Response:
    def without(props: dict) -> dict:
        if key not in props:
            raise NotFound("Invalid metadata key")
        return {k: v for k, v in props.items() if k != key}

    await _write(h, ctx, image_id, without)
    return Response(status_code=204)
