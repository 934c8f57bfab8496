"""The control plane's own heartbeat: a tick every report interval through
Temporal (workflows/control_monitor.py), so that host liveness can tell a host
that went silent from a control plane that could not hear
(novaflow/rules.py ``service_is_up``).  The tick also keeps the scheduler's
change log (``host_changes``) to its newest rows."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity

from activities.base import ControlActivities
from activities.scheduler import placement
from novaflow import logs
from schema.models import ControlPlaneClock, utcnow

log = logs.get_logger("novaflow.control")


class ControlClockActivities(ControlActivities):
    """Writes the control plane's tick."""

    @activity.defn(name="record_control_tick")
    def record_control_tick(self, interval_s: float) -> bool:
        """Record a tick; True when it ends a gap (the control plane was deaf)."""
        now = utcnow()
        gap = timedelta(seconds=2 * interval_s + 1)
        with self.db.writer() as s:
            clock = s.get(ControlPlaneClock, "control")
            if clock is None:
                clock = ControlPlaneClock(name="control", last_tick=now, up_since=now)
                resumed = True
            else:
                last = clock.last_tick if clock.last_tick.tzinfo else \
                    clock.last_tick.replace(tzinfo=now.tzinfo)
                resumed = now - last > gap
                if resumed:
                    log.warning("the control plane heard nothing for a while; host silence "
                                "counts from now", silent_s=round((now - last).total_seconds()))
                    clock.up_since = now
                clock.last_tick = now
            s.add(clock)
        with self.db.writer() as s:
            pruned = placement.prune_changes(s, self.settings.scheduler.host_changes_kept)
        if pruned:
            log.debug("pruned the host change log", rows=pruned)
        return resumed

    def all(self) -> list:
        return [self.record_control_tick]
