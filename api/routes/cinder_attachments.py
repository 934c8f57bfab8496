"""The Cinder stand-in's attachments API (Cinder 3.27+), in Cinder's shapes.

The subset Nova uses to attach a volume to a server:

- ``POST /attachments`` ``{"attachment": {"volume_uuid", "instance_uuid",
  "connector"?, "mode"?}}`` reserves the volume for the server (volume
  ``reserved``; ``attaching`` when a connector is given at once);
- ``PUT /attachments/{id}`` with the host's ``connector`` answers the
  ``connection_info`` the host connects with (volume ``attaching``);
- ``POST /attachments/{id}/action`` ``{"os-complete": ...}`` (3.44): the
  volume is ``in-use``;
- ``DELETE /attachments/{id}``: the volume is ``available`` again;
- ``GET /attachments``, ``/attachments/detail``, ``/attachments/{id}``;
- and the legacy ``os-detach`` volume action, for volumes attached before
  attachments existed (a boot's volumes).

A volume that is not multiattach is reserved by one attachment only:
Cinder's 400 "Invalid volume" otherwise.  Attachments are visible to the
volume's project and to admins (Nova calls as its service user, an admin).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from sqlmodel import Session, select

from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest, NotFound
from api.routes.volumes import _scope, get_volume
from api.views import isotime
from schema.models import Volume, VolumeAttachment, utcnow

router = APIRouter(tags=["volumes"])

_BASE = "/volume/v3/{project_id}/attachments"
_AnyBody = Annotated[Any, Body()]


def volume_path(settings: Any, volume_id: str) -> str:
    """Where the stand-in's volume lives on the hosts (a file back end)."""
    return str((settings.state_dir / "volumes" / f"volume-{volume_id}").resolve())


def _view(a: VolumeAttachment, settings: Any, detail: bool = True) -> dict:
    body = {"id": a.id, "status": a.status, "instance": a.instance_uuid,
            "volume_id": a.volume_id}
    if detail:
        body.update({
            "attach_mode": a.attach_mode, "attached_at": isotime(a.attached_at)
            if a.attached_at else None, "detached_at": None,
            "connection_info": _connection_info(a, settings) if a.connector else {}})
    return body


def _connection_info(a: VolumeAttachment, settings: Any) -> dict:
    return {"driver_volume_type": "file", "access_mode": a.attach_mode,
            "attachment_id": a.id, "volume_id": a.volume_id,
            "data": {"device_path": volume_path(settings, a.volume_id),
                     "access_mode": a.attach_mode}}


def _inner(body: Any, key: str = "attachment") -> dict:
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise BadRequest(f"Missing required element '{key}' in request body.")
    return body[key]


def _attachment(s: Session, ctx: RequestContext, attachment_id: str) -> VolumeAttachment:
    a = s.get(VolumeAttachment, attachment_id)
    if a is not None:
        vol = s.get(Volume, a.volume_id)
        if vol is not None and (vol.project_id == ctx.project_id or ctx.is_admin):
            return a
    raise NotFound(f"VolumeAttachment {attachment_id} could not be found.")


def _connector(value: Any) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("mountpoint", ""), str):
        raise BadRequest("Invalid input received: connector must be an object")
    return value


def _release_if_unused(s: Session, vol: Volume | None, gone: str) -> None:
    if vol is None:
        return
    others = s.exec(select(VolumeAttachment).where(VolumeAttachment.volume_id == vol.id,
                                                   VolumeAttachment.id != gone)).first()
    if others is None:
        vol.status, vol.attached_to, vol.device, vol.updated_at = (
            "available", None, None, utcnow())
        s.add(vol)


@router.post(_BASE)
async def create_attachment(project_id: str, body: _AnyBody, ctx: Ctx, h: Handles) -> dict:
    _scope(ctx, project_id)
    inner = _inner(body)
    volume_id, instance_uuid = inner.get("volume_uuid"), inner.get("instance_uuid")
    if not isinstance(volume_id, str):
        raise BadRequest("Invalid input received: volume_uuid is required")
    if instance_uuid is not None and (not isinstance(instance_uuid, str)
                                      or len(instance_uuid) > 255):
        raise BadRequest("Invalid input received: instance_uuid must be a string")
    connector = _connector(inner.get("connector"))
    mode = inner.get("mode") or "rw"
    if not isinstance(mode, str) or mode not in ("rw", "ro"):
        raise BadRequest(f"Invalid input received: Invalid attachment mode '{mode}'")
    with h.db.writer() as s:
        vol = get_volume(s, ctx, volume_id)
        if vol.status not in ("available", "downloading"):
            raise BadRequest(f"Invalid volume: Volume {vol.id} status must be available or "
                             f"downloading to reserve, but the current status is "
                             f"{vol.status}.")
        a = VolumeAttachment(volume_id=vol.id, instance_uuid=instance_uuid,
                             status="attaching" if connector else "reserved",
                             attach_mode=mode, connector=connector)
        vol.status = a.status
        vol.attached_to, vol.updated_at = instance_uuid, utcnow()
        s.add_all([a, vol])
        s.flush()
        return {"attachment": _view(a, h.settings)}


