"""Moves: resize, confirmResize, revertResize, migrate, os-migrateLive.

resize/migrate/os-migrateLive check Nova's allowed states (409 otherwise, in
Nova's words), write the migration record and the instance action, take
task_state, and start the move's workflow (workflows/resize.py,
workflows/live_migrate.py); the migration row names that workflow.
confirmResize/revertResize send an Update to the waiting resize workflow;
when its validator refuses (the server is no longer waiting), the answer
is 409 and nothing entered the workflow's history.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Response
from sqlmodel import select
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from api import compute
from api.actions import action
from api.deps import AppHandles, RequestContext
from api.errors import BadRequest, ComputeFault, Conflict, NotFound
from api.quotas import enforce_quota
from api.validation import no_extra_keys
from novaflow import logs
from novaflow.queues import CONTROL_QUEUE
from novaflow.states import TaskState, VmState
from schema.models import ComputeNode, Flavor, Instance, InstanceAction, Migration, utcnow
from workflows.live_migrate import LiveMigrateServerInput, LiveMigrateServerWorkflow
from workflows.resize import ResizeDecision, ResizeServerInput, ResizeServerWorkflow

log = logs.get_logger("novaflow.api")

COLD_STATES = (VmState.ACTIVE, VmState.STOPPED)
LIVE_STATES = (VmState.ACTIVE, VmState.PAUSED)


def _conflict(name: str, inst: Instance, attr: str, state: Any) -> Conflict:
    return Conflict(f"Cannot '{name}' instance {inst.uuid} while it is in {attr} {state}")


def _check_state(name: str, inst: Instance, vm_states: tuple[str, ...]) -> None:
    if inst.vm_state not in vm_states:
        raise _conflict(name, inst, "vm_state", inst.vm_state)
    if inst.task_state is not None:
        raise _conflict(name, inst, "task_state", inst.task_state)


def _flavor_snapshot(f: Flavor) -> dict:
    # "id" is the flavor's table id: os-migrations' old/new_instance_type_id.
    return {"id": f.id, "flavorid": f.flavorid, "name": f.name, "vcpus": f.vcpus,
            "memory_mb": f.memory_mb, "root_gb": f.root_gb, "ephemeral_gb": f.ephemeral_gb,
            "swap": f.swap, "extra_specs": dict(f.extra_specs or {})}


def _target_host(h: AppHandles, ctx: RequestContext, inst: Instance, host: Any,
                 policy: str) -> str | None:
    """A requested destination: admins only, an existing host, not the current one."""
    if host is None:
        return None
    if not isinstance(host, str) or not 1 <= len(host) <= 255:
        raise BadRequest(f"Invalid input for field/attribute host. Value: {host!r:.100}. "
                         f"{host!r:.100} is not of type 'string', 'null'")
    ctx.require_admin(policy)
    with h.db.reader() as s:
        if s.exec(select(ComputeNode).where(ComputeNode.host == host)).first() is None:
            raise BadRequest(f"Compute host {host} could not be found.")
    if host == inst.host:
        raise BadRequest(f"Unable to migrate instance ({inst.uuid}) to current host "
                         f"({inst.host}).")
    return host


async def _start_move(h: AppHandles, ctx: RequestContext, inst: Instance, *, name: str,
                      migration_type: str, new_flavor: Flavor | None, vm_states: tuple,
                      task_state: str, status: str, make_input: Any, workflow: Any) -> None:
    """Write the migration and the action, take task_state, start the workflow."""
    mig_uuid = str(uuid.uuid4())
    prefix = {"resize": "resize", "migration": "migrate", "live-migration": "live-migrate"}
    workflow_id = f"{prefix[migration_type]}-{inst.uuid}-{mig_uuid}"
    with h.db.writer() as s:
        row = s.get(Instance, inst.id)
        if row is None or row.deleted:
            raise NotFound(f"Instance {inst.uuid} could not be found.")
        _check_state(name, row, vm_states)  # again, now that we hold the write lock
        if not row.host:
            raise Conflict(f"Cannot '{name}' instance {row.uuid}: it is not on any host")
        current = s.exec(select(Flavor).where(
            Flavor.flavorid == (row.flavor or {}).get("flavorid"))).first()
        old = {**(row.flavor or {}), "id": current.id if current else None}
        if new_flavor is not None:  # a resize up must fit the project's quota
            enforce_quota(s, row.project_id, 0,
                          new_flavor.vcpus - int(old.get("vcpus") or 0),
                          new_flavor.memory_mb - int(old.get("memory_mb") or 0),
                          settings=h.settings)
        mig = Migration(uuid=mig_uuid, instance_uuid=row.uuid, migration_type=migration_type,
                        status=status, source_compute=row.host, source_node=row.node,
                        old_flavor=old,
                        new_flavor=_flavor_snapshot(new_flavor) if new_flavor else old,
                        project_id=row.project_id, user_id=ctx.user_id,
                        workflow_id=workflow_id)
        act = InstanceAction(action=name, instance_uuid=row.uuid, request_id=ctx.request_id,
                             project_id=row.project_id, user_id=ctx.user_id,
                             workflow_id=workflow_id)
        row.task_state, row.workflow_id, row.updated_at = task_state, workflow_id, utcnow()
        s.add_all([mig, act, row])
        s.flush()
        op_ctx = compute.op_context(ctx, row, act.id)
    try:
        await h.temporal.start_workflow(
            workflow.run, make_input(op_ctx, mig_uuid), id=workflow_id,
            task_queue=CONTROL_QUEUE, id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=compute.search_attributes(row, name),
            static_summary=f"{name} {row.display_name} from {row.host}"
                           + (f" to flavor {new_flavor.name}" if new_flavor else ""),
            static_details=f"server {row.uuid}, migration {mig_uuid}, "
                           f"request {ctx.request_id}")
    except Exception as exc:
        log.error("could not start the move", action=name, error=repr(exc))
        with h.db.writer() as s:
            row = s.get(Instance, inst.id)
            if row.task_state == task_state and row.workflow_id == workflow_id:
                row.task_state = None
                s.add(row)
            mig = s.exec(select(Migration).where(Migration.uuid == mig_uuid)).first()
            mig.status, mig.error = "error", "the workflow could not be started"
            s.add(mig)
        raise ComputeFault(f"The {name} could not be started; try again later.") from exc


@action("resize")
async def resize(h: AppHandles, ctx: RequestContext, inst: Instance, body: Any) -> None:
    if not isinstance(body, dict):
        raise BadRequest("Invalid input for field/attribute resize. Value: "
                         f"{body!r:.100}. {body!r:.100} is not of type 'object'")
    no_extra_keys(body, {"flavorRef", "OS-DCF:diskConfig"}, "resize")
    ref = body.get("flavorRef")
    if ref is None:
        raise BadRequest("Invalid input for field/attribute resize. 'flavorRef' is a "
                         "required property")
    if isinstance(ref, bool) or not isinstance(ref, str | int) or not str(ref):
        raise BadRequest(f"Invalid input for field/attribute flavorRef. Value: {ref!r:.100}. "
                         f"{ref!r:.100} is not valid under any of the given schemas")
    if body.get("OS-DCF:diskConfig", "MANUAL") not in ("AUTO", "MANUAL"):
        raise BadRequest("Invalid input for field/attribute OS-DCF:diskConfig.")
    _check_state("resize", inst, COLD_STATES)
    with h.db.reader() as s:
        flavor = s.exec(select(Flavor).where(Flavor.flavorid == str(ref))).first()
    current = inst.flavor or {}
    if flavor is None or flavor.disabled:
        raise BadRequest("Unable to locate requested flavor.")
    if flavor.flavorid == current.get("flavorid"):
        raise BadRequest("Resize requires a flavor change.")
    if flavor.root_gb == 0 and current.get("root_gb", 0) != 0:
        raise BadRequest("Resize to zero disk flavor is not allowed.")
    timeouts = compute.op_timeouts(h)

    def make_input(op_ctx, mig_uuid):
        return ResizeServerInput(ctx=op_ctx, migration_id=mig_uuid,
                                 allow_same_host=h.settings.allow_resize_to_same_host,
                                 max_attempts=h.settings.scheduler.max_attempts,
                                 timeouts=timeouts)

    await _start_move(h, ctx, inst, name="resize", migration_type="resize", new_flavor=flavor,
                      vm_states=COLD_STATES, task_state=TaskState.RESIZE_PREP,
                      status="pre-migrating", make_input=make_input,
                      workflow=ResizeServerWorkflow)


@action("migrate")
async def migrate(h: AppHandles, ctx: RequestContext, inst: Instance, body: Any) -> None:
    host = None
    if body is not None:
        if not isinstance(body, dict) or not ctx.version.at_least("2.56"):
            raise BadRequest("Invalid input for field/attribute migrate. Value: "
                             f"{body!r:.100}. {body!r:.100} is not of type 'null'")
        no_extra_keys(body, {"host"}, "migrate")
        host = _target_host(h, ctx, inst, body.get("host"),
                            "os_compute_api:os-migrate-server:migrate:host")
    _check_state("migrate", inst, COLD_STATES)
    timeouts = compute.op_timeouts(h)

    def make_input(op_ctx, mig_uuid):
        return ResizeServerInput(ctx=op_ctx, migration_id=mig_uuid, requested_host=host,
                                 max_attempts=h.settings.scheduler.max_attempts,
                                 timeouts=timeouts)

    await _start_move(h, ctx, inst, name="migrate", migration_type="migration",
                      new_flavor=None, vm_states=COLD_STATES,
                      task_state=TaskState.RESIZE_PREP, status="pre-migrating",
                      make_input=make_input, workflow=ResizeServerWorkflow)


def _live_body(ctx: RequestContext, body: Any) -> tuple[Any, bool | None, bool]:
    """(host, block_migration (None: auto), force) per the microversion's schema."""
    if not isinstance(body, dict):
        raise BadRequest("Invalid input for field/attribute os-migrateLive. Value: "
                         f"{body!r:.100}. {body!r:.100} is not of type 'object'")
    if ctx.version.at_least("2.25"):
        allowed = {"host", "block_migration"}
        if ctx.version.at_least("2.30") and not ctx.version.at_least("2.68"):
            allowed.add("force")
        required = ["block_migration", "host"]
    else:
        allowed = required = {"host", "block_migration", "disk_over_commit"}
    no_extra_keys(body, set(allowed), "os-migrateLive")
    for key in sorted(required):
        if key not in body:
            raise BadRequest(f"Invalid input for field/attribute os-migrateLive. '{key}' is "
                             "a required property")
    block = body["block_migration"]
    auto_ok = ctx.version.at_least("2.25")
    if not (isinstance(block, bool) or (auto_ok and block == "auto")):
        raise BadRequest(f"Invalid input for field/attribute block_migration. Value: "
                         f"{block!r:.100}. {block!r:.100} is not valid under any of the "
                         "given schemas")
    if "disk_over_commit" in body and not isinstance(body["disk_over_commit"], bool):
        raise BadRequest("Invalid input for field/attribute disk_over_commit.")
    force = body.get("force", False)
    if not isinstance(force, bool):
        raise BadRequest(f"Invalid input for field/attribute force. Value: {force!r:.100}.")
    return body["host"], None if block == "auto" else block, force


