"""Remote consoles: ``POST /v2.1/servers/{id}/remote-consoles`` (2.6+) and
``GET /v2.1/os-console-auth-tokens/{token}`` (admin).

The first answers ``{"remote_console": {"protocol", "type", "url"}}`` with a
URL on the console proxy carrying a new one-time token (api/consoles.py).
The second is Nova's consoleauth look-up: the console a live token opens
(``instance_uuid``, ``host``, ``port``, ``internal_access_path``); 404 for an
unknown, used or expired token, or one of a deleted server.  Before 2.31
Nova shows only RDP consoles' tokens (401 for the others), and novaflow
serves no RDP console.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from sqlmodel import select

from api.consoles import console_url
from api.deps import Ctx, Handles
from api.errors import BadRequest, NotFound, Unauthorized
from api.routes.servers import get_instance
from api.schemas.remote_consoles import RemoteConsoleRequest
from schema import console_tokens
from schema.models import Instance

router = APIRouter(prefix="/v2.1", tags=["remote consoles"])


@router.post("/servers/{server_id}/remote-consoles")
async def create_remote_console(server_id: str, payload: RemoteConsoleRequest, ctx: Ctx,
                                h: Handles) -> dict:
    if not ctx.version.at_least("2.6"):
        raise NotFound("The resource could not be found.")
    with h.db.reader() as s:
        inst = get_instance(s, ctx, server_id)
    protocol, kind = payload.remote_console.protocol, payload.remote_console.type
    if protocol == "mks" and not ctx.version.at_least("2.8"):
        raise BadRequest("Invalid input for field/attribute protocol. Value: 'mks'. "
                         "'mks' is not one of ['vnc', 'spice', 'rdp', 'serial']")
    url = await console_url(h, ctx, inst, protocol, kind)
    return {"remote_console": {"protocol": protocol, "type": kind, "url": url}}


@router.get("/os-console-auth-tokens/{console_token}")
async def show_console_auth_token(console_token: str, ctx: Ctx, h: Handles) -> dict:
    if not console_token.strip():
        raise BadRequest("token not provided")

    def lookup():
        with h.db.reader() as s:
            found = console_tokens.find(s, console_token)
            if found is None:
                return None
            # Nova drops a server's tokens when it is deleted.
            inst = s.exec(select(Instance).where(Instance.uuid == found.instance_uuid)).first()
            return found if inst is not None and not inst.deleted else None

    found = await asyncio.to_thread(lookup)
    if found is None:
        raise NotFound("Token not found")
    if not ctx.version.at_least("2.31") and found.console_type != "rdp-html5":
        raise Unauthorized("The requested console type details are not accessible")
    return {"console": {"instance_uuid": found.instance_uuid, "host": found.host,
                        "port": found.port,
                        "internal_access_path": found.internal_access_path}}