@router.put(_BASE + "/{attachment_id}")
async def update_attachment(project_id: str, attachment_id: str, body: _AnyBody, ctx: Ctx,
                            h: Handles) -> dict:
    _scope(ctx, project_id)
    connector = _connector(_inner(body).get("connector"))
    if not connector:
        raise BadRequest("Invalid input received: connector is required")
    with h.db.writer() as s:
        a = _attachment(s, ctx, attachment_id)
        a.connector = connector
        if a.status == "reserved":
            a.status = "attaching"
            vol = s.get(Volume, a.volume_id)
            if vol is not None:
                vol.status, vol.updated_at = "attaching", utcnow()
                s.add(vol)
        s.add(a)
        return {"attachment": _view(a, h.settings)}


@router.post(_BASE + "/{attachment_id}/action", status_code=204)
async def attachment_action(project_id: str, attachment_id: str, body: _AnyBody, ctx: Ctx,
                            h: Handles) -> None:
    _scope(ctx, project_id)
    if not isinstance(body, dict) or "os-complete" not in body:
        raise BadRequest("Invalid input received: only os-complete is supported")
    with h.db.writer() as s:
        a = _attachment(s, ctx, attachment_id)
        a.status, a.attached_at = "attached", utcnow()
        vol = s.get(Volume, a.volume_id)
        if vol is not None:
            vol.status, vol.attached_to, vol.updated_at = "in-use", a.instance_uuid, utcnow()
            vol.device = (a.connector or {}).get("mountpoint")
            s.add(vol)
        s.add(a)


@router.delete(_BASE + "/{attachment_id}")
async def delete_attachment(project_id: str, attachment_id: str, ctx: Ctx,
                            h: Handles) -> dict:
    """Cinder answers with the volume's remaining attachments."""
    _scope(ctx, project_id)
    with h.db.writer() as s:
        a = _attachment(s, ctx, attachment_id)
        vol = s.get(Volume, a.volume_id)
        _release_if_unused(s, vol, a.id)
        s.delete(a)
        s.flush()
        rest = s.exec(select(VolumeAttachment)
                      .where(VolumeAttachment.volume_id == a.volume_id)).all()
        return {"attachments": [_view(r, h.settings, detail=False) for r in rest]}


def _list(request: Request, ctx: RequestContext, h, detail: bool) -> dict:
    q = request.query_params
    stmt = select(VolumeAttachment, Volume.project_id).join(
        Volume, Volume.id == VolumeAttachment.volume_id).order_by(VolumeAttachment.created_at)
    if not ctx.is_admin:
        stmt = stmt.where(Volume.project_id == ctx.project_id)
    if q.get("volume_id"):
        stmt = stmt.where(VolumeAttachment.volume_id == q["volume_id"])
    if q.get("instance_id"):
        stmt = stmt.where(VolumeAttachment.instance_uuid == q["instance_id"])
    with h.db.reader() as s:
        rows = [a for a, _project in s.exec(stmt).all()]
    return {"attachments": [_view(a, h.settings, detail) for a in rows]}


@router.get(_BASE)
async def list_attachments(project_id: str, request: Request, ctx: Ctx, h: Handles) -> dict:
    _scope(ctx, project_id)
    return _list(request, ctx, h, detail=False)


@router.get(_BASE + "/detail")
async def list_attachments_detail(project_id: str, request: Request, ctx: Ctx,
                                  h: Handles) -> dict:
    _scope(ctx, project_id)
    return _list(request, ctx, h, detail=True)


@router.get(_BASE + "/{attachment_id}")
async def show_attachment(project_id: str, attachment_id: str, ctx: Ctx, h: Handles) -> dict:
    _scope(ctx, project_id)
    with h.db.reader() as s:
        return {"attachment": _view(_attachment(s, ctx, attachment_id), h.settings)}


@router.post("/volume/v3/{project_id}/volumes/{volume_id}/action", status_code=202)
async def volume_action(project_id: str, volume_id: str, body: _AnyBody, ctx: Ctx,
                        h: Handles) -> None:
    """The legacy ``os-detach``: frees a volume attached without an attachment
    record (a boot's volumes), or through the attachment it names."""
    _scope(ctx, project_id)
    if not isinstance(body, dict) or "os-detach" not in body:
        raise BadRequest("Invalid input received: only os-detach is supported")
    inner = body["os-detach"] if isinstance(body["os-detach"], dict) else {}
    with h.db.writer() as s:
        vol = get_volume(s, ctx, volume_id)
        att_id = inner.get("attachment_id")
        if not isinstance(att_id, str | None):
            raise BadRequest("Invalid input received: attachment_id must be a string")
        if att_id:
            a = s.get(VolumeAttachment, att_id)
            if a is not None and a.volume_id == vol.id:
                s.delete(a)
                _release_if_unused(s, vol, a.id)
                return
        if vol.attached_to is None:
            raise BadRequest(f"Invalid volume: Volume {vol.id} is not attached")
        _release_if_unused(s, vol, att_id or "")
