"""Host liveness that knows its own outage (novaflow/rules.py): silence
counts only while the control plane could hear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlmodel import select

from activities.control_clock import ControlClockActivities
from activities.scheduler.placement import load_host_states
from novaflow.rules import service_is_up
from novaflow.settings import Settings
from schema.db import Database
from schema.migrate import upgrade
from schema.models import ComputeNode, ControlPlaneClock, HostChange, Service, utcnow

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def svc(silent_s: float, forced_down: bool = False) -> SimpleNamespace:
    return SimpleNamespace(forced_down=forced_down,
                           last_seen_up=NOW - timedelta(seconds=silent_s))


def clock(last_tick_ago: float, up_since_ago: float) -> SimpleNamespace:
    return SimpleNamespace(last_tick=NOW - timedelta(seconds=last_tick_ago),
                           up_since=NOW - timedelta(seconds=up_since_ago))


def test_without_a_clock_silence_past_the_window_is_down():
    assert service_is_up(svc(30), 60, NOW)
    assert not service_is_up(svc(90), 60, NOW)
    assert not service_is_up(svc(1, forced_down=True), 60, NOW)


def test_a_host_silent_while_the_control_plane_heard_is_down():
    assert not service_is_up(svc(90), 60, NOW, clock(1, 3600))


def test_silence_during_our_own_outage_does_not_count():
    # Temporal was away for 90 s and came back 5 s ago: the host has not had
    # a chance to report since; it is not down.
    assert service_is_up(svc(95), 60, NOW, clock(1, 5))
    # ... but once the control plane has heard for a whole window, it is.
    later = NOW + timedelta(seconds=61)
    assert not service_is_up(svc(95), 60, later, clock(-60, 5))


def test_while_the_control_plane_is_deaf_hosts_are_judged_at_its_last_tick():
    # No tick for 90 s: every host is as silent as the control plane itself.
    assert service_is_up(svc(92), 60, NOW, clock(90, 3600))
    assert not service_is_up(svc(200), 60, NOW, clock(90, 3600))


# -- against the database: the clock's tick and the scheduler's host states ----


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'l.db'}"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


def test_a_tick_after_a_gap_restarts_the_clock(db, tmp_path):
    ticks = ControlClockActivities(db, Settings(state_dir=tmp_path))
    assert ticks.record_control_tick(1.0) is True  # the first tick
    assert ticks.record_control_tick(1.0) is False
    with db.writer() as s:
        clock = s.get(ControlPlaneClock, "control")
        first_up = clock.up_since
        clock.last_tick = utcnow() - timedelta(seconds=30)  # then 30 s of nothing
        s.add(clock)
    assert ticks.record_control_tick(1.0) is True
    with db.reader() as s:
        assert s.get(ControlPlaneClock, "control").up_since > first_up


def test_the_tick_keeps_the_newest_host_changes(db, tmp_path):
    settings = Settings(state_dir=tmp_path)
    settings.scheduler.host_changes_kept = 3
    with db.writer() as s:
        s.add_all(HostChange(host=f"h{i}") for i in range(10))
    ControlClockActivities(db, settings).record_control_tick(1.0)
    with db.reader() as s:
        assert [c.host for c in s.exec(select(HostChange).order_by(HostChange.seq))] == \
            ["h7", "h8", "h9"]


def test_the_scheduler_keeps_hosts_that_were_silent_only_during_our_outage(db, tmp_path):
    settings = Settings(state_dir=tmp_path)
    down_time = settings.scheduler.service_down_time
    with db.writer() as s:
        for host in ("h1", "h2"):
            s.add(ComputeNode(host=host, hypervisor_hostname=host, vcpus=8, memory_mb=8192,
                              local_gb=100, cpu_arch="x86_64", hypervisor_version=1))
        silent = utcnow() - timedelta(seconds=down_time + 30)
        s.add(Service(host="h1", last_seen_up=silent))
        s.add(Service(host="h2", last_seen_up=silent))
    with db.reader() as s:
        assert not any(h.service_up for h in load_host_states(s, settings))
    with db.writer() as s:  # the control plane itself just came back
        s.add(ControlPlaneClock(name="control", last_tick=utcnow(), up_since=utcnow()))
    with db.reader() as s:
        assert all(h.service_up for h in load_host_states(s, settings))
        assert s.exec(select(Service)).all()
