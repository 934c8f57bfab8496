"""/v2.1/servers/{id}/os-volume_attachments: a server's volumes, attached
and detached while it runs (Nova's ``volumes.VolumeAttachmentController``).

POST picks the device name (the next free ``/dev/vdX``, as Nova's libvirt
driver does: a requested ``device`` is checked but not honoured), writes the
block-device-mapping row and starts AttachVolumeWorkflow through the one
operation start; it answers 200 with the attachment at once, as Nova does,
and the volume turns in-use when the host has plugged it.  DELETE starts
DetachVolumeWorkflow (202); the root volume is refused.  PUT with the same
volume updates ``delete_on_termination`` (2.85); with another volume it is
an admin's swap (SwapVolumeWorkflow, 202).  Shown per microversion:
``tag`` from 2.70, ``delete_on_termination`` from 2.79, and from 2.89
``attachment_id`` and ``bdm_uuid`` instead of ``id``.

Volumes are Cinder's: looked up through its API as the caller (``api/cloud_proxy.py``),
as Nova's API does with the request's context, never in the stand-in's tables.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlmodel import Session, select

from api import cloud_proxy
from api.deps import AppHandles, Ctx, Handles, RequestContext
from api.errors import BadRequest, NotFound
from api.operations import Operation, check_transition, op_timeouts, start_operation
from api.routes.servers import get_instance
from api.schemas.common import QueryInt, check_versions
from api.schemas.volume_attachments import (
    VolumeAttachmentCreateRequest,
    VolumeAttachmentUpdateRequest,
)
from schema.models import BlockDeviceMapping, Instance
from workflows.volume_attach import (
    AttachVolumeWorkflow,
    DetachVolumeWorkflow,
    SwapVolumeInput,
    SwapVolumeWorkflow,
    VolumeAttachInput,
)

router = APIRouter(prefix="/v2.1/servers/{server_id}/os-volume_attachments",
                   tags=["volume attachments"])

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def attachment_view(ctx: RequestContext, row: BlockDeviceMapping) -> dict:
    body: dict = {"device": row.device_name, "serverId": row.instance_uuid,
                  "volumeId": row.volume_id}
    if ctx.version.at_least("2.89"):
        body["attachment_id"] = row.attachment_id
        body["bdm_uuid"] = row.uuid
    else:
        body["id"] = row.volume_id
    if ctx.version.at_least("2.70"):
        body["tag"] = row.tag
    if ctx.version.at_least("2.79"):
        body["delete_on_termination"] = row.delete_on_termination
    return body


def _rows(s: Session, server_id: str) -> list[BlockDeviceMapping]:
    return list(s.exec(select(BlockDeviceMapping)
                       .where(BlockDeviceMapping.instance_uuid == server_id,
                              BlockDeviceMapping.volume_id.is_not(None))
                       .order_by(BlockDeviceMapping.id)).all())


def _row(s: Session, server_id: str, volume_id: str) -> BlockDeviceMapping:
    row = next((r for r in _rows(s, server_id) if r.volume_id == volume_id), None)
    if row is None:
        raise NotFound(f"Instance {server_id} is not attached to volume {volume_id}")
    return row


def next_device(inst: Instance, rows: list[BlockDeviceMapping]) -> str:
    """The next free /dev/vdX: after the local root, ephemeral and swap disks
    (in the order a boot lays them out) and the volumes already there."""
    used = {(r.device_name or "").removeprefix("/dev/") for r in rows}
    flavor = inst.flavor or {}
    local = [bool(inst.image_ref), bool(flavor.get("ephemeral_gb")), bool(flavor.get("swap"))]
    taken = sum(local)
    for letter in _LETTERS[taken:]:
        if f"vd{letter}" not in used:
            return f"/dev/vd{letter}"
    raise BadRequest("No free disk device names for prefix 'vd'")


@router.get("")
async def list_volume_attachments(server_id: str, ctx: Ctx, h: Handles,
                                  limit: Annotated[QueryInt | None, Query()] = None,
                                  offset: Annotated[QueryInt, Query()] = 0) -> dict:
    def read() -> list[dict]:
        with h.db.reader() as s:
            get_instance(s, ctx, server_id)
            rows = _rows(s, server_id)
        rows = rows[offset:offset + limit] if limit is not None else rows[offset:]
        return [attachment_view(ctx, r) for r in rows]
    return {"volumeAttachments": await asyncio.to_thread(read)}


@router.get("/{volume_id}")
async def show_volume_attachment(server_id: str, volume_id: str, ctx: Ctx,
                                 h: Handles) -> dict:
    def read() -> dict:
        with h.db.reader() as s:
            get_instance(s, ctx, server_id)
            return attachment_view(ctx, _row(s, server_id, volume_id))
    return {"volumeAttachment": await asyncio.to_thread(read)}


async def _volume(h: AppHandles, ctx: RequestContext, volume_id: str):
    """The volume from Cinder, as the caller sees it (404 if they cannot)."""
    return await cloud_proxy.call(
        h, ctx, lambda conn: cloud_proxy.block_storage(conn).get_volume(volume_id),
        not_found=f"Volume {volume_id} could not be found.")


def _not_attached_here(s: Session, inst: Instance, volume_id: str) -> None:
    if any(r.volume_id == volume_id for r in _rows(s, inst.uuid)):
        raise BadRequest(f"Invalid volume: volume {volume_id} already attached")


async def _check_volume(h: AppHandles, ctx: RequestContext, inst: Instance,
                        volume_id: str) -> None:
    """Nova's API checks before it reserves: the volume exists for the caller,
    is not on this server already, and is free (Cinder's attachment create
    checks the last again, for good)."""
    vol = await _volume(h, ctx, volume_id)

    def not_here() -> None:
        with h.db.reader() as s:
            _not_attached_here(s, inst, volume_id)

    await asyncio.to_thread(not_here)
    if vol.status != "available" or any(a.get("server_id") for a in vol.attachments or []):
        raise BadRequest(f"Invalid volume: Volume {volume_id} status must be available or "
                         f"downloading to reserve, but the current status is {vol.status}.")


@router.post("")
async def attach_volume(server_id: str, payload: VolumeAttachmentCreateRequest, ctx: Ctx,
                        h: Handles) -> dict:
    check_versions(payload, ctx.version)
    body = payload.volumeAttachment
    volume_id = body.volumeId.lower()
    if "-" not in volume_id:
        volume_id = str(uuid.UUID(volume_id))

    def check() -> Instance:
        with h.db.reader() as s:
            inst = get_instance(s, ctx, server_id)
            check_transition("attach_volume", inst, ctx)
            return inst

    inst = await asyncio.to_thread(check)
    await _check_volume(h, ctx, inst, volume_id)
    shown: dict = {}

    def prepare(s: Session, row: Instance, _workflow_id: str) -> None:
        _not_attached_here(s, row, volume_id)  # again, in the transaction
        bdm = BlockDeviceMapping(
            instance_uuid=row.uuid, volume_id=volume_id, source_type="volume",
            destination_type="volume", device_name=next_device(row, _rows(s, row.uuid)),
            delete_on_termination=bool(body.delete_on_termination),
            tag=body.tag, uuid=str(uuid.uuid4()))
        s.add(bdm)
        s.flush()
        shown.update(attachment_view(ctx, bdm))

    def undo(s: Session, row: Instance, _workflow_id: str) -> None:
        for bdm in s.exec(select(BlockDeviceMapping).where(
                BlockDeviceMapping.instance_uuid == row.uuid,
                BlockDeviceMapping.volume_id == volume_id)).all():
            s.delete(bdm)

    await _start(h, ctx, inst, "attach_volume", AttachVolumeWorkflow.run, volume_id,
                 prepare=prepare, undo=undo)
    for key in ("attachment_id", "bdm_uuid"):  # Nova's POST answer has neither
        shown.pop(key, None)
    if ctx.version.at_least("2.89"):
        shown.setdefault("id", volume_id)
    return {"volumeAttachment": shown}


async def _start(h: AppHandles, ctx: RequestContext, inst: Instance, key: str, workflow,
                 volume_id: str, prepare=None, undo=None) -> None:
    await start_operation(h, ctx, inst, Operation(
        key=key, workflow=workflow,
        workflow_id=lambda row, action_id: f"{key}-{row.uuid}-{action_id}",
        make_input=lambda op_ctx, _started: VolumeAttachInput(
            ctx=op_ctx, volume_id=volume_id, timeouts=op_timeouts(h)),
        prepare=prepare, undo=undo,
        summary=f"{key} {volume_id} on {inst.display_name} ({inst.host})",
        details=f"server {inst.uuid}, volume {volume_id}"))


@router.delete("/{volume_id}", status_code=202)
async def detach_volume(server_id: str, volume_id: str, ctx: Ctx, h: Handles) -> Response:
    def check() -> Instance:
        with h.db.reader() as s:
            inst = get_instance(s, ctx, server_id)
            check_transition("detach_volume", inst, ctx)
            row = _row(s, server_id, volume_id)
            if row.boot_index == 0:
                raise BadRequest("Cannot detach a root device volume")
            return inst

    inst = await asyncio.to_thread(check)
    await _start(h, ctx, inst, "detach_volume", DetachVolumeWorkflow.run, volume_id)
    return Response(status_code=202)


async def _swap(h: AppHandles, ctx: RequestContext, server_id: str, old: str,
                new: str) -> None:
    def check() -> Instance:
        with h.db.reader() as s:
            inst = get_instance(s, ctx, server_id)
            check_transition("swap_volume", inst, ctx)
            _row(s, server_id, old)
            return inst

    inst = await asyncio.to_thread(check)
    await _volume(h, ctx, old)
    await _check_volume(h, ctx, inst, new)
    await start_operation(h, ctx, inst, Operation(
        key="swap_volume", workflow=SwapVolumeWorkflow.run,
        workflow_id=lambda row, action_id: f"swap_volume-{row.uuid}-{action_id}",
        make_input=lambda op_ctx, _started: SwapVolumeInput(
            ctx=op_ctx, old_volume_id=old, new_volume_id=new, timeouts=op_timeouts(h)),
        summary=f"swap_volume {old} -> {new} on {inst.display_name} ({inst.host})",
        details=f"server {inst.uuid}, volume {old} -> {new}"))


@router.put("/{volume_id}", status_code=202)
async def update_volume_attachment(server_id: str, volume_id: str,
                                   payload: VolumeAttachmentUpdateRequest, ctx: Ctx,
                                   h: Handles) -> Response:
    """2.85: the same volume with a new ``delete_on_termination``; another
    volume is a swap (admin only)."""
    check_versions(payload, ctx.version)
    body = payload.volumeAttachment
    new_volume = body.volumeId.lower()
    if new_volume != volume_id.lower() or not ctx.version.at_least("2.85"):
        ctx.require_admin("os_compute_api:os-volumes-attachments:swap")
        await _swap(h, ctx, server_id, volume_id, new_volume)
        return Response(status_code=202)

    def update() -> None:
        with h.db.writer() as s:
            get_instance(s, ctx, server_id)
            row = _row(s, server_id, volume_id)
            for key, have in (("id", row.volume_id), ("serverId", row.instance_uuid),
                              ("device", row.device_name), ("tag", row.tag)):
                sent = getattr(body, key)
                if key in body.model_fields_set and sent != have:
                    raise BadRequest(f"The {key} property is not mutable")
            if body.delete_on_termination is not None:
                row.delete_on_termination = body.delete_on_termination
                s.add(row)

    await asyncio.to_thread(update)
    return Response(status_code=202)
