"""The legacy console actions (before 2.6): ``os-getVNCConsole`` and
``os-getSerialConsole``, ``{"type": "novnc"}`` / ``{"type": "serial"}``,
answered ``{"console": {"type", "url"}}``.  From 2.6 on Nova serves them
only as ``POST /servers/{id}/remote-consoles`` (api/routes/remote_consoles.py)
and answers these 404; the checks and the token are shared (api/consoles.py).
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from api.actions import action
from api.consoles import console_url
from api.deps import AppHandles, RequestContext
from api.errors import NotFound
from api.schemas.remote_consoles import GetSerialConsole, GetVNCConsole
from schema.models import Instance


async def _legacy(h: AppHandles, ctx: RequestContext, inst: Instance, body: Any,
                  schema: type, protocol: str) -> JSONResponse:
    if ctx.version.at_least("2.6"):
        raise NotFound("The resource could not be found.")
    try:
        kind = schema.model_validate(body).type
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    url = await console_url(h, ctx, inst, protocol, kind)
    return JSONResponse({"console": {"type": kind, "url": url}})


@action("os-getVNCConsole", operations=("get_vnc_console",))
async def get_vnc_console(h: AppHandles, ctx: RequestContext, inst: Instance,
                          body: Any) -> JSONResponse:
    return await _legacy(h, ctx, inst, body, GetVNCConsole, "vnc")


@action("os-getSerialConsole", operations=("get_serial_console",))
async def get_serial_console(h: AppHandles, ctx: RequestContext, inst: Instance,
                             body: Any) -> JSONResponse:
    return await _legacy(h, ctx, inst, body, GetSerialConsole, "serial")
