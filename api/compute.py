"""The compute API's operations (Nova's compute/api.py): check, write the
instance and its action, start the operation's workflow.

Routes call these; these call Temporal.  Nothing is left half-written: if a
workflow cannot be started the row is rolled back to where it was.
"""

from __future__ import annotations

from sqlmodel import select
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from activities.types.context import OpContext
from api.deps import AppHandles, RequestContext
from api.errors import BadRequest, ComputeFault, Conflict
from novaflow import logs
from novaflow.queues import CONTROL_QUEUE
from novaflow.states import TaskState, VmState
from schema.models import Instance, InstanceAction, ServerGroup, ServerGroupMember, utcnow
from workflows.boot import BootServerInput, BootServerWorkflow
from workflows.common import FLAVOR_NAME, HOST, OPERATION, PROJECT_ID, SERVER_ID, OpTimeouts
from workflows.delete import DeleteServerInput, DeleteServerWorkflow

log = logs.get_logger("novaflow.api")


def op_timeouts(h: AppHandles) -> OpTimeouts:
    s = h.settings
    return OpTimeouts(host_schedule_to_start_s=s.host_schedule_to_start_timeout,
                      host_step_s=s.spawn_timeout,
                      build_timeout_s=float(s.instance_build_timeout),
                      resize_confirm_window_s=float(s.resize_confirm_window))


def op_context(ctx: RequestContext, inst: Instance, action_id: int | None) -> OpContext:
    return OpContext(server_id=inst.uuid, project_id=inst.project_id, user_id=ctx.user_id,
                     request_id=ctx.request_id, action_id=action_id, token=ctx.token,
                     is_admin=ctx.is_admin)


def search_attributes(inst: Instance, operation: str) -> TypedSearchAttributes:
    pairs = [SearchAttributePair(SERVER_ID, inst.uuid),
             SearchAttributePair(PROJECT_ID, inst.project_id),
             SearchAttributePair(OPERATION, operation),
             SearchAttributePair(FLAVOR_NAME, (inst.flavor or {}).get("name", ""))]
    if inst.host:
        pairs.append(SearchAttributePair(HOST, inst.host))
    return TypedSearchAttributes(pairs)


def _new_action(ctx: RequestContext, inst: Instance, action: str, workflow_id: str
                ) -> InstanceAction:
    return InstanceAction(action=action, instance_uuid=inst.uuid, request_id=ctx.request_id,
                          project_id=inst.project_id, user_id=ctx.user_id,
                          workflow_id=workflow_id)


async def create_server(h: AppHandles, ctx: RequestContext, inst: Instance,
                        network_ids: list[str], scheduler_hints: dict,
                        force_host: str | None, block_devices: list | None = None) -> Instance:
    """Write the instance (BUILD/scheduling) and start its BootServerWorkflow."""
    workflow_id = f"boot-{inst.uuid}"
    inst.workflow_id = workflow_id
    group_uuid = scheduler_hints.get("group")
    with h.db.writer() as s:
        if group_uuid:
            group = s.exec(select(ServerGroup).where(ServerGroup.uuid == str(group_uuid))).first()
            if group is None or (group.project_id != inst.project_id and not ctx.is_admin):
                raise BadRequest(f"Invalid server group {group_uuid}: not found.")
            inst.server_group_uuid = group.uuid
            s.add(ServerGroupMember(group_uuid=group.uuid, instance_uuid=inst.uuid))
        s.add(inst)
        action = _new_action(ctx, inst, "create", workflow_id)
        s.add(action)
        s.flush()
        action_id = action.id
    flavor_name = (inst.flavor or {}).get("name", "")
    inp = BootServerInput(
        ctx=op_context(ctx, inst, action_id), name=inst.display_name,
        flavor_ref=inst.flavor["flavorid"], image_ref=inst.image_ref,
        network_ids=network_ids, availability_zone=inst.availability_zone,
        force_host=force_host, scheduler_hints=scheduler_hints,
        max_attempts=h.settings.scheduler.max_attempts, timeouts=op_timeouts(h),
        block_devices=list(block_devices or []))
    try:
        await h.temporal.start_workflow(
            BootServerWorkflow.run, inp, id=workflow_id, task_queue=CONTROL_QUEUE,
            search_attributes=search_attributes(inst, "boot"),
            static_summary=f"boot {inst.display_name} ({flavor_name}) for project "
                           f"{inst.project_id}",
            static_details=f"server {inst.uuid}, image {inst.image_ref}, "
                           f"request {ctx.request_id}")
    except Exception as exc:
        log.error("could not start the boot workflow", error=repr(exc))
        with h.db.writer() as s:
            row = s.get(Instance, inst.id)
            row.vm_state, row.task_state = VmState.ERROR, None
            row.fault = {"code": 500, "message": "Could not start the build",
                         "created": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")}
            s.add(row)
        raise ComputeFault("The build could not be started; try again later.") from exc
    return inst


async def delete_server(h: AppHandles, ctx: RequestContext, inst: Instance) -> None:
    """Mark the server deleting and start its DeleteServerWorkflow (idempotent)."""
    workflow_id = f"delete-{inst.uuid}"
    running: list[str] = []
    with h.db.writer() as s:
        row = s.get(Instance, inst.id)
        if row.deleted:
            return
        if row.task_state == TaskState.DELETING and row.workflow_id == workflow_id:
            return  # already being deleted: a repeated delete is harmless
        if row.workflow_id and row.task_state is not None:
            running.append(row.workflow_id)  # an operation in flight: cancel it first
        row.task_state = TaskState.DELETING
        row.workflow_id = workflow_id
        row.updated_at = utcnow()
        s.add(row)
        action = _new_action(ctx, row, "delete", workflow_id)
        s.add(action)
        s.flush()
        action_id = action.id
    inp = DeleteServerInput(ctx=op_context(ctx, inst, action_id), running_workflow_ids=running,
                            timeouts=op_timeouts(h))
    try:
        await h.temporal.start_workflow(
            DeleteServerWorkflow.run, inp, id=workflow_id, task_queue=CONTROL_QUEUE,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=search_attributes(inst, "delete"),
            static_summary=f"delete {inst.display_name} for project {inst.project_id}")
    except Exception as exc:
        log.error("could not start the delete workflow", error=repr(exc))
        raise ComputeFault("The delete could not be started; try again later.") from exc


def check_no_task(inst: Instance, action: str) -> None:
    """One operation at a time: 409 while another holds task_state."""
    if inst.task_state is not None:
        raise Conflict(f"Cannot '{action}' instance {inst.uuid} while it is in "
                       f"task_state {inst.task_state}")
