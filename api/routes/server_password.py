"""/v2.1/servers/{id}/os-server-password: the encrypted password the guest
posted to the metadata service (show), and clearing it.  Clearing does not
change the guest's password, as in Nova."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import delete as sql_delete

from api.deps import Ctx, Handles
from api.routes.servers import get_instance
from schema.models import InstancePassword

router = APIRouter(prefix="/v2.1/servers", tags=["server password"])


@router.get("/{server_id}/os-server-password")
def show_password(server_id: str, ctx: Ctx, h: Handles) -> dict:
    with h.db.reader() as s:
        inst = get_instance(s, ctx, server_id)
        row = s.get(InstancePassword, inst.uuid)
        return {"password": row.password if row else ""}


@router.delete("/{server_id}/os-server-password", status_code=204)
def clear_password(server_id: str, ctx: Ctx, h: Handles) -> Response:
    with h.db.writer() as s:
        inst = get_instance(s, ctx, server_id)
        s.execute(sql_delete(InstancePassword).where(InstancePassword.instance_uuid == inst.uuid))
    return Response(status_code=204)
