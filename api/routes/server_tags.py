"""/v2.1/servers/{id}/tags (2.26+): list, replace all, delete all, check, add,
delete one.

Tags change only while the server is active, paused, suspended or stopped
(Nova's ``_check_instance_in_valid_state``); otherwise 409.  Adding a tag the
server has is a no-op (204), a new one is 201 with its ``Location``.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import delete as sql_delete
from sqlmodel import Session

from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest, Conflict, NotFound
from api.routes.servers import get_instance
from api.schemas.server_tags import MAX_TAGS, ServerTagsRequest
from api.tags import set_tags, tags_of, valid_tag
from novaflow.states import VmState
from schema.models import Instance, InstanceTag, utcnow

router = APIRouter(prefix="/v2.1/servers", tags=["server tags"])

_TAGGABLE = (VmState.ACTIVE, VmState.PAUSED, VmState.SUSPENDED, VmState.STOPPED)


def _version(ctx: RequestContext) -> None:
    if not ctx.version.at_least("2.26"):
        raise NotFound("The resource could not be found.")


def _taggable(s: Session, ctx: RequestContext, server_id: str, verb: str) -> Instance:
    inst = get_instance(s, ctx, server_id)
    if inst.vm_state not in _TAGGABLE:
        raise Conflict(f"Cannot '{verb}' instance {server_id} while it is in vm_state "
                       f"{inst.vm_state}")
    return inst


def _touch(s: Session, inst: Instance) -> None:
    inst.updated_at = utcnow()  # changes-since sees a retagged server
    s.add(inst)


@router.get("/{server_id}/tags")
def list_tags(server_id: str, ctx: Ctx, h: Handles) -> dict:
    _version(ctx)
    with h.db.reader() as s:
        inst = get_instance(s, ctx, server_id)
        return {"tags": tags_of(s, [inst.uuid])[inst.uuid]}


@router.put("/{server_id}/tags")
def replace_tags(server_id: str, payload: ServerTagsRequest, ctx: Ctx, h: Handles) -> dict:
    _version(ctx)
    with h.db.writer() as s:
        inst = _taggable(s, ctx, server_id, "update tags")
        tags = set_tags(s, inst.uuid, payload.tags)
        _touch(s, inst)
    return {"tags": tags}


@router.delete("/{server_id}/tags", status_code=204)
def delete_tags(server_id: str, ctx: Ctx, h: Handles) -> Response:
    _version(ctx)
    with h.db.writer() as s:
        inst = _taggable(s, ctx, server_id, "delete tags")
        set_tags(s, inst.uuid, [])
        _touch(s, inst)
    return Response(status_code=204)


@router.get("/{server_id}/tags/{tag}", status_code=204)
def check_tag(server_id: str, tag: str, ctx: Ctx, h: Handles) -> Response:
    _version(ctx)
    with h.db.reader() as s:
        inst = get_instance(s, ctx, server_id)
        if tag not in tags_of(s, [inst.uuid])[inst.uuid]:
            raise NotFound(f"Server {server_id} has no tag '{tag}'")
    return Response(status_code=204)


@router.put("/{server_id}/tags/{tag}")
def add_tag(server_id: str, tag: str, ctx: Ctx, h: Handles) -> Response:
    _version(ctx)
    with h.db.writer() as s:
        inst = _taggable(s, ctx, server_id, "update tag")
        if not valid_tag(tag):
            raise BadRequest(f"Tag '{tag:.100}' is invalid. It must be a non empty string "
                             "without characters '/' and ','. Validation error message: "
                             f"'{tag:.100}' does not match '^[^,/]*$' or is longer than 60")
        tags = tags_of(s, [inst.uuid])[inst.uuid]
        if len(tags) >= MAX_TAGS:
            raise BadRequest(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
        # The published schema wants the Location on both answers (Nova's
        # code sends it only with 201; a client loses nothing by it).
        location = {"Location": f"{ctx.api_url}/servers/{server_id}/tags/{tag}"}
        if tag in tags:
            return Response(status_code=204, headers=location)
        s.add(InstanceTag(instance_uuid=inst.uuid, tag=tag))
        _touch(s, inst)
    return Response(status_code=201, headers=location)


@router.delete("/{server_id}/tags/{tag}", status_code=204)
def delete_tag(server_id: str, tag: str, ctx: Ctx, h: Handles) -> Response:
    _version(ctx)
    with h.db.writer() as s:
        inst = _taggable(s, ctx, server_id, "delete tag")
        if tag not in tags_of(s, [inst.uuid])[inst.uuid]:
            raise NotFound(f"Instance {server_id} has no tag '{tag}'")
        s.execute(sql_delete(InstanceTag).where(InstanceTag.instance_uuid == inst.uuid,
                                                InstanceTag.tag == tag))
        _touch(s, inst)
    return Response(status_code=204)
