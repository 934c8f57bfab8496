"""``GET /v2.1/servers/{id}/diagnostics`` (admin by Nova's default policy
``os_compute_api:os-server-diagnostics``).

The counters are read on the server's host (workflows/diagnostics.py), as
Nova's API asks the compute host over RPC; api/diagnostics_view.py shapes
them (the driver's flat dict before 2.48, the standard format from 2.48).
Nova's errors: 409 "is not ready" for a server on no host, 409 naming its
power state when the guest is not running, 501 when the host's driver
cannot read diagnostics.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from fastapi import APIRouter
from temporalio.client import WorkflowFailureError

from activities.types.day2 import GUEST_NOT_RUNNING, NOT_SUPPORTED
from api.deps import Ctx, Handles
from api.diagnostics_view import POWER_STATE_NAMES, driver_diagnostics, instance_diagnostics
from api.errors import Conflict, NotImplementedByDriver
from api.operations import failure_type, read_on_host
from api.routes.servers import get_instance
from workflows.diagnostics import ServerDiagnosticsWorkflow, ServerDiagnosticsWorkflowInput

router = APIRouter(prefix="/v2.1/servers", tags=["server diagnostics"])


def _uptime(launched_at: datetime | None) -> int | None:
    if launched_at is None:
        return None
    if launched_at.tzinfo is None:
        launched_at = launched_at.replace(tzinfo=UTC)
    return max(0, int((datetime.now(UTC) - launched_at).total_seconds()))


@router.get("/{server_id}/diagnostics")
async def show_diagnostics(server_id: str, ctx: Ctx, h: Handles) -> dict:
    def load():
        with h.db.reader() as s:
            return get_instance(s, ctx, server_id)

    inst = await asyncio.to_thread(load)
    ctx.authorize("os_compute_api:os-server-diagnostics", {"project_id": inst.project_id})
    if not inst.host:
        raise Conflict(f"Instance {inst.uuid} is not ready")
    try:
        diags = await read_on_host(
            h, ServerDiagnosticsWorkflow.run,
            ServerDiagnosticsWorkflowInput(server_id=inst.uuid, host=inst.host),
            f"diagnostics-{inst.uuid}-{uuid.uuid4().hex[:8]}",
            f"diagnostics of {inst.display_name} on {inst.host}")
    except WorkflowFailureError as exc:
        kind = failure_type(exc.cause)
        if kind == NOT_SUPPORTED:
            raise NotImplementedByDriver("The requested functionality is not supported.") \
                from exc
        if kind == GUEST_NOT_RUNNING:
            state = POWER_STATE_NAMES.get(inst.power_state, "pending")
            raise Conflict(f"Cannot 'get_diagnostics' instance {server_id} while it is in "
                           f"power state {state}") from exc
        raise Conflict(f"Instance {inst.uuid} is not ready") from exc
    if ctx.version.at_least("2.48"):
        return instance_diagnostics(diags, _uptime(inst.launched_at))
    return driver_diagnostics(diags)
