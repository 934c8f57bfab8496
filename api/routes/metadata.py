"""/v2.1/servers/{id}/metadata (+ /{key}): a server's key/value metadata.

POST merges, PUT replaces the whole set, PUT /{key} sets one item.  As in
Nova, changes are refused (409) unless the server rests in active, paused,
suspended or stopped with no task running, and the item count is capped by
the project's ``metadata_items`` quota.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlmodel import Session

from api import quotas
from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest, Conflict, NotFound
from api.routes.servers import get_instance
from api.schemas.metadata import MetadataItemRequest, MetadataRequest
from api.validation import validate_metadata
from novaflow.states import VmState
from schema.models import Instance, utcnow

router = APIRouter(prefix="/v2.1/servers/{server_id}/metadata", tags=["server metadata"])

_WRITABLE_STATES = (VmState.ACTIVE, VmState.PAUSED, VmState.SUSPENDED, VmState.STOPPED)


def _writable(s: Session, ctx: RequestContext, server_id: str, verb: str) -> Instance:
    inst = get_instance(s, ctx, server_id)
    if inst.task_state is not None:
        raise Conflict(f"Cannot '{verb}' instance {inst.uuid} while it is in task_state "
                       f"{inst.task_state}")
    if inst.vm_state not in _WRITABLE_STATES:
        raise Conflict(f"Cannot '{verb}' instance {inst.uuid} while it is in vm_state "
                       f"{inst.vm_state}")
    return inst


def _store(s: Session, h, inst: Instance, metadata: dict[str, str]) -> None:
    quotas.check_metadata_items(s, inst.project_id, len(metadata), h.settings)
    inst.metadata_ = dict(metadata)
    inst.updated_at = utcnow()
    s.add(inst)


@router.get("")
async def list_metadata(server_id: str, ctx: Ctx, h: Handles) -> dict:
    with h.db.reader() as s:
        return {"metadata": dict(get_instance(s, ctx, server_id).metadata_ or {})}


@router.post("")
async def update_metadata(server_id: str, payload: MetadataRequest, ctx: Ctx,
                          h: Handles) -> dict:
    body = payload.as_dict()["metadata"]
    new = validate_metadata(body)
    with h.db.writer() as s:
        inst = _writable(s, ctx, server_id, "update_instance_metadata")
        merged = {**(inst.metadata_ or {}), **new}
        _store(s, h, inst, merged)
    return {"metadata": merged}


@router.put("")
async def replace_metadata(server_id: str, payload: MetadataRequest, ctx: Ctx,
                           h: Handles) -> dict:
    body = payload.as_dict()
    if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict):
        raise BadRequest("Malformed request body")
    new = validate_metadata(body["metadata"])
    with h.db.writer() as s:
        _store(s, h, _writable(s, ctx, server_id, "update_instance_metadata"), new)
    return {"metadata": new}


@router.get("/{key}")
async def show_metadata_item(server_id: str, key: str, ctx: Ctx, h: Handles) -> dict:
    with h.db.reader() as s:
        metadata = get_instance(s, ctx, server_id).metadata_ or {}
    if key not in metadata:
        raise NotFound("Metadata item was not found")
    return {"meta": {key: metadata[key]}}


@router.put("/{key}")
async def set_metadata_item(server_id: str, key: str, payload: MetadataItemRequest,
                            ctx: Ctx, h: Handles) -> dict:
    body = payload.as_dict()
    meta = body.get("meta") if isinstance(body, dict) else None
    if not isinstance(meta, dict):
        raise BadRequest("Malformed request body")
    if len(meta) > 1:
        raise BadRequest("Request body contains too many items")
    if key not in meta:
        raise BadRequest("Request body and URI mismatch")
    item = validate_metadata(meta, "meta")
    with h.db.writer() as s:
        inst = _writable(s, ctx, server_id, "update_instance_metadata")
        _store(s, h, inst, {**(inst.metadata_ or {}), **item})
    return {"meta": item}


@router.delete("/{key}", status_code=204)
async def delete_metadata_item(server_id: str, key: str, ctx: Ctx, h: Handles) -> Response:
    with h.db.writer() as s:
        inst = _writable(s, ctx, server_id, "delete_instance_metadata")
        metadata = dict(inst.metadata_ or {})
        if key not in metadata:
            raise NotFound("Metadata item was not found")
        del metadata[key]
        inst.metadata_ = metadata
        inst.updated_at = utcnow()
        s.add(inst)
    return Response(status_code=204)
