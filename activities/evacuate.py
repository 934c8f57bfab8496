"""Control-plane activities of an evacuation (workflows/evacuate.py): the
end of a successful one.  The rest (plan, claim, failure) are the move's
own activities (activities/migrations.py); a failed evacuation ends as a
failed move does (``fail_migration``: ERROR on the source, with a fault).
"""

from __future__ import annotations

from sqlmodel import select
from temporalio import activity

from activities.migrations import MigrationActivities, _follow_host_zone, _refuse_if_gone
from activities.scheduler import placement
from activities.types.moves import FinishMoveInput
from novaflow.states import PowerState, VmState
from schema.models import PendingHostCleanup, utcnow


class EvacuateActivities(MigrationActivities):
    """Database steps of an evacuation."""

    @activity.defn(name="finish_evacuation")
    def finish_evacuation(self, inp: FinishMoveInput) -> None:
        """The server runs on its new host: ACTIVE (SHUTOFF if it was stopped
        or at 2.95), the migration ``done``.  The source's allocation is
        released and its leftover domain queued for destruction when the
        source host reports again (the pending host clean-up delete uses);
        Nova's source compute does both when it starts."""
        with self.db.writer() as s:
            inst, mig = self._rows(s, inp.ctx, inp.migration_id)
            self.add_events(s, inp.ctx, inp.events)
            _refuse_if_gone(inst)
            placement.release(s, mig.uuid)
            source = mig.source_compute
            if source and source != inp.host:
                queued = s.exec(select(PendingHostCleanup).where(
                    PendingHostCleanup.host == source,
                    PendingHostCleanup.instance_uuid == inst.uuid)).first()
                if queued is None:
                    s.add(PendingHostCleanup(host=source, instance_uuid=inst.uuid,
                                             reason=f"evacuated to {inp.host}"))
            self._set_status(mig, "done")
            inst.host = inst.node = inp.host
            _follow_host_zone(s, inst)
            inst.vm_state = (VmState.STOPPED if inp.power_state == PowerState.SHUTDOWN
                             else VmState.ACTIVE)
            inst.task_state, inst.power_state, inst.fault = None, inp.power_state, None
            inst.launched_at = inst.updated_at = utcnow()
            s.add_all([inst, mig])
            self.finish_action(s, inp.ctx)

    def all(self) -> list:
        return [self.finish_evacuation]
