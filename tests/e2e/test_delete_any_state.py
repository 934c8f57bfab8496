"""Delete from any state: during every step of a build (including while the
host is still spawning), during a move between two hosts, on a host that is
down (cleaned up when it returns), repeated; and the build timeout.

After every delete: the server is gone and no domain, allocation or port of
it is left anywhere."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from helpers import (
    allocations,
    boot,
    domain,
    extra_host,
    ports,
    server,
    wait_gone,
    wait_status,
)
from sqlmodel import select
from stack import wait_for
from temporalio.client import WorkflowExecutionStatus

from activities.hypervisor.libvirt_driver import LibvirtDriver
from activities.types.catalog import FlavorInfo, ImageInfo
from activities.types.hypervisor import SpawnInput
from api import operations
from schema.models import (
    Allocation,
    ComputeNode,
    Instance,
    InstanceAction,
    Migration,
    PendingHostCleanup,
)
from workflows.host_monitor import HostMonitorWorkflow


class HoldingDriver(LibvirtDriver):
    """A host whose hypervisor holds every spawn (or power-off) until the test
    releases it (a libvirt call that takes its time), holding the driver's
    lock as a real call would."""

    hold = "spawn"

    def __init__(self, *args, **kwargs):
        self.holding = threading.Event()
        self.release = threading.Event()
        super().__init__(*args, **kwargs)

    def _held(self, name: str, fn, *args):
        if name != self.hold:
            return fn(*args)
        with self._lock:
            self.holding.set()
            self.release.wait(60)
            return fn(*args)

    def spawn(self, inp: SpawnInput):
        return self._held("spawn", super().spawn, inp)

    def power_off(self, server_id: str, timeout: float = 60.0):
        return self._held("power_off", super().power_off, server_id, timeout)


class HoldingPowerOffDriver(HoldingDriver):
    hold = "power_off"


def nothing_left(stack, server_id: str) -> bool:
    """No domain on any running host, no allocation, no port."""
    return (not any(domain(stack, h, server_id) for h in stack.stack.running_hosts)
            and allocations(stack, server_id) == [] and ports(stack, server_id) == [])


def workflow_status(stack, workflow_id: str) -> WorkflowExecutionStatus:
    handle = stack.stack.client.get_workflow_handle(workflow_id)
    return stack.call(handle.describe()).status


def current_step(stack, workflow_id: str) -> str:
    handle = stack.stack.client.get_workflow_handle(workflow_id)
    return stack.call(handle.query("current_step"))


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.05, 0.1, 0.2, 0.4])
def test_delete_at_any_point_of_a_build_leaves_nothing(stack, demo, catalog_ids, delay):
    """Deleting at different moments of a build lands in different steps
    (scheduling, claim, network, spawn, just active): each ends clean."""
    server_id = boot(demo, catalog_ids, f"vm-del-{delay}")
    time.sleep(delay)  # not a wait: the offset chooses which build step the delete meets
    assert demo.delete(f"/v2.1/servers/{server_id}").status_code == 204
    wait_gone(demo, server_id, timeout=30)
    wait_for(lambda: nothing_left(stack, server_id), 10, what="every trace to go")
    assert workflow_status(stack, f"boot-{server_id}") in (
        WorkflowExecutionStatus.CANCELED, WorkflowExecutionStatus.COMPLETED,
        WorkflowExecutionStatus.FAILED)


def test_a_delete_a_build_step_overtakes_takes_the_server_as_it_now_is(
        stack, demo, catalog_ids, monkeypatch, app_database_url):
    """The delete's compare-and-swap on task_state misses because mark_active
    committed between its read and its swap: delete is allowed in any state,
    so it swaps again on the row as it now is instead of answering 409."""
    if app_database_url is None:
        pytest.skip("SQLite: a writer holds the database from its first read, so no "
                    "step can commit between the delete's read and its swap")
    server_id = boot(demo, catalog_ids, "vm-del-overtaken")
    wait_status(demo, server_id, {"ACTIVE"})

    def set_states(vm_state: str, task_state: str | None) -> None:
        with stack.db.writer() as s:
            row = s.exec(select(Instance).where(Instance.uuid == server_id)).one()
            row.vm_state, row.task_state = vm_state, task_state
            s.add(row)

    set_states("building", "spawning")  # as in the build's last step
    real_check = operations.check_transition
    overtaken = []

    def mark_active_lands_first(key, row, ctx):
        if key == "delete" and not overtaken:
            set_states("active", None)  # commits while the delete's transaction runs
            overtaken.append(row.task_state)
        return real_check(key, row, ctx)

    monkeypatch.setattr(operations, "check_transition", mark_active_lands_first)
    assert demo.delete(f"/v2.1/servers/{server_id}").status_code == 204
    monkeypatch.undo()
    assert overtaken == ["spawning"]
    wait_gone(demo, server_id, timeout=30)
    wait_for(lambda: nothing_left(stack, server_id), 10, what="every trace to go")


def test_delete_while_the_host_is_spawning(stack, admin, catalog_ids):
    name = f"spawny-{uuid.uuid4().hex[:6]}"
    with extra_host(stack, admin, name, driver_cls=HoldingDriver) as driver:
        server_id = boot(admin, catalog_ids, "vm-del-spawning",
                         availability_zone=f"nova:{name}")
        assert driver.holding.wait(20), "the spawn never reached the host"
        assert admin.delete(f"/v2.1/servers/{server_id}").status_code == 204
        assert server(admin, server_id)["OS-EXT-STS:task_state"] == "deleting"
        # The build is cancelled at once; its clean-up waits for the host to
        # finish what it started.
        wait_for(lambda: current_step(stack, f"boot-{server_id}") == "cancelled: cleaning up",
                 20, what="the build to be cancelled")
        driver.release.set()
        wait_gone(admin, server_id, timeout=30)
        assert domain(stack, name, server_id) is None
        assert allocations(stack, server_id) == [] and ports(stack, server_id) == []
        assert workflow_status(stack, f"boot-{server_id}") == WorkflowExecutionStatus.CANCELED


def test_delete_while_a_power_action_runs(stack, admin, catalog_ids):
    name = f"stoppy-{uuid.uuid4().hex[:6]}"
    with extra_host(stack, admin, name, driver_cls=HoldingPowerOffDriver) as driver:
        server_id = boot(admin, catalog_ids, "vm-del-stopping", availability_zone=f"nova:{name}")
        wait_status(admin, server_id, {"ACTIVE"})
        resp = admin.post(f"/v2.1/servers/{server_id}/action", json={"os-stop": None})
        assert resp.status_code == 202
        assert driver.holding.wait(20), "the power-off never reached the host"
        assert admin.delete(f"/v2.1/servers/{server_id}").status_code == 204
        # The stop is cancelled at once; the delete's destroy waits for the host.
        wait_for(lambda: current_step(stack, f"delete-{server_id}").startswith(
            "destroy_domain"), 20, what="the delete to reach the host")
        driver.release.set()
        wait_gone(admin, server_id, timeout=30)
        assert nothing_left(stack, server_id)
        with stack.db.reader() as s:
            wf = s.exec(select(InstanceAction.workflow_id).where(
                InstanceAction.instance_uuid == server_id,
                InstanceAction.action == "stop")).one()
        assert wf.startswith(f"stop-{server_id}-")
        assert workflow_status(stack, wf) == WorkflowExecutionStatus.CANCELED


def test_delete_while_the_spawn_waits_for_a_dead_host(stack, admin, catalog_ids):
    """The build's spawn sits in a stopped host's queue; the delete cancels it
    there, and the host never creates the domain when it comes back."""
    name = f"dead-{uuid.uuid4().hex[:6]}"
    with extra_host(stack, admin, name):
        st = stack.stack
        sim = st.running_hosts[name].host
        stack.call(st.stop_host(name))
        server_id = boot(admin, catalog_ids, "vm-del-queued", availability_zone=f"nova:{name}")
        wait_for(lambda: admin.get(f"/v2.1/servers/{server_id}").headers.get(
                 "Novaflow-Current-Step", "").startswith(f"spawn on {name}"), 20,
                 what="the spawn to be queued")
        assert admin.delete(f"/v2.1/servers/{server_id}").status_code == 204
        wait_gone(admin, server_id, timeout=30)
        assert allocations(stack, server_id) == [] and ports(stack, server_id) == []
        stack.call(st.start_host(sim))
        monitor = st.client.get_workflow_handle(f"host-monitor-{name}")
        seen = stack.call(monitor.query(HostMonitorWorkflow.status)).reports
        wait_for(lambda: stack.call(monitor.query(HostMonitorWorkflow.status)).reports
                 > seen + 1, 30,
                 what="the returned host to report")
        assert domain(stack, name, server_id) is None


def test_delete_on_a_host_that_is_down_cleans_up_when_it_returns(stack, demo, admin,
                                                                  catalog_ids):
    server_id = boot(demo, catalog_ids, "vm-del-host-down")
    wait_status(demo, server_id, {"ACTIVE"})
    host = server(admin, server_id)["OS-EXT-SRV-ATTR:host"]
    st = stack.stack
    sim = st.running_hosts[host].host
    stack.call(st.stop_host(host))
    try:
        assert demo.delete(f"/v2.1/servers/{server_id}").status_code == 204
        # Deleted without the host: everything the control plane holds is freed.
        wait_gone(demo, server_id, timeout=20)
        assert allocations(stack, server_id) == [] and ports(stack, server_id) == []
        with stack.db.reader() as s:
            pending = s.exec(select(PendingHostCleanup).where(
                PendingHostCleanup.instance_uuid == server_id)).all()
        assert [p.host for p in pending] == [host]
        assert demo.delete(f"/v2.1/servers/{server_id}").status_code == 404
    finally:
        stack.call(st.start_host(sim))
    # The host came back with the domain (its state survived); the monitor
    # destroys it and forgets the pending cleanup.
    wait_for(lambda: domain(stack, host, server_id) is None, 15,
             what="the leftover domain to be destroyed")

    def forgotten() -> bool:
        with stack.db.reader() as s:
            return s.exec(select(PendingHostCleanup).where(
                PendingHostCleanup.instance_uuid == server_id)).first() is None
    wait_for(forgotten, 10, what="the pending cleanup to be cleared")


def test_repeated_delete_is_harmless(stack, demo, catalog_ids):
    server_id = boot(demo, catalog_ids, "vm-del-twice")
    wait_status(demo, server_id, {"ACTIVE"})
    assert demo.delete(f"/v2.1/servers/{server_id}").status_code == 204
    second = demo.delete(f"/v2.1/servers/{server_id}")
    assert second.status_code in (204, 404)
    wait_gone(demo, server_id)
    assert demo.delete(f"/v2.1/servers/{server_id}").status_code == 404
    assert nothing_left(stack, server_id)


def test_delete_during_a_move_cleans_both_hosts(stack, demo, admin, catalog_ids):
    """A server caught between two hosts (a migration in progress holding an
    allocation and a domain on its destination) is cleaned on both."""
    server_id = boot(admin, catalog_ids, "vm-del-moving", availability_zone="nova:host-1")
    wait_status(admin, server_id, {"ACTIVE"})
    dest = "host-2"
    with stack.db.writer() as s:
        node = s.exec(select(ComputeNode).where(ComputeNode.host == dest)).first()
        migration = Migration(instance_uuid=server_id, migration_type="resize",
                              status="post-migrating", source_compute="host-1",
                              dest_compute=dest, project_id="admin", user_id="admin")
        s.add(migration)
        s.flush()
        s.add(Allocation(consumer_id=migration.uuid, node_uuid=node.uuid, vcpus=1,
                         memory_mb=512, disk_gb=1))
        migration_uuid = migration.uuid
    stack.stack.running_hosts[dest].driver.spawn(SpawnInput(
        server_id=server_id, name="vm-del-moving", project_id="admin",
        flavor=FlavorInfo(flavorid="1", name="m1.tiny", vcpus=1, memory_mb=512, root_gb=1),
        image=ImageInfo(id=catalog_ids["image"], name="cirros"), ports=[]))
    assert domain(stack, dest, server_id) is not None

    assert admin.delete(f"/v2.1/servers/{server_id}").status_code == 204
    wait_gone(admin, server_id)
    assert domain(stack, "host-1", server_id) is None
    assert domain(stack, dest, server_id) is None
    assert allocations(stack, server_id) == [] and allocations(stack, migration_uuid) == []
    assert ports(stack, server_id) == []


def test_build_timeout_puts_the_server_in_error_and_cleans_up(stack, admin, catalog_ids):
    name = f"slow-{uuid.uuid4().hex[:6]}"
    settings = stack.stack.settings
    with extra_host(stack, admin, name, driver_cls=HoldingDriver) as driver:
        before = settings.instance_build_timeout
        settings.instance_build_timeout = 3  # read when the build starts
        try:
            server_id = boot(admin, catalog_ids, "vm-timeout", availability_zone=f"nova:{name}")
        finally:
            settings.instance_build_timeout = before
        assert driver.holding.wait(20)
        s = wait_status(admin, server_id, {"ERROR", "ACTIVE"}, timeout=15)
        assert s["status"] == "ERROR"
        assert s["fault"]["message"] == (
            f"Build of instance {server_id} timed out after 3 seconds")
        # The hung spawn finishes at last: the build's clean-up undoes it.
        driver.release.set()
        wait_for(lambda: nothing_left(stack, server_id), 20, what="the build to be undone")
        wait_for(lambda: workflow_status(stack, f"boot-{server_id}")
                 == WorkflowExecutionStatus.FAILED, 10, what="the build to end failed")
