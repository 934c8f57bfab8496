"""Scheduling end to end on a stack of its own with known capacity: claims
under concurrency, anti-affinity races, reschedule with retry exclusion, and
no leaked allocation after any failure.  The two races also run with a second
control worker (its own database engines and host cache) on the same queue,
as two control-plane processes would."""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from doubles import FailingSpawnDriver, restart_host_with
from helpers import boot, server, wait_status
from sqlmodel import func, select
from stack import StackThread
from temporalio.client import Client

from activities.hypervisor.libvirt_driver import LibvirtDriver
from activities.scheduler.activities import SchedulerActivities
from schema.db import Database
from schema.models import (
    Allocation,
    ComputeNode,
    Instance,
    InstanceAction,
    InstanceActionEvent,
    ServerGroup,
)
from workers.control import build_control_worker
from workers.sim_hosts import SimHost

# Eight hosts in zone "nova" with room for exactly five m1.small each (RAM
# ratio 1.0, nothing reserved): 40 slots.  Two more in "az-b", host-9 the
# biggest so the RAM weigher picks it first.
HOSTS = [SimHost(f"host-{i}", 16, 10240, 200, "nova") for i in range(1, 9)] + [
    SimHost("host-9", 16, 20480, 400, "az-b"),
    SimHost("host-10", 16, 10240, 200, "az-b"),
]


@pytest.fixture(scope="module")
def sched_stack(tmp_path_factory, stack):
    # Its own Temporal, database and hosts; the session's Keystone.
    st = StackThread(tmp_path_factory.mktemp("sched"), host_specs=HOSTS, keystone_of=stack,
                     initial_ram_allocation_ratio=1.0, reserved_host_memory_mb=0,
                     host_schedule_to_start_timeout=3.0, spawn_timeout=30.0)
    st.start()
    yield st
    st.stop()


