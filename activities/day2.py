"""Control-plane activities of the day-2 operations: recording how a guest
action (trigger_crash_dump) ended.  They own the database writes; the
workflows in workflows/guest_action.py only call them."""

from __future__ import annotations

from temporalio import activity

from activities.base import ControlActivities
from activities.types.day2 import FinishGuestActionInput


class Day2Activities(ControlActivities):
    """Database steps of the day-2 operations."""

    @activity.defn(name="finish_guest_action")
    def finish_guest_action(self, inp: FinishGuestActionInput) -> None:
        """Write the action's events and finish it; the server's states are
        untouched (a guest action holds no task_state)."""
        with self.db.writer() as s:
            self.add_events(s, inp.ctx, inp.events)
            self.finish_action(s, inp.ctx, message=inp.error[:255] if inp.error else None)

    def all(self) -> list:
        return [self.finish_guest_action]
