"""Control-plane activities of the day-2 operations: recording how a guest
action (trigger_crash_dump) ended, and the start of a soft-deleted server's
reclaim.  They own the database writes; the workflows only call them."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import update
from temporalio import activity

from activities.base import ControlActivities
from activities.types.context import OpContext
from activities.types.day2 import BeginReclaimInput, FinishGuestActionInput
from novaflow.states import TaskState, VmState
from schema.models import Instance, InstanceAction, utcnow


class Day2Activities(ControlActivities):
    """Database steps of the day-2 operations."""

    @activity.defn(name="finish_guest_action")
    def finish_guest_action(self, inp: FinishGuestActionInput) -> None:
        """Write the action's events and finish it; the server's states are
        untouched (a guest action holds no task_state)."""
        with self.db.writer() as s:
            self.add_events(s, inp.ctx, inp.events)
            self.finish_action(s, inp.ctx, message=inp.error[:255] if inp.error else None)

    @activity.defn(name="begin_reclaim")
    def begin_reclaim(self, inp: BeginReclaimInput) -> OpContext | None:
        """Take a soft-deleted server for its delete (task_state deleting and
        a ``delete`` action, in one compare-and-swap, as start_operation
        does); None if it was restored, deleted or soft-deleted again since."""
        with self.db.writer() as s:
            taken = s.execute(update(Instance).where(
                Instance.uuid == inp.ctx.server_id, Instance.deleted.is_(False),
                Instance.vm_state == VmState.SOFT_DELETED, Instance.task_state.is_(None),
                Instance.workflow_id == inp.soft_delete_workflow_id,
            ).values(task_state=TaskState.DELETING, workflow_id=inp.delete_workflow_id,
                     updated_at=utcnow()).execution_options(synchronize_session=False))
            if taken.rowcount != 1:
                return None
            act = InstanceAction(action="delete", instance_uuid=inp.ctx.server_id,
                                 request_id=inp.ctx.request_id, project_id=inp.ctx.project_id,
                                 user_id=inp.ctx.user_id, workflow_id=inp.delete_workflow_id,
                                 message="reclaimed after reclaim_instance_interval")
            s.add(act)
            s.flush()
            return replace(inp.ctx, action_id=act.id)

    def all(self) -> list:
        return [self.finish_guest_action, self.begin_reclaim]