@pytest.fixture(scope="module")
def api(sched_stack):
    with sched_stack.client("demo", timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def admin_api(sched_stack):
    with sched_stack.client("admin", timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def ids(api, sched_stack):
    with sched_stack.glance_client("demo") as glance:
        images = glance.get("/images", params={"name": "cirros"}).json()["images"]
    nets = api.get("/networking/v2.0/networks").json()["networks"]
    return {"image": images[0]["id"], "network": nets[0]["id"]}


# The two-worker race is the stronger one; PostgreSQL runs that one only.
@pytest.fixture(params=[pytest.param(1, marks=pytest.mark.db_agnostic), 2],
                ids=["one-control-worker", "two-control-workers"])
def control_workers(request, sched_stack):
    """1: the stack's control worker alone; 2: a second one beside it.

    Yields the extra worker's scheduler activities (None with one worker).
    """
    if request.param == 1:
        yield None
        return
    st = sched_stack
    db = Database(st.db.url)

    async def start():  # a Worker is built on the loop it runs on, with a client of its own
        own = st.stack.client
        client = await Client.connect(st.stack.server.address, namespace=own.namespace,
                                      data_converter=own.data_converter)
        worker = build_control_worker(client, db, st.stack.settings)
        return worker, asyncio.create_task(worker.run())

    worker, task = st.call(start())
    yield next(a.__self__ for a in worker._config["activities"]
               if isinstance(getattr(a, "__self__", None), SchedulerActivities))

    async def stop():
        await worker.shutdown()
        with contextlib.suppress(BaseException):
            await task

    st.call(stop())
    db.dispose()


def decided(extra: SchedulerActivities | None, reread: bool = True) -> None:
    """The second worker took part: its cache made decisions, and (`reread`)
    re-read hosts the other worker's claims changed.  Eleven boots may give it
    too few decisions to see any: its first loads everything, and its own
    claims need no re-read."""
    if extra is not None:
        stats = extra.host_cache.stats
        assert stats["decisions"] > 0, stats
        if reread:
            assert stats["hosts_reread"] > 0, stats


def host_of(admin_api, server_id: str) -> str:
    return server(admin_api, server_id)["OS-EXT-SRV-ATTR:host"]


def assert_no_leaks(st: StackThread) -> None:
    """Allocations are exactly the flavors of the live, placed servers."""
    with st.db.reader() as s:
        allocs = {a.consumer_id: a for a in s.exec(select(Allocation))}
        live = {i.uuid: i for i in s.exec(select(Instance).where(
            Instance.deleted == False, Instance.host != None))}  # noqa: E711,E712
        assert set(allocs) == set(live), "allocations and live servers differ"
        for uuid, inst in live.items():
            a = allocs[uuid]
            assert (a.vcpus, a.memory_mb, a.disk_gb) == (
                inst.flavor["vcpus"], inst.flavor["memory_mb"], inst.flavor["root_gb"])
        for node in s.exec(select(ComputeNode)):
            used = s.exec(select(func.coalesce(func.sum(Allocation.memory_mb), 0))
                          .where(Allocation.node_uuid == node.uuid)).one()
            assert used <= node.memory_mb * node.ram_allocation_ratio - \
                node.reserved_host_memory_mb, f"{node.host} overcommitted"


def events_of(st: StackThread, server_id: str) -> list[tuple[str, str | None, str | None]]:
    with st.db.reader() as s:
        rows = s.exec(select(InstanceActionEvent).join(
            InstanceAction, InstanceAction.id == InstanceActionEvent.action_id)
            .where(InstanceAction.instance_uuid == server_id)
            .order_by(InstanceActionEvent.id)).all()
        return [(e.event, e.result, e.host) for e in rows]


def delete_all(api, server_ids):
    for sid in server_ids:
        assert api.delete(f"/v2.1/servers/{sid}").status_code in (204, 404)
    from helpers import wait_gone
    for sid in server_ids:
        wait_gone(api, sid, timeout=120)


def test_parallel_anti_affinity_boots_land_on_distinct_hosts(sched_stack, control_workers, api,
                                                             admin_api, ids):
    with sched_stack.db.writer() as s:
        group = ServerGroup(name="spread", project_id=api.keystone.project_id,
                            user_id=api.keystone.user_id,
                            policy="anti-affinity")
        s.add(group)
    hint = {"group": group.uuid}

    def one(i):
        body = {"server": {"name": f"aa-{i}", "flavorRef": "1", "imageRef": ids["image"],
                           "networks": [{"uuid": ids["network"]}]},
                "os:scheduler_hints": hint}
        r = api.post("/v2.1/servers", json=body)
        assert r.status_code == 202, r.text
        return r.json()["server"]["id"]

    with ThreadPoolExecutor(10) as pool:
        server_ids = list(pool.map(one, range(10)))
    for sid in server_ids:
        assert wait_status(api, sid, {"ACTIVE", "ERROR"}, timeout=120)["status"] == "ACTIVE"
    hosts = {host_of(admin_api, sid) for sid in server_ids}
    assert len(hosts) == 10

    eleventh = one(10)
    s11 = wait_status(api, eleventh, {"ACTIVE", "ERROR"}, timeout=60)
    assert s11["status"] == "ERROR"
    assert "ServerGroupAntiAffinityFilter removed 10" in s11["fault"]["message"]
    assert_no_leaks(sched_stack)
    decided(control_workers, reread=False)
    delete_all(api, server_ids + [eleventh])


def test_failed_spawn_reschedules_excluding_the_failed_host(sched_stack, api, admin_api, ids):
    restart_host_with(sched_stack, "host-9", FailingSpawnDriver)
    try:
        sid = boot(api, ids, "resched", availability_zone="az-b")
        s = wait_status(api, sid, {"ACTIVE", "ERROR"}, timeout=60)
        assert s["status"] == "ACTIVE", s.get("fault")
        assert host_of(admin_api, sid) == "host-10"
        events = events_of(sched_stack, sid)
        assert ("spawn (attempt 1)", "Error", "host-9") in events
        assert ("spawn (attempt 2)", "Success", "host-10") in events
        assert_no_leaks(sched_stack)
        # The reschedule rebound the server's port: one port, on host-10.
        (port,) = admin_api.get("/networking/v2.0/ports",
                                params={"device_id": sid}).json()["ports"]
        assert port["binding:host_id"] == "host-10"

        # host-9 failed a build a moment ago: the BuildFailureWeigher sinks it
        # below host-10 although host-9 has more free RAM.
        sid2 = boot(api, ids, "after-failure", availability_zone="az-b")
        assert wait_status(api, sid2, {"ACTIVE", "ERROR"})["status"] == "ACTIVE"
        assert host_of(admin_api, sid2) == "host-10"
        delete_all(api, [sid, sid2])
    finally:
        restart_host_with(sched_stack, "host-9", LibvirtDriver)
        with sched_stack.db.writer() as s:
            node = s.exec(select(ComputeNode).where(ComputeNode.host == "host-9")).one()
            node.failed_builds = 0
            s.add(node)


def test_every_host_failing_ends_in_max_retries_exceeded(sched_stack, api, ids):
    restart_host_with(sched_stack, "host-9", FailingSpawnDriver)
    restart_host_with(sched_stack, "host-10", FailingSpawnDriver)
    try:
        sid = boot(api, ids, "doomed", availability_zone="az-b")
        s = wait_status(api, sid, {"ACTIVE", "ERROR"}, timeout=60)
        assert s["status"] == "ERROR"
        assert "Exceeded maximum number of retries" in s["fault"]["message"]
        assert "host-9" in s["fault"]["message"] and "host-10" in s["fault"]["message"]
        assert_no_leaks(sched_stack)
        delete_all(api, [sid])
    finally:
        for name in ("host-9", "host-10"):
            restart_host_with(sched_stack, name, LibvirtDriver)
        with sched_stack.db.writer() as s:
            for node in s.exec(select(ComputeNode)):
                node.failed_builds = 0
                s.add(node)


def test_stopped_host_worker_is_rescheduled_after_schedule_to_start_timeout(
        sched_stack, api, admin_api, ids):
    sched_stack.call(sched_stack.stack.stop_host("host-9"))
    try:
        sid = boot(api, ids, "dead-host", availability_zone="az-b")
        s = wait_status(api, sid, {"ACTIVE", "ERROR"}, timeout=60)
        assert s["status"] == "ACTIVE", s.get("fault")
        assert host_of(admin_api, sid) == "host-10"
        events = events_of(sched_stack, sid)
        assert ("spawn (attempt 1)", "Error", "host-9") in events
        assert_no_leaks(sched_stack)
        delete_all(api, [sid])
    finally:
        restart_host_with(sched_stack, "host-9", LibvirtDriver)


def test_sixty_parallel_boots_fill_exactly_forty_slots(sched_stack, control_workers, api, ids):
    def one(i):
        return boot(api, ids, f"fill-{i}", flavor="2", availability_zone="nova")

    with ThreadPoolExecutor(12) as pool:
        server_ids = list(pool.map(one, range(60)))
    statuses = {sid: wait_status(api, sid, {"ACTIVE", "ERROR"}, timeout=240)
                for sid in server_ids}
    active = [sid for sid, s in statuses.items() if s["status"] == "ACTIVE"]
    errors = [s for s in statuses.values() if s["status"] == "ERROR"]
    faults = sorted({s["fault"]["message"][:300] for s in errors})
    assert len(active) == 40, (faults, control_workers and control_workers.host_cache.stats)
    assert len(errors) == 20
    assert all("No valid host was found" in s["fault"]["message"] for s in errors)
    assert_no_leaks(sched_stack)
    decided(control_workers)
    delete_all(api, server_ids)
