"""The control worker's host cache against a real (SQLite) database.

Two SchedulerActivities on one database stand for two control workers: each
must see the other's claims, releases and the operators' changes at its next
decision, re-reading only the hosts that changed, and always agree with a
full read of the database.  tests/e2e/test_scheduler_on_backend.py runs the
race that needs PostgreSQL too.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from scheduler_workers import cached_usage, claim, db_usage, seeded, select_, worker
from sqlmodel import select
from temporalio.exceptions import ApplicationError

from activities.scheduler import placement
from activities.scheduler.activities import SchedulerActivities
from activities.types.context import OpContext
from activities.types.scheduling import ReleaseClaimInput
from novaflow.settings import Settings
from schema.models import Aggregate, AggregateHost, ComputeNode, Instance, Service, utcnow


@pytest.fixture
def db(tmp_path):
    db = seeded(f"sqlite:///{tmp_path / 'c.db'}")
    yield db
    db.dispose()


def test_own_claims_are_applied_in_memory_without_rereading(db, tmp_path):
    a = worker(db, tmp_path)
    for i in range(4):
        claim(a, f"s{i}", select_(a, f"s{i}"))
    assert cached_usage(a) == db_usage(db, tmp_path)
    assert a.host_cache.stats["full"] == 1
    assert a.host_cache.stats["hosts_reread"] == 0
    assert a.host_cache.stats["own_claims"] == 4


def test_another_workers_claims_and_releases_are_reread_host_by_host(db, tmp_path):
    a, b = worker(db, tmp_path), worker(db, tmp_path)
    select_(a, "warm")
    claim(b, "s1", ["h2"])
    assert cached_usage(a)["h2"][:3] == (2, 2048, 10)
    b.release_claim(ReleaseClaimInput(ctx=OpContext(server_id="s1", project_id="p",
                                                    user_id="u"), consumer_id="s1"))
    assert cached_usage(a) == db_usage(db, tmp_path)
    assert a.host_cache.stats["full"] == 1
    assert a.host_cache.stats["hosts_reread"] == 2


def test_a_stale_cache_costs_a_claim_conflict_then_reselects_right(db, tmp_path):
    a, b = worker(db, tmp_path), worker(db, tmp_path)
    select_(a, "warm")
    # h1 fills up behind a's back, and a has not refreshed since.
    for i in range(6):  # 6 x 2048 MB: all of 8192 MB x 1.5
        claim(b, f"big{i}", ["h1"])
    with pytest.raises(ApplicationError) as err:
        claim(a, "s1", ["h1"])
    assert err.value.type == "ClaimConflict"
    assert "h1" not in select_(a, "s1")
    assert cached_usage(a) == db_usage(db, tmp_path)


def test_operator_changes_reach_the_cache(db, tmp_path):
    a = worker(db, tmp_path)
    select_(a, "warm")
    with db.writer() as s:
        svc = s.exec(select(Service).where(Service.host == "h1")).one()
        svc.disabled = True
        s.add(svc)
    assert "h1" not in select_(a, "s1")
    with db.writer() as s:  # an aggregate names no host: everything is re-read
        agg = Aggregate(name="az2", metadata_={"availability_zone": "az2"})
        s.add(agg)
        s.flush()
        s.add(AggregateHost(aggregate_id=agg.id, host="h3"))
    assert select_(a, "s2", availability_zone="az2") == ["h3"]
    with db.writer() as s:  # a new host appears
        s.add(ComputeNode(host="h4", hypervisor_hostname="h4", vcpus=64, memory_mb=65536,
                          local_gb=1000))
        s.add(Service(host="h4", last_seen_up=utcnow()))
    assert select_(a, "s3")[0] == "h4"
    assert cached_usage(a) == db_usage(db, tmp_path)


def test_instances_moving_in_and_a_silent_host_are_seen(db, tmp_path):
    settings = Settings(state_dir=tmp_path)
    settings.scheduler.host_cache_liveness_s = 0
    a = SchedulerActivities(db, settings)
    select_(a, "warm")
    with db.writer() as s:
        s.add(Instance(uuid="i1", display_name="i1", project_id="p", user_id="u",
                       vm_state="building", host="h2"))
        svc = s.exec(select(Service).where(Service.host == "h3")).one()
        svc.last_seen_up = utcnow() - timedelta(hours=1)  # a heartbeat, not a change
        s.add(svc)
    with db.reader() as s:
        table = a.host_cache.table(s)
    assert table.hosts[table.row("h2")].instance_uuids == {"i1"}
    assert "h3" not in select_(a, "s1")
    assert cached_usage(a) == db_usage(db, tmp_path)


def test_pruned_changes_it_never_read_make_the_cache_reload(db, tmp_path):
    a, b = worker(db, tmp_path), worker(db, tmp_path)
    cached_usage(a)
    for i in range(3):
        claim(b, f"s{i}", select_(b, f"s{i}"))
    with db.writer() as s:
        pruned = placement.prune_changes(s, keep=1)
        assert pruned > 0 and placement.first_change(s) == placement.last_change(s)
    full = a.host_cache.stats["full"]
    assert cached_usage(a) == db_usage(db, tmp_path)
    assert a.host_cache.stats["full"] == full + 1
    # Pruning what it has read already costs nothing.
    claim(b, "s9", select_(b, "s9"))
    cached_usage(a)
    with db.writer() as s:
        placement.prune_changes(s, keep=1)
    assert cached_usage(a) == db_usage(db, tmp_path)
    assert a.host_cache.stats["full"] == full + 1
