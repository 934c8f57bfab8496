"""The API's image look-ups, as Nova's API makes them: Glance through
``novaflow.images`` (openstacksdk, endpoint from the catalog), run in a
thread, answered with Nova's error texts."""

from __future__ import annotations

import asyncio

from api.deps import AppHandles, RequestContext
from api.errors import BadRequest, ServiceUnavailable
from novaflow.images import GlanceImage, ImageServiceUnavailable, boot_refusal


def image_id_of(ref: object) -> str:
    """An imageRef's id: Nova also takes the image's URL."""
    return str(ref or "").rstrip("/").split("/")[-1]


async def find_image(h: AppHandles, ctx: RequestContext, ref: str) -> GlanceImage | None:
    """The image as the caller's project may see it, else None."""
    client = h.image_client()
    try:
        return await asyncio.to_thread(client.get, ref, ctx.project_id, ctx.is_admin)
    except ImageServiceUnavailable as exc:
        raise ServiceUnavailable(f"Connection to glance failed: {exc}") from exc


async def boot_image(h: AppHandles, ctx: RequestContext, ref: str, memory_mb: int,
                     root_gb: int, volume_backed: bool = False) -> GlanceImage:
    """The image a server boots (or rebuilds) from, checked as Nova's API
    checks it: it exists for the project, is active and fits the flavor."""
    image = await find_image(h, ctx, image_id_of(ref))
    if image is None:
        raise BadRequest(f"Image {image_id_of(ref)} could not be found.")
    refusal = boot_refusal(image, memory_mb, root_gb, volume_backed)
    if refusal:
        raise BadRequest(refusal)
    return image
