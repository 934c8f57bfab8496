"""createImage and createBackup: the server's root disk as a new image.

As in Nova's API, the image is created (queued, private to the server's
project) when the operation starts, with the properties Nova gives a
snapshot: the base image's inheritable properties, ``base_image_ref``,
``instance_uuid``, ``user_id``, ``image_type`` (``snapshot`` or ``backup``,
with ``backup_type``) and the body's ``metadata``.  SnapshotServerWorkflow
(workflows/snapshot.py) copies the disk on the host, makes the image active
and, for a backup, deletes the oldest backups beyond ``rotation``.

Answers 202: from 2.45 with ``{"image_id": ...}``, before with a Location
header naming the image (a backup with rotation 0 has none, as Nova).
Volume-backed servers: createImage snapshots their volumes through Cinder
and answers an image naming the snapshots, in the API as Nova does
(api/actions/snapshot_volume_backed.py); createBackup is refused with 400,
as Nova refuses it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi.responses import JSONResponse, Response

from api.actions import action
from api.actions.snapshot_volume_backed import snapshot_volume_backed
from api.deps import AppHandles, RequestContext
from api.errors import BadRequest, ServiceUnavailable
from api.operations import Operation, check_transition, op_timeouts, start_operation
from api.validation import no_extra_keys, string, validate_metadata
from novaflow.images import ImageServiceUnavailable
from schema.models import Instance
from workflows.snapshot import SnapshotServerInput, SnapshotServerWorkflow

# Never copied from the base image (Nova's non_inheritable_image_properties
# and the ones it always drops), nor the catalog's own bookkeeping.
_NOT_INHERITED = {"cache_in_nova", "bittorrent", "img_signature", "img_signature_hash_method",
                  "img_signature_key_type", "img_signature_certificate_uuid",
                  "checksum", "os_hash_algo", "os_hash_value", "protected", "tags",
                  "instance_uuid", "image_type", "backup_type", "user_id", "base_image_ref"}


def inherited_properties(inst: Instance) -> dict:
    """The server's image properties a snapshot of it inherits."""
    base = dict((inst.image or {}).get("properties") or {})
    return {k: v for k, v in base.items() if k not in _NOT_INHERITED}


async def snapshot_image(h: AppHandles, ctx: RequestContext, inst: Instance, name: str,
                         image_type: str, extra: dict | None = None) -> str:
    """Create in Glance the queued image a snapshot of ``inst`` fills, as
    Nova's ``compute_utils.create_image`` describes it; returns its id."""
    props = inherited_properties(inst)
    if inst.image_ref:
        props["base_image_ref"] = inst.image_ref
    props.update({"instance_uuid": inst.uuid, "user_id": ctx.user_id,
                  "image_type": image_type})
    props.update(extra or {})
    root_gb = int((inst.flavor or {}).get("root_gb") or 0)
    client = h.image_client()

    def create() -> str:
        base_img = client.get(inst.image_ref, inst.project_id, True) if inst.image_ref \
            else None
        return client.create_queued(
            name, owner=inst.project_id,
            # Another project's admin snapshotting shares it; the owner's is private.
            visibility="private" if ctx.project_id == inst.project_id else "shared",
            disk_format=(base_img.disk_format if base_img else None) or "qcow2",
            container_format="bare", min_ram=base_img.min_ram if base_img else 0,
            min_disk=max(root_gb, base_img.min_disk if base_img else 0), properties=props)
    try:
        return await asyncio.to_thread(create)
    except ImageServiceUnavailable as exc:
        raise ServiceUnavailable(f"The image service is unavailable: {exc}") from exc


async def delete_snapshot_image(h: AppHandles, image_id: str) -> None:
    """The queued image of an operation that did not start."""
    with contextlib.suppress(ImageServiceUnavailable):
        await asyncio.to_thread(h.image_client().delete, image_id)


