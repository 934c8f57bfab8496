"""rebuild: the server again from an image, on its host, with new adminPass.

The body follows Nova's schema per microversion (2.19 description, 2.54
key_name, 2.57 user_data replacing personality, 2.63 trusted certificates
accepted and ignored, 2.90 hostname).  Like Nova's API, the new image and
the other fields are written on the instance when the operation starts
(``prepare`` of ``start_operation``, undone if Temporal cannot take it);
RebuildServerWorkflow (workflows/rebuild.py) checks the image against the
host, rebuilds the domain and rolls the image back if the host refuses it.
Answers 202 with the server (status REBUILD) and its new adminPass.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi.responses import JSONResponse
from sqlmodel import Session, select

from api import images, views
from api import security_groups as security_groups_api
from api.actions import action
from api.deps import AppHandles, RequestContext
from api.errors import BadRequest
from api.operations import Operation, check_transition, op_timeouts, start_operation
from api.routes import servers, volumes
from api.validation import no_extra_keys, string, validate_metadata
from novaflow.images import GlanceImage
from schema.models import Instance, KeyPair
from workflows.rebuild import RebuildServerInput, RebuildServerWorkflow

_SINCE = {"description": "2.19", "key_name": "2.54", "user_data": "2.57",
          "trusted_image_certificates": "2.63", "hostname": "2.90"}
_ALWAYS = {"imageRef", "name", "adminPass", "metadata", "preserve_ephemeral",
           "OS-DCF:diskConfig", "accessIPv4", "accessIPv6"}


def _allowed_keys(ctx: RequestContext) -> set[str]:
    keys = set(_ALWAYS) | {k for k, v in _SINCE.items() if ctx.version.at_least(v)}
    if not ctx.version.at_least("2.57"):
        keys.add("personality")
    return keys


async def _image(h: AppHandles, ctx: RequestContext, inst: Instance, ref: Any
                 ) -> GlanceImage:
    flavor = inst.flavor or {}
    image = await images.boot_image(h, ctx, ref, int(flavor.get("memory_mb") or 0),
                                    int(flavor.get("root_gb") or 0),
                                    volume_backed=not inst.image_ref)
    if not inst.image_ref and image.id != (inst.image or {}).get("id"):
        # Reimaging the root volume (2.93) needs Cinder's reimage: not here yet.
        raise BadRequest(f"Image {image.id} is unacceptable: Unable to rebuild with a "
                         "different image for a volume-backed server.")
    return image


def _changes(h: AppHandles, ctx: RequestContext, inst: Instance, body: dict) -> dict:
    """The instance fields the rebuild writes, validated."""
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["display_name"] = servers._name(body, required=False)
    if "metadata" in body:
        changes["metadata_"] = validate_metadata(body["metadata"])
    if "description" in body:
        changes["description"] = string(body, "description")
    if "user_data" in body:
        changes["user_data"] = servers._user_data(body)
    if "hostname" in body:
        changes["hostname"] = servers._hostname(ctx, body, inst.display_name, 1)
    if "key_name" in body:
        key_name = string(body, "key_name")
        if key_name is not None:
            with h.db.reader() as s:
                if s.exec(select(KeyPair).where(KeyPair.user_id == ctx.user_id,
                                                KeyPair.name == key_name)).first() is None:
                    raise BadRequest(f"Invalid key_name provided: key pair {key_name} could "
                                     "not be found")
        changes["key_name"] = key_name
    return changes


@action("rebuild", operations=("rebuild",))
async def rebuild(h: AppHandles, ctx: RequestContext, inst: Instance, body: Any):
    if not isinstance(body, dict):
        raise BadRequest("Invalid input for field/attribute rebuild. Value: "
                         f"{body!r:.100}. {body!r:.100} is not of type 'object'")
    no_extra_keys(body, _allowed_keys(ctx), "rebuild")
    if "imageRef" not in body:
        raise BadRequest("Invalid input for field/attribute rebuild. 'imageRef' is a "
                         "required property")
    preserve = body.get("preserve_ephemeral", False)
    if not isinstance(preserve, bool):
        raise BadRequest(f"Invalid input for field/attribute preserve_ephemeral. Value: "
                         f"{preserve!r:.50}. {preserve!r:.50} is not of type 'boolean'")
    password = string(body, "adminPass") or secrets.token_urlsafe(9)
    check_transition("rebuild", inst, ctx)
    image = await _image(h, ctx, inst, body["imageRef"])
    changes = _changes(h, ctx, inst, body)
    changes["image"] = {"id": image.id, "name": image.name,
                        "properties": dict(image.properties)}
    if inst.image_ref:
        changes["image_ref"] = image.id
    previous = {k: getattr(inst, k) for k in changes}
    image_changed = image.id != (inst.image or {}).get("id", inst.image_ref)

    def prepare(_s: Session, row: Instance, _workflow_id: str) -> None:
        for key, value in changes.items():
            setattr(row, key, value)

    def undo(s: Session, row: Instance, _workflow_id: str) -> None:
        back = s.get(Instance, row.id)
        for key, value in previous.items():
            setattr(back, key, value)
        s.add(back)

    await start_operation(h, ctx, inst, Operation(
        key="rebuild", workflow=RebuildServerWorkflow.run,
        workflow_id=lambda row, action_id: f"rebuild-{row.uuid}-{action_id}",
        make_input=lambda op_ctx, _started: RebuildServerInput(
            ctx=op_ctx, image_changed=image_changed,
            previous_image_ref=previous.get("image_ref", inst.image_ref),
            previous_image=dict(previous["image"] or {}), preserve_ephemeral=preserve,
            timeouts=op_timeouts(h)),
        prepare=prepare, undo=undo,
        summary=f"rebuild {inst.display_name} on {inst.host} from image {image.name}",
        details=f"server {inst.uuid}, image {image.id}"))
    with h.db.reader() as s:
        row = s.get(Instance, inst.id)
        attached = volumes.attached_volumes(s, [row.uuid]).get(row.uuid)
    body = views.server_detail(ctx, row, volumes=attached, single=True)
    if ctx.version.at_least("2.75"):  # before, the answer leaves the groups out
        security_groups_api.show_groups(
            [body], security_groups_api.names_of_servers([row]))
    shown = views.server_partial(ctx, body)
    if ctx.version.at_least("2.57"):
        shown["user_data"] = row.user_data  # Nova's rebuild answer shows it from 2.57
    shown["adminPass"] = password
    return JSONResponse({"server": shown}, status_code=202)
