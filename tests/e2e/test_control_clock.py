"""The control plane hears itself: its monitor ticks through Temporal, so
host liveness can tell a silent host from a deaf control plane."""

from __future__ import annotations

from datetime import timedelta

from stack import wait_for

from schema.models import ControlPlaneClock, utcnow


def test_the_control_plane_ticks(stack):
    def ticking():
        with stack.db.reader() as s:
            clock = ControlPlaneClock.read(s)
            return clock is not None and utcnow() - clock.last_tick.replace(
                tzinfo=utcnow().tzinfo) < timedelta(seconds=5)
    wait_for(ticking, 30, what="a recent control-plane tick")
