"""Control-plane step of rescue / unrescue (workflows/rescue.py): record
where the server rests -- RESCUED, ACTIVE again, or ERROR with the fault
after a failed rescue (Nova's compute sets it so) -- with the step events."""

from __future__ import annotations

from sqlmodel import select
from temporalio import activity

from activities.base import ControlActivities
from activities.types.rescue import FinishRescueInput
from novaflow.states import TaskState
from schema.models import Instance, utcnow


class RescueActivities(ControlActivities):
    """Database step of rescue and unrescue."""

    @activity.defn(name="finish_rescue")
    def finish_rescue(self, inp: FinishRescueInput) -> None:
        with self.db.writer() as s:
            self.add_events(s, inp.ctx, inp.events)
            self.finish_action(s, inp.ctx, message=inp.error[:255] if inp.error else None)
            inst = s.exec(select(Instance).where(Instance.uuid == inp.ctx.server_id)).first()
            if inst is None or inst.deleted or inst.task_state == TaskState.DELETING:
                return
            now = utcnow()
            inst.task_state, inst.updated_at = None, now
            if inp.error is None:
                inst.vm_state, inst.power_state = inp.vm_state, inp.power_state
            elif inp.error_state is not None:
                inst.vm_state = inp.error_state
                inst.fault = {"code": 500, "message": inp.error, "details": "",
                              "created": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
            s.add(inst)

    def all(self) -> list:
        return [self.finish_rescue]
