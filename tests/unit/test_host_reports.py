"""record_host_report and get_delete_targets against a real (SQLite) database:
heartbeat, inventory changes, Nova's power-sync rules, leftover domains."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from activities.host_reports import HostStateActivities
from activities.types.context import OpContext
from activities.types.hosts import DomainReport, HostReport, Inventory, RecordHostReportInput
from novaflow.settings import Settings
from novaflow.states import PowerState, TaskState, VmState
from schema.db import Database
from schema.migrate import upgrade
from schema.models import (
    ComputeNode,
    Instance,
    Migration,
    PendingHostCleanup,
    Service,
    utcnow,
)

HOST = "h1"


@pytest.fixture
def acts(tmp_path) -> HostStateActivities:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    upgrade(url)
    db = Database(url)
    with db.writer() as s:
        s.add(ComputeNode(host=HOST, hypervisor_hostname=HOST, vcpus=8, memory_mb=8192,
                          local_gb=100, cpu_arch="x86_64", hypervisor_version=1))
        s.add(Service(host=HOST, last_seen_up=utcnow() - timedelta(minutes=5)))
    yield HostStateActivities(db, Settings(state_dir=tmp_path))
    db.dispose()


def add_instance(acts, vm_state: str = VmState.ACTIVE, task_state: str | None = None,
                 host: str | None = HOST, deleted: bool = False, age_s: float = 60) -> str:
    inst = Instance(display_name="vm", project_id="p", user_id="u", vm_state=vm_state,
                    task_state=task_state, host=host, power_state=PowerState.RUNNING,
                    deleted=deleted, updated_at=utcnow() - timedelta(seconds=age_s))
    with acts.db.writer() as s:
        s.add(inst)
    return inst.uuid


def report(acts, domains: dict[str, int], vcpus: int = 8):
    rep = HostReport(hostname=HOST,
                     inventory=Inventory(vcpus=vcpus, memory_mb=8192, local_gb=100,
                                         cpu_arch="x86_64", hypervisor_type="QEMU",
                                         hypervisor_version=1),
                     domains=[DomainReport(server_id=k, name=k, power_state=v)
                              for k, v in domains.items()])
    return acts.record_host_report(RecordHostReportInput(
        report=rep, started_at=utcnow() - timedelta(seconds=1)))


def row(acts, server_id: str) -> Instance:
    with acts.db.reader() as s:
        return s.exec(select(Instance).where(Instance.uuid == server_id)).one()


def test_a_report_is_a_heartbeat_and_records_inventory_changes(acts):
    with acts.db.reader() as s:
        gen = s.exec(select(ComputeNode)).one().generation
    result = report(acts, {}, vcpus=12)
    assert result.registered and result.changes == ["vcpus: 8 -> 12"]
    with acts.db.reader() as s:
        node = s.exec(select(ComputeNode)).one()
        svc = s.exec(select(Service)).one()
    assert node.vcpus == 12 and node.generation == gen + 1
    assert utcnow() - svc.last_seen_up.replace(tzinfo=utcnow().tzinfo) < timedelta(seconds=5)
    assert report(acts, {}, vcpus=12).changes == []


def test_power_sync_follows_novas_rules(acts):
    stopped = add_instance(acts)
    paused_off = add_instance(acts, vm_state=VmState.PAUSED)
    vanished = add_instance(acts)
    busy = add_instance(acts, task_state=TaskState.POWERING_OFF)
    fresh = add_instance(acts, age_s=-5)  # changed after the report began
    running = add_instance(acts)
    report(acts, {stopped: PowerState.SHUTDOWN, paused_off: PowerState.SHUTDOWN,
                  busy: PowerState.SHUTDOWN, fresh: PowerState.SHUTDOWN,
                  running: PowerState.RUNNING})
    assert row(acts, stopped).vm_state == VmState.STOPPED
    assert row(acts, stopped).power_state == PowerState.SHUTDOWN
    assert row(acts, paused_off).vm_state == VmState.STOPPED
    assert row(acts, vanished).vm_state == VmState.ERROR
    assert "vanished from host h1" in row(acts, vanished).fault["message"]
    assert row(acts, busy).vm_state == VmState.ACTIVE  # an operation owns it
    assert row(acts, fresh).vm_state == VmState.ACTIVE  # newer than the report
    assert row(acts, running).vm_state == VmState.ACTIVE


def test_leftover_domains(acts):
    unknown = "00000000-0000-4000-8000-000000000001"
    deleted = add_instance(acts, deleted=True, vm_state=VmState.DELETED)
    elsewhere = add_instance(acts, host="h2", age_s=5)  # just settled there: left alone
    settled = add_instance(acts, host="h2", age_s=600)  # long settled there: a stray
    moving = add_instance(acts, host="h2", age_s=600)
    with acts.db.writer() as s:  # ...unless a move between the two hosts explains it
        s.add(Migration(uuid=str(uuid.uuid4()), instance_uuid=moving, migration_type="resize",
                        status="finished", source_compute=HOST, dest_compute="h2",
                        project_id="p", user_id="u"))
    queued = add_instance(acts, deleted=True, vm_state=VmState.DELETED, host=None)
    gone = add_instance(acts, deleted=True, vm_state=VmState.DELETED, host=None)
    with acts.db.writer() as s:
        s.add(PendingHostCleanup(host=HOST, instance_uuid=queued))
        s.add(PendingHostCleanup(host=HOST, instance_uuid=gone))
    result = report(acts, {unknown: 1, deleted: 1, elsewhere: 1, settled: 1, moving: 1,
                           queued: 1})
    assert result.unknown == [unknown]
    # unknown: only reported
    assert sorted(result.destroy) == sorted([deleted, settled, queued])
    with acts.db.reader() as s:
        left = [p.instance_uuid for p in s.exec(select(PendingHostCleanup))]
    assert left == [queued]  # the one whose domain is already gone is forgotten
    acts.settings.reap_unknown_domains = True
    assert unknown in report(acts, {unknown: 1}).destroy


def test_a_deleted_service_stops_the_monitor(acts):
    with acts.db.writer() as s:
        s.delete(s.exec(select(Service)).one())
    assert report(acts, {}).registered is False


def test_delete_targets_cover_migrations_and_down_hosts(acts):
    server_id = add_instance(acts)
    with acts.db.writer() as s:
        s.add(ComputeNode(host="h2", hypervisor_hostname="h2", vcpus=8, memory_mb=8192,
                          local_gb=100))
        s.add(Service(host="h2", last_seen_up=utcnow()))
        s.add(Migration(instance_uuid=server_id, migration_type="resize", status="migrating",
                        source_compute=HOST, dest_compute="h2", workflow_id="resize-x"))
        s.add(Migration(instance_uuid=server_id, migration_type="resize", status="confirmed",
                        source_compute=HOST, dest_compute="gone-host", workflow_id="old"))
    targets = acts.get_delete_targets(OpContext(server_id=server_id, project_id="p",
                                                user_id="u"))
    assert targets.hosts == [HOST, "h2"]
    assert targets.down_hosts == [HOST]  # its heartbeat is five minutes old
    assert targets.workflow_ids == ["resize-x"]
    assert targets.consumer_ids[0] == server_id and len(targets.consumer_ids) == 3
