"""``DELETE /v2.1/servers/{id}/migrations/{mid}`` (2.24): abort a live
migration in progress.

Sends the ``abort_live_migration`` Update to the migration's
LiveMigrateServerWorkflow, whose validator refuses once the switch-over has
begun; accepted, the workflow rolls back (destination cleaned, claim
released, the server running on the source) and the migration ends
``cancelled``.  As in Nova, 2.65 adds aborting a ``queued`` or ``preparing``
migration; before it only a ``running`` one may be aborted.  On the
embedded test hosts the switch-over itself is instant, so in practice a
migration is aborted while it prepares.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlmodel import select
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.service import RPCError

from api.deps import Ctx, Handles
from api.errors import BadRequest, Conflict, NotFound
from api.routes.servers import get_instance
from novaflow.states import TaskState
from schema.models import Migration

router = APIRouter(prefix="/v2.1/servers", tags=["server migrations"])


def _refused(mig: Migration, server_id: str) -> BadRequest:
    return BadRequest(f"Migration {mig.id} state of instance {server_id} is {mig.status}. "
                      "Cannot abort live migration while the migration is in this state.")


@router.delete("/{server_id}/migrations/{migration_id}", status_code=202)
async def abort_live_migration(server_id: str, migration_id: str, ctx: Ctx,
                               h: Handles) -> Response:
    if not ctx.version.at_least("2.24"):
        raise NotFound("The resource could not be found.")
    ctx.require_admin("os_compute_api:servers:migrations:delete")
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
    abortable = ("queued", "preparing", "running") if ctx.version.at_least("2.65") \
        else ("running",)
    if mig.status not in abortable:
        raise _refused(mig, server_id)
    if inst.task_state != TaskState.MIGRATING:
        raise Conflict(f"Cannot 'abort live migration' instance {server_id} while it is in "
                       f"task_state {inst.task_state}")
    handle = h.temporal.get_workflow_handle(mig.workflow_id)
    try:
        await handle.start_update("abort_live_migration",
                                  wait_for_stage=WorkflowUpdateStage.ACCEPTED)
    except (WorkflowUpdateFailedError, RPCError) as exc:  # refused, or already over
        raise _refused(mig, server_id) from exc
    return Response(status_code=202)
