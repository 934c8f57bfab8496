"""lock / unlock: a flag on the server that makes it refuse every other
action from non-admins (409 "Instance <uuid> is locked", enforced by
``check_transition`` through the table's ``allowed_when_locked``).

As in Nova's compute API, these change the instance row and record an
instance action at once; they start no workflow and take no task_state, so
a server can be locked while another operation runs on it.  The owner's
lock (``locked_by`` "owner") may be lifted by the owner; an admin's lock
("admin") only by an admin (policy ``unlock:unlock_override``).  2.73 adds
``locked_reason``.
"""

from __future__ import annotations

from typing import Any

from api.actions import action
from api.deps import AppHandles, RequestContext
from api.errors import BadRequest, NotFound
from api.operations import check_transition
from api.validation import no_extra_keys, string
from schema.models import Instance, InstanceAction, utcnow

UNLOCK_OVERRIDE = "os_compute_api:os-lock-server:unlock:unlock_override"


def _locked_reason(ctx: RequestContext, body: Any) -> str | None:
    """The 2.73 body ``{"locked_reason": "..."}`` (or null); older ones ignore it."""
    if not ctx.version.at_least("2.73") or body is None:
        return None
    if not isinstance(body, dict):
        raise BadRequest(f"Invalid input for field/attribute lock. Value: {body!r:.100}. "
                         f"{body!r:.100} is not of type 'object', 'null'")
    no_extra_keys(body, {"locked_reason"}, "lock")
    return string(body, "locked_reason", max_len=255)


def _expected_locked_by(ctx: RequestContext, inst: Instance) -> str:
    return "owner" if inst.project_id == ctx.project_id else "admin"


def record_action(s, ctx: RequestContext, row: Instance, name: str) -> None:
    """An instance action that starts and ends with this request."""
    now = utcnow()
    s.add(InstanceAction(action=name, instance_uuid=row.uuid, request_id=ctx.request_id,
                         project_id=row.project_id, user_id=ctx.user_id, start_time=now,
                         finish_time=now, updated_at=now))


def server_row(s, inst: Instance) -> Instance:
    """The server's row in this transaction (404 if deleted meanwhile)."""
    row = s.get(Instance, inst.id)
    if row is None or row.deleted:
        raise NotFound(f"Instance {inst.uuid} could not be found.")
    return row


@action("lock", operations=("lock",))
async def lock(h: AppHandles, ctx: RequestContext, inst: Instance, body: Any) -> None:
    reason = _locked_reason(ctx, body)
    with h.db.writer() as s:
        row = server_row(s, inst)
        check_transition("lock", row, ctx)
        locked_by = _expected_locked_by(ctx, row)
        if row.locked and locked_by == "owner":
            return  # Nova: the owner locking again changes nothing
        row.locked, row.locked_by, row.locked_reason = True, locked_by, reason
        row.updated_at = utcnow()
        s.add(row)
        record_action(s, ctx, row, "lock")


@action("unlock", operations=("unlock",))
async def unlock(h: AppHandles, ctx: RequestContext, inst: Instance, body: Any) -> None:
    with h.db.writer() as s:
        row = server_row(s, inst)
        check_transition("unlock", row, ctx)
        if row.locked_by and row.locked_by != _expected_locked_by(ctx, row):
            ctx.require_admin(UNLOCK_OVERRIDE)
        row.locked, row.locked_by, row.locked_reason = False, None, None
        row.updated_at = utcnow()
        s.add(row)
        record_action(s, ctx, row, "unlock")
