"""The compute API's two operations that are not server actions (Nova's
compute/api.py ``create`` and ``delete``), built on ``start_operation``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, select
from temporalio.common import WorkflowIDConflictPolicy

from activities.types.catalog import ImageInfo
from api.deps import AppHandles, RequestContext
from api.errors import BadRequest, Conflict
from api.operations import Operation, Written, op_timeouts, start_operation, write_operation
from novaflow.states import TaskState
from schema.models import BlockDeviceMapping, Instance, ServerGroup, ServerGroupMember
from workflows.boot import BootServerInput, BootServerWorkflow
from workflows.delete import DeleteServerInput, DeleteServerWorkflow


async def write_server(h: AppHandles, ctx: RequestContext, inst: Instance,
                       network_ids: list[str], scheduler_hints: dict,
                       force_host: str | None, block_devices: list | None = None,
                       bdm_rows: list[BlockDeviceMapping] | None = None,
                       port_ids: list[str] | None = None,
                       image: ImageInfo | None = None) -> Written:
    """Write the instance (BUILD/scheduling); ``launch_operation`` then starts
    its BootServerWorkflow (api/operations.py)."""
    group_uuid = scheduler_hints.get("group")

    def prepare(s: Session, row: Instance, _workflow_id: str) -> None:
        if group_uuid:
            group = s.exec(select(ServerGroup).where(ServerGroup.uuid == str(group_uuid))).first()
            if group is None or (group.project_id != row.project_id and not ctx.is_admin):
                raise BadRequest(f"Invalid server group {group_uuid}: not found.")
            row.server_group_uuid = group.uuid
            s.add(ServerGroupMember(group_uuid=group.uuid, instance_uuid=row.uuid))
        s.add_all(bdm_rows or [])

    def undo(s: Session, row: Instance, _workflow_id: str) -> None:
        s.execute(delete(ServerGroupMember).where(ServerGroupMember.instance_uuid == row.uuid))
        s.execute(delete(BlockDeviceMapping).where(BlockDeviceMapping.instance_uuid == row.uuid))

    def make_input(op_ctx: Any, _started: Any) -> BootServerInput:
        return BootServerInput(
            ctx=op_ctx, name=inst.display_name, flavor_ref=inst.flavor["flavorid"],
            image_ref=inst.image_ref, network_ids=network_ids, port_ids=list(port_ids or []),
            availability_zone=inst.availability_zone, force_host=force_host,
            scheduler_hints=scheduler_hints, max_attempts=h.settings.scheduler.max_attempts,
            timeouts=op_timeouts(h), block_devices=list(block_devices or []),
            vif_plugging_timeout=float(h.settings.vif_plugging_timeout),
            vif_plugging_is_fatal=h.settings.vif_plugging_is_fatal, image=image)

    flavor_name = (inst.flavor or {}).get("name", "")
    return await write_operation(h, ctx, inst, Operation(
        key="create", workflow=BootServerWorkflow.run, new=True, search_operation="boot",
        workflow_id=lambda row, _action: f"boot-{row.uuid}", make_input=make_input,
        prepare=prepare, undo=undo,
        summary=f"boot {inst.display_name} ({flavor_name}) for project {inst.project_id}",
        details=f"server {inst.uuid}, image {inst.image_ref}"))


async def delete_server(h: AppHandles, ctx: RequestContext, inst: Instance) -> None:
    """Mark the server deleting and start its DeleteServerWorkflow; a repeated
    delete is harmless.  An operation in flight is cancelled by the workflow."""
    if _being_deleted(inst):
        return
    try:
        await start_operation(h, ctx, inst, Operation(
            key="delete", workflow=DeleteServerWorkflow.run,
            workflow_id=lambda row, _action: f"delete-{row.uuid}",
            make_input=lambda op_ctx, started: DeleteServerInput(
                ctx=op_ctx, running_workflow_ids=[w for w in [started.previous_workflow_id]
                                                  if w],
                timeouts=op_timeouts(h)),
            conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            summary=f"delete {inst.display_name} for project {inst.project_id}"))
    except Conflict:
        with h.db.reader() as s:  # lost a race with another delete: that one runs
            row = s.get(Instance, inst.id)
        if row is None or not (row.deleted or _being_deleted(row)):
            raise


def _being_deleted(inst: Instance) -> bool:
    return inst.deleted or (inst.task_state == TaskState.DELETING
                            and inst.workflow_id == f"delete-{inst.uuid}")
