"""Actions on a live migration in progress: ``DELETE
/v2.1/servers/{id}/migrations/{mid}`` (2.24) aborts it, ``POST
.../migrations/{mid}/action {"force_complete": null}`` (2.22) forces it to
complete; both are Updates of its LiveMigrateServerWorkflow.

Abort sends the ``abort_live_migration`` Update to the migration's
LiveMigrateServerWorkflow, whose validator refuses once the switch-over has
begun; accepted, the workflow rolls back (destination cleaned, claim
released, the server running on the source) and the migration ends
``cancelled``.  As in Nova, 2.65 adds aborting a ``queued`` or ``preparing``
migration; before it only a ``running`` one may be aborted.  On the
embedded test hosts the switch-over itself is instant, so in practice a
migration is aborted while it prepares.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlmodel import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from api.deps import Ctx, Handles
from api.errors import BadRequest, Conflict, NotFound
from api.routes.servers import get_instance
from api.validation import json_body
from novaflow.states import TaskState
from schema.models import Instance, Migration

router = APIRouter(prefix="/v2.1/servers", tags=["server migrations"])


def _refused(mig: Migration, server_id: str) -> BadRequest:
    return BadRequest(f"Migration {mig.id} state of instance {server_id} is {mig.status}. "
                      "Cannot abort live migration while the migration is in this state.")


def _live_migration(h, ctx, server_id: str, migration_id: str) -> tuple[Instance, Migration]:
    """The server (404 unless visible) and its live migration ``migration_id``."""
    with h.db.reader() as s:
        inst = get_instance(s, ctx, server_id)
        mig = (s.exec(select(Migration).where(Migration.id == int(migration_id),
                                              Migration.instance_uuid == server_id)).first()
               if migration_id.isdigit() else None)
    if mig is None:
        raise NotFound(f"Migration {migration_id} for server {server_id} could not be found.")
    if mig.migration_type != "live-migration":
        raise BadRequest(f"Migration {migration_id} for server {server_id} is not "
                         "live-migration.")
    return inst, mig


@router.delete("/{server_id}/migrations/{migration_id}", status_code=202)
async def abort_live_migration(server_id: str, migration_id: str, ctx: Ctx,
                               h: Handles) -> Response:
    if not ctx.version.at_least("2.24"):
        raise NotFound("The resource could not be found.")
    ctx.require_admin("os_compute_api:servers:migrations:delete")
    inst, mig = _live_migration(h, ctx, server_id, migration_id)
    abortable = ("queued", "preparing", "running") if ctx.version.at_least("2.65") \
        else ("running",)
    if mig.status not in abortable:
        raise _refused(mig, server_id)
    if inst.task_state != TaskState.MIGRATING:
        raise Conflict(f"Cannot 'abort live migration' instance {server_id} while it is in "
                       f"task_state {inst.task_state}")
    handle = h.temporal.get_workflow_handle(mig.workflow_id)
    try:
        # The handler only cancels the run, so waiting for it costs nothing;
        # a validator's refusal surfaces here (start_update at ACCEPTED
        # hands it over only with the result).
        await handle.execute_update("abort_live_migration")
    except (WorkflowUpdateFailedError, RPCError) as exc:  # refused, or already over
        raise _refused(mig, server_id) from exc
    return Response(status_code=202)


@router.post("/{server_id}/migrations/{migration_id}/action", status_code=202)
async def migration_action(server_id: str, migration_id: str, request: Request, ctx: Ctx,
                           h: Handles) -> Response:
    """``{"force_complete": null}`` (2.22): make a running live migration
    converge now, through the workflow's ``force_complete`` Update (which
    runs the step on the source host and answers when it is done)."""
    if not ctx.version.at_least("2.22"):
        raise NotFound("The resource could not be found.")
    body = await json_body(request)
    if not isinstance(body, dict) or set(body) != {"force_complete"} \
            or body["force_complete"] is not None:
        raise BadRequest("Invalid input for field/attribute force_complete. Value: "
                         f"{body!r:.100}. 'force_complete' must be the only key, null")
    ctx.require_admin("os_compute_api:servers:migrations:force_complete")
    inst, mig = _live_migration(h, ctx, server_id, migration_id)
    if mig.status != "running":
        raise BadRequest(f"Migration {mig.id} state of instance {server_id} is {mig.status}. "
                         "Cannot force complete while the migration is in this state.")
    if inst.task_state != TaskState.MIGRATING:
        raise Conflict(f"Cannot 'force_complete' instance {server_id} while it is in "
                       f"task_state {inst.task_state}")
    handle = h.temporal.get_workflow_handle(mig.workflow_id)
    try:
        await handle.execute_update("force_complete")
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        while getattr(cause, "cause", None) is not None and not getattr(cause, "type", None):
            cause = cause.cause
        raise BadRequest(getattr(cause, "message", None) or str(cause)) from exc
    except RPCError as exc:  # the migration is over
        raise BadRequest(f"Migration {mig.id} of instance {server_id} is no longer "
                         "running.") from exc
    return Response(status_code=202)
