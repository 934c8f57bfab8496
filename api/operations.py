"""The one way an operation on a server starts.

Every create, delete and server action goes through ``start_operation``:

1. check the transitions table (novaflow/states.py): 409 in Nova's words if
   the operation may not start from the server's vm_state / task_state, or
   if the server is locked and the caller no admin (``allowed_when_locked``);
2. take the task_state with a compare-and-swap on the instance row (the
   UPDATE only matches the states just checked), so of two racing requests
   exactly one wins and the other gets the 409;
3. write the instance action, and whatever rows the operation adds
   (``prepare``: a migration record, the new instance of a create), in the
   same transaction;
4. start the operation's workflow with Temporal's id-conflict policy;
5. if Temporal cannot take it, undo the row changes (``undo`` for the
   operation's own rows) and answer 503 with Retry-After: nothing hidden is
   left behind and the client may simply try again.

An action module in ``api/actions/`` declares its body and builds an
``Operation``; nothing else starts workflows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.service import RPCError

from activities.types.context import OpContext
from api.deps import AppHandles, RequestContext
from api.errors import Conflict, NotFound, ServiceUnavailable
from novaflow import logs
from novaflow.queues import CONTROL_QUEUE
from novaflow.states import transition
from schema.models import Instance, InstanceAction, utcnow
from workflows.common import FLAVOR_NAME, HOST, OPERATION, PROJECT_ID, SERVER_ID, OpTimeouts

log = logs.get_logger("novaflow.api")

# Seconds a client should wait before retrying when Temporal is unavailable.
RETRY_AFTER_S = 5


@dataclass
class Started:
    """What a started operation handed to Temporal."""

    workflow_id: str
    action_id: int
    previous_workflow_id: str | None  # the operation the server was running, if any


@dataclass
class Operation:
    """One operation on one server, as ``start_operation`` needs it.

    ``key`` names the row of the transitions table; ``workflow_id(server,
    action_id)`` the execution; ``make_input(op_ctx, started)`` the workflow's
    input.  ``prepare(session, row, workflow_id)`` adds the operation's own
    rows in the same transaction (raise a NovaAPIError to refuse);
    ``undo(session, row, workflow_id)`` removes them if the start fails.
    ``new`` marks a create: the row is inserted, not swapped.
    """

    key: str
    workflow: Any  # the workflow's run method
    workflow_id: Callable[[Instance, int], str]
    make_input: Callable[[OpContext, Started], Any]
    summary: str
    details: str | None = None
    search_operation: str | None = None  # the Operation search attribute (default: key)
    prepare: Callable[[Session, Instance, str], None] | None = None
    undo: Callable[[Session, Instance, str], None] | None = None
    new: bool = False
    conflict_policy: WorkflowIDConflictPolicy = WorkflowIDConflictPolicy.FAIL
    reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE


def op_timeouts(h: AppHandles) -> OpTimeouts:
    s = h.settings
    return OpTimeouts(host_schedule_to_start_s=s.host_schedule_to_start_timeout,
                      host_step_s=s.spawn_timeout,
                      host_heartbeat_s=s.host_heartbeat_timeout,
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


def check_transition(key: str, inst: Instance, ctx: RequestContext) -> None:
    """409 in Nova's words unless ``key`` may start from the server's states
    and, on a locked server, the caller is an admin or the row allows it
    (Nova's ``check_instance_lock`` runs before its state check)."""
    rule = transition(key)
    if inst.locked and not ctx.is_admin and not rule.allowed_when_locked:
        raise Conflict(f"Instance {inst.uuid} is locked")
    refusal = rule.refusal(inst.uuid, inst.vm_state, inst.task_state)
    if refusal:
        raise Conflict(refusal)
    if rule.needs_host and not inst.host:
        raise Conflict(f"Cannot '{rule.operation}' instance {inst.uuid}: it is not on any host")


@dataclass
class _Before:
    """The states an operation found the server in: what an undo restores."""

    task_state: str | None
    workflow_id: str | None


# How many times a compare-and-swap on task_state is taken again after the row
# moved under it to a state the operation is still allowed in.
TAKE_ATTEMPTS = 3


def _take(s: Session, ctx: RequestContext, inst: Instance, key: str
          ) -> tuple[Instance, _Before]:
    """Check the table and take task_state with a compare-and-swap.

    A swap that misses because a workflow step moved the row meanwhile (a
    build's mark_active under a delete) is tried again on the row as it now
    is, if the table still allows the operation there; one that misses
    because another request took the row is refused.
    """
    rule = transition(key)
    row = s.get(Instance, inst.id)
    if row is None or row.deleted:
        raise NotFound(f"Instance {inst.uuid} could not be found.")
    for _ in range(TAKE_ATTEMPTS):
        check_transition(key, row, ctx)
        before = _Before(row.task_state, row.workflow_id)
        same_task = (Instance.task_state.is_(None) if before.task_state is None
                     else Instance.task_state == before.task_state)
        taken = s.execute(update(Instance)
                          .where(Instance.id == row.id, Instance.vm_state == row.vm_state,
                                 same_task, Instance.deleted.is_(False),
                                 Instance.locked.is_(bool(row.locked)))
                          .values(task_state=rule.task_state, updated_at=utcnow())
                          .execution_options(synchronize_session=False))
        s.refresh(row)
        if taken.rowcount == 1:
            return row, before
        if row.deleted or row.task_state == rule.task_state:
            break  # deleted, or another request of the same kind took it
    check_transition(key, row, ctx)  # e.g. locked meanwhile: that 409
    raise Conflict(rule.refusal(row.uuid, row.vm_state, row.task_state)
                   or f"Cannot '{rule.operation}' instance {row.uuid} while another "
                      "operation is starting on it")


@dataclass
class Written:
    """An operation whose rows are written and whose workflow is not yet started."""

    op: Operation
    row: Instance
    before: _Before
    started: Started
    inp: Any


async def start_operation(h: AppHandles, ctx: RequestContext, inst: Instance,
                          op: Operation) -> Started:
    """Check, take task_state, write the action, start the workflow (see module doc)."""
    return await launch_operation(h, ctx, await write_operation(h, ctx, inst, op))


async def write_operation(h: AppHandles, ctx: RequestContext, inst: Instance,
                          op: Operation) -> Written:
    """The first half of ``start_operation``: check, take task_state and write
    the action (a create: the instance).  ``launch_operation`` must follow, or
    ``abandon_operation`` to put the rows back."""
    def write() -> Written:
        with h.db.writer() as s:
            if op.new:
                s.add(inst)
                s.flush()
                row, before = inst, _Before(None, None)
            else:
                row, before = _take(s, ctx, inst, op.key)
            act = InstanceAction(action=rule.operation, instance_uuid=row.uuid,
                                 request_id=ctx.request_id, project_id=row.project_id,
                                 user_id=ctx.user_id)
            s.add(act)
            s.flush()
            workflow_id = op.workflow_id(row, act.id)
            act.workflow_id = row.workflow_id = workflow_id
            if op.prepare is not None:
                op.prepare(s, row, workflow_id)
            s.add_all([act, row])
            s.flush()
            started = Started(workflow_id=workflow_id, action_id=act.id,
                              previous_workflow_id=before.workflow_id
                              if before.task_state is not None else None)
            inp = op.make_input(op_context(ctx, row, act.id), started)
            return Written(op, row, before, started, inp)

    rule = transition(op.key)
    # The transaction runs in a thread: on the event loop it would stall every
    # request (and, in the one-process stack, every workflow) while it waits.
    return await asyncio.to_thread(write)


async def launch_operation(h: AppHandles, ctx: RequestContext, w: Written) -> Started:
    """The second half of ``start_operation``: start the workflow; if Temporal
    cannot, put the rows back and answer 503."""
    op, row = w.op, w.row
    try:
        await h.temporal.start_workflow(
            op.workflow, w.inp, id=w.started.workflow_id, task_queue=CONTROL_QUEUE,
            id_conflict_policy=op.conflict_policy, id_reuse_policy=op.reuse_policy,
            search_attributes=search_attributes(row, op.search_operation or op.key),
            static_summary=op.summary,
            static_details=(op.details or f"server {row.uuid}") + f", request {ctx.request_id}")
    except Exception as exc:
        log.error("could not start the operation", operation=op.key, server_id=row.uuid,
                  error=repr(exc))
        await abandon_operation(h, w)
        raise ServiceUnavailable(
            f"The {transition(op.key).operation} of server {row.uuid} could not be started: "
            "the workflow service is unavailable. Nothing was changed; try again later.",
            headers={"Retry-After": str(RETRY_AFTER_S)}) from exc
    return w.started


async def abandon_operation(h: AppHandles, w: Written) -> None:
    """Put back the rows of an operation that will not be launched."""
    await asyncio.to_thread(_undo, h, w.row, w.op, w.started, w.before)


async def read_on_host(h: AppHandles, workflow: Any, inp: Any, workflow_id: str,
                       summary: str) -> Any:
    """Run a short read-only workflow (a read on the server's host) and return
    its result; it takes no task_state and records no instance action, as
    Nova records none for such reads."""
    try:
        return await h.temporal.execute_workflow(workflow, inp, id=workflow_id,
                                                 task_queue=CONTROL_QUEUE,
                                                 static_summary=summary)
    except RPCError as exc:
        raise ServiceUnavailable("The workflow service is unavailable; try again later.",
                                 headers={"Retry-After": str(RETRY_AFTER_S)}) from exc


def failure_type(exc: BaseException) -> str | None:
    """The failure type (novaflow.errors) of a host read's failure: the first
    ``type`` down its chain of causes (an activity's ApplicationError)."""
    cause: BaseException | None = exc
    while cause is not None:
        if getattr(cause, "type", None):
            return cause.type
        cause = cause.__cause__ or getattr(cause, "cause", None)
    return None


def _undo(h: AppHandles, row: Instance, op: Operation, started: Started,
          before: _Before) -> None:
    """Put the rows back as they were before ``start_operation``: a create
    leaves no server at all (so no quota use), any other operation gives the
    server back its task_state."""
    try:
        with h.db.writer() as s:
            workflow_id = started.workflow_id
            if op.undo is not None:
                op.undo(s, row, workflow_id)
            s.execute(delete(InstanceAction).where(InstanceAction.id == started.action_id))
            if op.new:
                s.execute(delete(Instance).where(Instance.id == row.id))
                return
            s.execute(update(Instance)
                      .where(Instance.id == row.id, Instance.workflow_id == workflow_id)
                      .values(task_state=before.task_state, workflow_id=before.workflow_id))
    except Exception as exc:  # the database failed too: the audit finds what is left
        log.error("could not undo a failed operation start", operation=op.key,
                  server_id=row.uuid, error=repr(exc))