def _body(body: Any, name: str, allowed: set[str]) -> dict:
    if not isinstance(body, dict):
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {body!r:.100}. "
                         f"{body!r:.100} is not of type 'object'")
    no_extra_keys(body, allowed, name)
    if "name" not in body:
        raise BadRequest(f"Invalid input for field/attribute {name}. 'name' is a required "
                         "property")
    return body


def _name(body: dict) -> str:
    value = string(body, "name", required=True, min_len=1, max_len=255)
    if value != value.strip():
        raise BadRequest(f"Invalid input for field/attribute name. Value: {value!r:.100}. "
                         f"{value!r:.100} does not match '^(?! )[\\x20-\\x7e]*(?<! )$'")
    return value


async def _start(h: AppHandles, ctx: RequestContext, inst: Instance, key: str,
                 image_id: str, backup_type: str | None = None,
                 rotation: int | None = None) -> None:
    kind = "backup" if backup_type is not None else "snapshot"
    try:
        await start_operation(h, ctx, inst, Operation(
            key=key, workflow=SnapshotServerWorkflow.run,
            workflow_id=lambda row, action_id: f"snapshot-{row.uuid}-{action_id}",
            make_input=lambda op_ctx, _started: SnapshotServerInput(
                ctx=op_ctx, host=inst.host or "", image_id=image_id,
                backup_type=backup_type, rotation=rotation, timeouts=op_timeouts(h)),
            summary=f"{kind} {inst.display_name} on {inst.host} to image {image_id}",
            details=f"server {inst.uuid}, image {image_id}"))
    except BaseException:
        await delete_snapshot_image(h, image_id)
        raise


def _answer(ctx: RequestContext, image_id: str, location: bool) -> Response:
    if ctx.version.at_least("2.45"):
        return JSONResponse({"image_id": image_id}, status_code=202)
    headers = {"Location": f"{ctx.base_url}/image/v2/images/{image_id}"} if location else None
    return Response(status_code=202, headers=headers)


@action("createImage", operations=("createImage",))
async def create_image(h: AppHandles, ctx: RequestContext, inst: Instance, body: Any):
    body = _body(body, "createImage", {"name", "metadata"})
    name = _name(body)
    metadata = validate_metadata(body.get("metadata", {}))
    check_transition("createImage", inst, ctx)
    if not inst.image_ref:
        image_id = await snapshot_volume_backed(h, ctx, inst, name, inherited_properties(inst),
                                                metadata)
        return _answer(ctx, image_id, location=True)
    image_id = await snapshot_image(h, ctx, inst, name, "snapshot", metadata)
    await _start(h, ctx, inst, "createImage", image_id)
    return _answer(ctx, image_id, location=True)


@action("createBackup", operations=("createBackup",))
async def create_backup(h: AppHandles, ctx: RequestContext, inst: Instance, body: Any):
    body = _body(body, "createBackup", {"name", "backup_type", "rotation", "metadata"})
    name = _name(body)
    for key in ("backup_type", "rotation"):
        if key not in body:
            raise BadRequest(f"Invalid input for field/attribute createBackup. '{key}' is "
                             "a required property")
    backup_type = string(body, "backup_type", required=True)
    rotation = body["rotation"]
    if isinstance(rotation, str) and rotation.strip().isdigit():
        rotation = int(rotation)
    if isinstance(rotation, bool) or not isinstance(rotation, int) or rotation < 0:
        raise BadRequest(f"Invalid input for field/attribute rotation. Value: "
                         f"{body['rotation']!r:.50}. {body['rotation']!r:.50} is not a "
                         "non-negative integer")
    metadata = validate_metadata(body.get("metadata", {}))
    check_transition("createBackup", inst, ctx)
    if not inst.image_ref:
        raise BadRequest("Backup is not supported for volume-backed instances.")
    image_id = await snapshot_image(h, ctx, inst, name, "backup",
                                    {**metadata, "backup_type": backup_type})
    await _start(h, ctx, inst, "createBackup", image_id, backup_type, rotation)
    return _answer(ctx, image_id, location=rotation > 0)
