"""Moves: resize, confirmResize, revertResize, migrate, os-migrateLive.

resize/migrate/os-migrateLive start the move's workflow (workflows/resize.py,
workflows/live_migrate.py) through ``start_operation``, which writes the
migration record in the same transaction; the migration row names that
workflow.
confirmResize/revertResize send an Update to the waiting resize workflow;
when its validator refuses (the server is no longer waiting), the answer
is 409 and nothing entered the workflow's history.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import Response
from sqlmodel import Session, select
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateHandle, WorkflowUpdateStage
from temporalio.service import RPCError

from activities.types.context import OpContext
from api.actions import action
from api.deps import AppHandles, RequestContext
from api.errors import BadRequest, Conflict
from api.flavor_visibility import may_use
from api.operations import (
    Operation,
    check_transition,
    op_context,
    op_timeouts,
    start_operation,
)
from api.quotas import enforce_quota
from api.routes import servers
from api.schemas.common import nova_boolean
from api.validation import no_extra_keys
from novaflow import logs
from schema.models import ComputeNode, Flavor, Instance, Migration
from workflows.live_migrate import LiveMigrateServerInput, LiveMigrateServerWorkflow
from workflows.resize import ResizeDecision, ResizeServerInput, ResizeServerWorkflow

log = logs.get_logger("novaflow.api")


def flavor_snapshot(f: Flavor) -> dict:
    # "id" is the flavor's table id: os-migrations' old/new_instance_type_id.
    return {"id": f.id, **servers.flavor_snapshot(f)}


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


_WORKFLOW_PREFIX = {"resize": "resize", "migrate": "migrate", "live-migration": "live-migrate",
                    "evacuate": "evacuate"}
_MIGRATION_TYPE = {"resize": "resize", "migrate": "migration",
                   "live-migration": "live-migration", "evacuate": "evacuation"}


async def _start_move(h: AppHandles, ctx: RequestContext, inst: Instance, key: str, *,
                      new_flavor: Flavor | None, status: str,
                      make_input: Callable[[OpContext, str], Any], workflow: Any) -> None:
    """Start a move through ``start_operation``, with its migration record
    (written in the same transaction; marked ``error`` if the start fails)."""
    mig_uuid = str(uuid.uuid4())

    def prepare(s: Session, row: Instance, workflow_id: str) -> None:
        current = s.exec(select(Flavor).where(
            Flavor.flavorid == (row.flavor or {}).get("flavorid"))).first()
        old = {**(row.flavor or {}), "id": current.id if current else None}
        if new_flavor is not None:  # a resize up must fit the project's quota
            enforce_quota(s, row.project_id, 0,
                          new_flavor.vcpus - int(old.get("vcpus") or 0),
                          new_flavor.memory_mb - int(old.get("memory_mb") or 0),
                          settings=h.settings)
        s.add(Migration(uuid=mig_uuid, instance_uuid=row.uuid,
                        migration_type=_MIGRATION_TYPE[key], status=status,
                        source_compute=row.host, source_node=row.node, old_flavor=old,
                        new_flavor=flavor_snapshot(new_flavor) if new_flavor else old,
                        project_id=row.project_id, user_id=ctx.user_id,
                        workflow_id=workflow_id))

    def undo(s: Session, _row: Instance, _workflow_id: str) -> None:
        mig = s.exec(select(Migration).where(Migration.uuid == mig_uuid)).first()
        if mig is not None:
            mig.status, mig.error = "error", "the workflow could not be started"
            s.add(mig)

    await start_operation(h, ctx, inst, Operation(
        key=key, workflow=workflow,
        workflow_id=lambda row, _action: f"{_WORKFLOW_PREFIX[key]}-{row.uuid}-{mig_uuid}",
        make_input=lambda op_ctx, _started: make_input(op_ctx, mig_uuid),
        prepare=prepare, undo=undo,
        summary=f"{key} {inst.display_name} from {inst.host}"
                + (f" to flavor {new_flavor.name}" if new_flavor else ""),
        details=f"server {inst.uuid}, migration {mig_uuid}"))


@action("resize", operations=("resize",))
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
    check_transition("resize", inst, ctx)
    with h.db.reader() as s:
        flavor = s.exec(select(Flavor).where(Flavor.flavorid == str(ref))).first()
        usable = flavor is not None and may_use(s, ctx, flavor)  # private: granted only
    current = inst.flavor or {}
    if flavor is None or flavor.disabled or not usable:
        raise BadRequest("Unable to locate requested flavor.")
    if flavor.flavorid == current.get("flavorid"):
        raise BadRequest("Resize requires a flavor change.")
    if flavor.root_gb == 0 and current.get("root_gb", 0) != 0:
        raise BadRequest("Resize to zero disk flavor is not allowed.")
    timeouts = op_timeouts(h)

    def make_input(op_ctx, mig_uuid):
        return ResizeServerInput(ctx=op_ctx, migration_id=mig_uuid,
                                 allow_same_host=h.settings.allow_resize_to_same_host,
                                 max_attempts=h.settings.scheduler.max_attempts,
                                 timeouts=timeouts)

    await _start_move(h, ctx, inst, "resize", new_flavor=flavor, status="pre-migrating",
                      make_input=make_input, workflow=ResizeServerWorkflow.run)


@action("migrate", operations=("migrate",))
async def migrate(h: AppHandles, ctx: RequestContext, inst: Instance, body: Any) -> None:
    host = None
    if body is not None:
        if not isinstance(body, dict) or not ctx.version.at_least("2.56"):
            raise BadRequest("Invalid input for field/attribute migrate. Value: "
                             f"{body!r:.100}. {body!r:.100} is not of type 'null'")
        no_extra_keys(body, {"host"}, "migrate")
        host = _target_host(h, ctx, inst, body.get("host"),
                            "os_compute_api:os-migrate-server:migrate:host")
    check_transition("migrate", inst, ctx)
    timeouts = op_timeouts(h)

    def make_input(op_ctx, mig_uuid):
        return ResizeServerInput(ctx=op_ctx, migration_id=mig_uuid, requested_host=host,
                                 max_attempts=h.settings.scheduler.max_attempts,
                                 timeouts=timeouts)

    await _start_move(h, ctx, inst, "migrate", new_flavor=None, status="pre-migrating",
                      make_input=make_input, workflow=ResizeServerWorkflow.run)


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
    # Nova's parameter_types.boolean: true/false or their words ("True", "no", ...).
    block = body["block_migration"]
    auto_ok = ctx.version.at_least("2.25")
    if block != "auto" and nova_boolean(block) is not None:
        block = nova_boolean(block)
    if not (isinstance(block, bool) or (auto_ok and block == "auto")):
        raise BadRequest(f"Invalid input for field/attribute block_migration. Value: "
                         f"{block!r:.100}. {block!r:.100} is not valid under any of the "
                         "given schemas")
    if "disk_over_commit" in body and nova_boolean(body["disk_over_commit"]) is None:
        raise BadRequest("Invalid input for field/attribute disk_over_commit.")
    force = nova_boolean(body.get("force", False))
    if force is None:
        raise BadRequest(f"Invalid input for field/attribute force. Value: "
                         f"{body.get('force')!r:.100}.")
    return body["host"], None if block == "auto" else block, force


@action("os-migrateLive", operations=("live-migration",))
async def live_migrate(h: AppHandles, ctx: RequestContext, inst: Instance, body: Any) -> None:
    host, block, force = _live_body(ctx, body)
    host = _target_host(h, ctx, inst, host,
                        "os_compute_api:os-migrate-server:migrate_live:host")
    check_transition("live-migration", inst, ctx)
    timeouts = op_timeouts(h)

    def make_input(op_ctx, mig_uuid):
        return LiveMigrateServerInput(ctx=op_ctx, migration_id=mig_uuid, requested_host=host,
                                      block_migration=block, force=force and bool(host),
                                      max_attempts=h.settings.scheduler.max_attempts,
                                      timeouts=timeouts)

    await _start_move(h, ctx, inst, "live-migration", new_flavor=None, status="queued",
                      make_input=make_input, workflow=LiveMigrateServerWorkflow.run)


async def _raise_if_rejected(update: WorkflowUpdateHandle) -> None:
    """Raise WorkflowUpdateFailedError if the workflow's validator refused
    the update.  ``start_update(..., wait_for_stage=ACCEPTED)`` does not
    raise for a rejection: the server answers with the update already
    completed by its failure, which only ``result()`` raises.  The SDK keeps
    that answer on the handle (``_known_outcome``), so ``result()`` then
    returns at once without another call; an accepted update has no outcome
    yet and is not waited for."""
    outcome = getattr(update, "_known_outcome", None)
    if outcome is not None and outcome.HasField("failure"):
        await update.result()


async def _decide(h: AppHandles, ctx: RequestContext, inst: Instance, name: str) -> None:
    """Send confirmResize/revertResize to the resize waiting in VERIFY_RESIZE."""
    check_transition(name, inst, ctx)
    with h.db.reader() as s:
        mig = s.exec(select(Migration).where(
            Migration.instance_uuid == inst.uuid, Migration.status == "finished",
            Migration.migration_type.in_(("resize", "migration")))
            .order_by(Migration.id.desc())).first()
    if mig is None or not mig.workflow_id:
        raise BadRequest("Instance has not been resized.")
    handle = h.temporal.get_workflow_handle(mig.workflow_id)
    try:
        update = await handle.start_update(
            name, ResizeDecision(ctx=op_context(ctx, inst, None)),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED)
        await _raise_if_rejected(update)
    except WorkflowUpdateFailedError as exc:
        # The validator refused: the resize is no longer waiting for a decision.
        cause = exc.cause
        raise Conflict(getattr(cause, "message", None) or str(cause)) from exc
    except RPCError as exc:
        log.warning("resize decision not delivered", action=name, error=str(exc))
        raise Conflict(f"Cannot '{name}' instance {inst.uuid}: its resize is no longer "
                       "awaiting a decision") from exc


@action("confirmResize", operations=("confirmResize",))
async def confirm_resize(h: AppHandles, ctx: RequestContext, inst: Instance,
                         _body: Any) -> Response:
    await _decide(h, ctx, inst, "confirmResize")
    return Response(status_code=204)


@action("revertResize", operations=("revertResize",))
async def revert_resize(h: AppHandles, ctx: RequestContext, inst: Instance,
                        _body: Any) -> None:
    await _decide(h, ctx, inst, "revertResize")
