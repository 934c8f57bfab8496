"""rescue / unrescue: the server booted from a rescue image with its own
disk attached second, and back.

``rescue`` takes ``adminPass`` and ``rescue_image_ref`` (default: the
server's own image); a volume-backed server is refused (Nova before 2.87's
stable rescue).  Answers 200 with the rescue's adminPass, which never enters
the workflow's input (the test driver's rescue domain has no guest agent to
give it to).  ``unrescue`` answers 202.  Both run as workflows
(workflows/rescue.py) started through ``start_operation``.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi.responses import JSONResponse

from activities.types.catalog import ImageInfo
from api import images
from api.actions import action
from api.deps import AppHandles, RequestContext
from api.errors import BadRequest
from api.operations import Operation, check_transition, op_timeouts, start_operation
from api.validation import is_uuid, no_extra_keys, string
from schema.models import Instance
from workflows.rescue import RescueInput, RescueServerWorkflow, UnrescueServerWorkflow


async def _rescue_image(h: AppHandles, ctx: RequestContext, inst: Instance,
                        ref: Any) -> ImageInfo:
    if ref is None:
        image = inst.image or {}
        return ImageInfo(id=image.get("id", inst.image_ref), name=image.get("name", ""),
                         properties=dict(image.get("properties") or {}))
    ref = str(ref).rstrip("/").split("/")[-1]
    img = await images.find_image(h, ctx, ref) if is_uuid(ref) else None
    if img is None or img.status != "active":
        raise BadRequest(f"Image {ref} could not be found.")
    return ImageInfo(id=img.id, name=img.name, properties=dict(img.properties or {}),
                     min_disk=img.min_disk, min_ram=img.min_ram)


def _operation(h: AppHandles, inst: Instance, key: str, workflow: Any,
               image: ImageInfo | None) -> Operation:
    return Operation(
        key=key, workflow=workflow,
        workflow_id=lambda row, action_id: f"{key}-{row.uuid}-{action_id}",
        make_input=lambda op_ctx, _started: RescueInput(
            ctx=op_ctx, host=inst.host or "", rescue_image=image, timeouts=op_timeouts(h)),
        summary=f"{key} {inst.display_name} on {inst.host}"
                + (f" from image {image.name or image.id}" if image else ""),
        details=f"server {inst.uuid}")


@action("rescue", operations=("rescue",))
async def rescue(h: AppHandles, ctx: RequestContext, inst: Instance, body: Any):
    body = {} if body is None else body
    if not isinstance(body, dict):
        raise BadRequest("Invalid input for field/attribute rescue. Value: "
                         f"{body!r:.100}. {body!r:.100} is not of type 'object', 'null'")
    no_extra_keys(body, {"adminPass", "rescue_image_ref"}, "rescue")
    password = string(body, "adminPass") or secrets.token_urlsafe(9)
    check_transition("rescue", inst, ctx)
    if not inst.image_ref:
        raise BadRequest(f"Instance {inst.uuid} cannot be rescued: Cannot rescue a "
                         "volume-backed instance")
    image = await _rescue_image(h, ctx, inst, body.get("rescue_image_ref"))
    await start_operation(h, ctx, inst, _operation(h, inst, "rescue",
                                                   RescueServerWorkflow.run, image))
    return JSONResponse({"adminPass": password}, status_code=200)


@action("unrescue", operations=("unrescue",))
async def unrescue(h: AppHandles, ctx: RequestContext, inst: Instance, body: Any):
    if body is not None:
        raise BadRequest("Invalid input for field/attribute unrescue. Value: "
                         f"{body!r:.100}. {body!r:.100} is not of type 'null'")
    check_transition("unrescue", inst, ctx)
    await start_operation(h, ctx, inst, _operation(h, inst, "unrescue",
                                                   UnrescueServerWorkflow.run, None))
