"""/v2.1/servers/{id}/action: dispatches to the handlers in ``api/actions``.

The body is declared for the OpenAPI document (``ServerActionRequest``: one
key, the action); each handler checks its own value, in Nova's words."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from fastapi import APIRouter, Request, Response

import api.actions
from api.actions import ACTIONS
from api.deps import Ctx, Handles
from api.errors import BadRequest
from api.removed_routes import REMOVED_SERVER_ACTIONS, Gone
from api.routes.servers import get_instance
from api.schemas.server_actions import ServerActionRequest

# Import every action family so its handlers register themselves.
for _mod in pkgutil.iter_modules(api.actions.__path__):
    importlib.import_module(f"api.actions.{_mod.name}")

router = APIRouter(prefix="/v2.1/servers", tags=["server actions"])



def _inlined(schema: Any, defs: dict[str, Any]) -> Any:
    """``schema`` with its local ``$ref``s replaced by their definitions (the
    OpenAPI document resolves ``#`` against itself, not the schema)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inlined(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inlined(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inlined(v, defs) for v in schema]
    return schema


_SCHEMA = ServerActionRequest.model_json_schema(by_alias=True)
_ACTION_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": _inlined(_SCHEMA, _SCHEMA.get("$defs", {}))}}}}


@router.post("/{server_id}/action", openapi_extra=_ACTION_BODY)
async def server_action(server_id: str, request: Request, ctx: Ctx, h: Handles) -> Response:
    try:
        body = await request.json()
    except ValueError:
        raise BadRequest("Malformed request body") from None
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("There is no such action: the body must hold exactly one action")
    (name, value), = body.items()
    if name in REMOVED_SERVER_ACTIONS:
        raise Gone()  # removed from Nova (issue 15)
    registered = ACTIONS.get(name)
    if registered is None:
        raise BadRequest(f"There is no such action: {name}")
    with h.db.reader() as s:
        inst = get_instance(s, ctx, server_id)
    result = await registered.handler(h, ctx, inst, value)
    if isinstance(result, Response):
        return result
    return Response(status_code=202)
