"""``os-getConsoleOutput``: the tail of the server's serial console.

Nova's body ``{"os-getConsoleOutput": {"length": N}}`` (N lines; omitted,
null or -1 for everything kept) and reply ``{"output": "..."}``.  The log is
read on the server's host (workflows/console.py): 409 when the server is not
on a host, 404 when the host has no console for it.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.responses import JSONResponse
from temporalio.client import WorkflowFailureError

from api.actions import action
from api.deps import AppHandles, RequestContext
from api.errors import BadRequest, Conflict, NotFound
from api.operations import check_transition, read_on_host
from schema.models import Instance
from workflows.console import ConsoleOutputWorkflow, ConsoleOutputWorkflowInput


def _length(body: Any) -> int | None:
    if body is None:
        return None
    if not isinstance(body, dict) or set(body) - {"length"}:
        raise BadRequest("Invalid input for field/attribute os-getConsoleOutput. Value: "
                         f"{body!r:.100}. Additional properties are not allowed")
    value = body.get("length")
    if value is None:
        return None
    try:
        length = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid input for field/attribute length. Value: {value!r:.50}. "
                         f"{value!r:.50} is not valid under any of the given schemas") from None
    if length < -1 or isinstance(value, bool):
        raise BadRequest(f"Invalid input for field/attribute length. Value: {value}. "
                         f"{value} is less than the minimum of -1")
    return None if length == -1 else length


@action("os-getConsoleOutput", operations=("getConsoleOutput",))
async def get_console_output(h: AppHandles, ctx: RequestContext, inst: Instance,
                             body: Any) -> JSONResponse:
    length = _length(body)
    if not inst.host:
        raise Conflict(f"Instance {inst.uuid} has not been scheduled to a host yet.")
    check_transition("getConsoleOutput", inst, ctx)
    try:
        result = await read_on_host(
            h, ConsoleOutputWorkflow.run,
            ConsoleOutputWorkflowInput(server_id=inst.uuid, host=inst.host, length=length),
            f"console-{inst.uuid}-{uuid.uuid4().hex[:8]}",
            f"console output of {inst.display_name} on {inst.host}")
    except WorkflowFailureError as exc:
        raise NotFound(f"Guest does not have a console available. ({exc.cause})") from exc
    return JSONResponse({"output": result.output})