@action("os-migrateLive")
async def live_migrate(h: AppHandles, ctx: RequestContext, inst: Instance, body: Any) -> None:
    host, block, force = _live_body(ctx, body)
    host = _target_host(h, ctx, inst, host,
                        "os_compute_api:os-migrate-server:migrate_live:host")
    _check_state("os-migrateLive", inst, LIVE_STATES)
    timeouts = compute.op_timeouts(h)

    def make_input(op_ctx, mig_uuid):
        return LiveMigrateServerInput(ctx=op_ctx, migration_id=mig_uuid, requested_host=host,
                                      block_migration=block, force=force and bool(host),
                                      max_attempts=h.settings.scheduler.max_attempts,
                                      timeouts=timeouts)

    await _start_move(h, ctx, inst, name="live-migration", migration_type="live-migration",
                      new_flavor=None, vm_states=LIVE_STATES, task_state=TaskState.MIGRATING,
                      status="queued", make_input=make_input,
                      workflow=LiveMigrateServerWorkflow)


async def _decide(h: AppHandles, ctx: RequestContext, inst: Instance, name: str) -> None:
    """Send confirmResize/revertResize to the resize waiting in VERIFY_RESIZE."""
    _check_state(name, inst, (VmState.RESIZED,))
    with h.db.reader() as s:
        mig = s.exec(select(Migration).where(
            Migration.instance_uuid == inst.uuid, Migration.status == "finished",
            Migration.migration_type.in_(("resize", "migration")))
            .order_by(Migration.id.desc())).first()
    if mig is None or not mig.workflow_id:
        raise BadRequest("Instance has not been resized.")
    handle = h.temporal.get_workflow_handle(mig.workflow_id)
    try:
        await handle.start_update(name, ResizeDecision(ctx=compute.op_context(ctx, inst, None)),
                                  wait_for_stage=WorkflowUpdateStage.ACCEPTED)
    except WorkflowUpdateFailedError as exc:
        # The validator refused: the resize is no longer waiting for a decision.
        cause = exc.cause
        raise Conflict(getattr(cause, "message", None) or str(cause)) from exc
    except RPCError as exc:
        log.warning("resize decision not delivered", action=name, error=str(exc))
        raise Conflict(f"Cannot '{name}' instance {inst.uuid}: its resize is no longer "
                       "awaiting a decision") from exc


@action("confirmResize")
async def confirm_resize(h: AppHandles, ctx: RequestContext, inst: Instance,
                         _body: Any) -> Response:
    await _decide(h, ctx, inst, "confirmResize")
    return Response(status_code=204)


@action("revertResize")
async def revert_resize(h: AppHandles, ctx: RequestContext, inst: Instance,
                        _body: Any) -> None:
    await _decide(h, ctx, inst, "revertResize")
