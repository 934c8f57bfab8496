"""Resize end to end over HTTP against the real stack: VERIFY_RESIZE, confirm,
revert, the confirm window, same-host resizes, 409s, delete in VERIFY_RESIZE,
and a failure injected at each host step.

Failures are injected on hosts that exist only for this module (their own
availability zone, so where a resize goes is certain): each runs a real
LibvirtDriver whose chosen steps raise (``FaultyDriver``).  test_migrate.py
uses the same helpers.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import httpx
import identity
import pytest
from helpers import (
    ADMIN_2_53,
    allocations,
    boot,
    domain,
    port_hosts,
    server,
    service_of,
    wait_gone,
    wait_status,
)
from sqlmodel import select
from stack import StackThread, wait_for
from temporalio.client import WorkflowUpdateFailedError

from activities.hypervisor.driver import DriverError
from activities.hypervisor.libvirt_driver import LibvirtDriver
from activities.types.context import OpContext
from novaflow.states import PowerState
from schema.models import Instance, Migration
from workers import sim_hosts
from workflows.resize import ResizeDecision

EVENTS = {"OpenStack-API-Version": "compute 2.84"}  # events with host and details
LATEST = {"OpenStack-API-Version": "compute 2.80"}
TINY, SMALL = (1, 512, 1), (1, 2048, 20)  # m1.tiny, m1.small: vcpus, MB, GB

# Driver methods the fault injection can break.
STEPS = ("prep_resize", "migrate_disk_and_power_off", "finish_migration", "confirm_migration",
         "finish_revert_migration", "destroy", "check_can_live_migrate_destination",
         "check_can_live_migrate_source", "pre_live_migration", "live_migrate_to",
         "post_live_migration_at_destination", "post_live_migration")


class FaultyDriver(LibvirtDriver):
    """A real libvirt host whose steps named in ``fail`` raise, and whose steps
    named in ``hold`` wait until the test sets the event (to catch a move
    in progress)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fail: set[str] = set()
        self.hold: dict[str, threading.Event] = {}


def _step(name: str):
    def method(self: FaultyDriver, *args, **kwargs):
        if name in self.hold:
            self.hold[name].wait(30)
        if name in self.fail:
            raise DriverError(f"injected failure in {name}")
        return getattr(LibvirtDriver, name)(self, *args, **kwargs)
    method.__name__ = name
    return method


for _name in STEPS:
    setattr(FaultyDriver, _name, _step(_name))


@contextlib.contextmanager
def fault_hosts(stack: StackThread, admin: httpx.Client, zone: str,
                shapes: dict[str, tuple[int, int]]) -> Iterator[dict[str, FaultyDriver]]:
    """Hosts {name: (vcpus, memory_mb)} in their own zone, each over a
    FaultyDriver; at the end their servers are deleted, their workers
    stopped and their services removed, so the shared cloud is as before."""
    st = stack.stack
    drivers: dict[str, FaultyDriver] = {}
    try:
        for name, (vcpus, memory_mb) in shapes.items():
            host = sim_hosts.SimHost(name=name, vcpus=vcpus, memory_mb=memory_mb,
                                     local_gb=200, availability_zone=zone)
            (st.state_dir / "hosts" / f"{name}.xml").write_text(host.node_xml())
            drivers[name] = FaultyDriver(
                sim_hosts.libvirt_uri(st.state_dir, host), name, local_gb=host.local_gb,
                persist_path=sim_hosts.domains_file(st.state_dir, host),
                images_dir=str((st.state_dir / "instances").resolve()))
            stack.call(st.start_host(host, driver=drivers[name]))
        yield drivers
    finally:
        for drv in drivers.values():
            drv.fail.clear()
            for ev in drv.hold.values():
                ev.set()
        gone = []
        for name in drivers:
            listed = admin.get("/v2.1/servers", params={"all_tenants": 1, "host": name})
            for s in listed.json().get("servers", []):
                admin.delete(f"/v2.1/servers/{s['id']}")
                gone.append(s["id"])
        for server_id in gone:
            wait_gone(admin, server_id)
        for name in drivers:
            if name in st.running_hosts:
                stack.call(st.stop_host(name))
            svc = service_of(admin, name)
            if svc is not None:
                resp = admin.delete(f"/v2.1/os-services/{svc['id']}", headers=ADMIN_2_53)
                assert resp.status_code == 204, resp.text


# -- helpers ----------------------------------------------------------------------


def act(client: httpx.Client, server_id: str, body: dict, expect: int = 202,
        headers: dict | None = None) -> httpx.Response:
    resp = client.post(f"/v2.1/servers/{server_id}/action", json=body, headers=headers)
    assert resp.status_code == expect, resp.text
    return resp


def host_of(admin: httpx.Client, server_id: str) -> str:
    return server(admin, server_id)["OS-EXT-SRV-ATTR:host"]


def settled(client: httpx.Client, server_id: str, statuses: set[str],
            timeout: float = 60) -> dict:
    """The server once it is in one of ``statuses`` with no task in flight."""
    def check():
        s = server(client, server_id)
        return s if s["status"] in statuses and s["OS-EXT-STS:task_state"] is None else None
    return wait_for(check, timeout, what=f"server {server_id} to settle in {statuses}")


def migration(stack: StackThread, server_id: str) -> Migration:
    """The server's latest migration record."""
    with stack.db.reader() as s:
        return s.exec(select(Migration).where(Migration.instance_uuid == server_id)
                      .order_by(Migration.id.desc())).first()


def fault(stack: StackThread, server_id: str) -> dict | None:
    """The instance's fault (the API shows it only in ERROR, as Nova does)."""
    with stack.db.reader() as s:
        return s.exec(select(Instance).where(Instance.uuid == server_id)).first().fault


def events(admin: httpx.Client, server_id: str, request_id: str) -> list[dict]:
    resp = admin.get(f"/v2.1/servers/{server_id}/os-instance-actions/{request_id}",
                     headers=EVENTS)
    assert resp.status_code == 200, resp.text
    return resp.json()["instanceAction"]["events"]


def failed_events(admin: httpx.Client, server_id: str, request_id: str) -> list[tuple]:
    return [(e["event"], e["host"], e["details"]) for e in events(admin, server_id, request_id)
            if e["result"] == "Error"]


def all_allocations(stack: StackThread, server_id: str) -> dict[str, list]:
    """Every allocation the server holds, its own and its latest migration's."""
    mig = migration(stack, server_id)
    return {"instance": allocations(stack, server_id),
            "migration": allocations(stack, mig.uuid) if mig else []}


def resize(client: httpx.Client, server_id: str, flavor: str) -> str:
    """Start a resize; returns its request id."""
    resp = act(client, server_id, {"resize": {"flavorRef": flavor}})
    return resp.headers["x-openstack-request-id"]


def delete_all(admin: httpx.Client, *server_ids: str) -> None:
    for server_id in server_ids:
        admin.delete(f"/v2.1/servers/{server_id}")
    for server_id in server_ids:
        wait_gone(admin, server_id)


# -- resize, confirm, revert --------------------------------------------------------


def test_resize_then_confirm_runs_on_the_destination_with_the_new_flavor(
        stack, demo, admin, catalog_ids):
    sid = boot(demo, catalog_ids, "rs-confirm", flavor="1", availability_zone="nova")
    wait_status(demo, sid, {"ACTIVE"})
    source = host_of(admin, sid)
    req = resize(demo, sid, "2")

    s = settled(demo, sid, {"VERIFY_RESIZE", "ACTIVE", "ERROR"})
    assert s["status"] == "VERIFY_RESIZE", fault(stack, sid)
    assert s["OS-EXT-STS:vm_state"] == "resized"
    dest = host_of(admin, sid)
    assert dest != source  # the source is excluded by default
    assert {dest, source} == {"host-1", "host-2"}  # the zone's two hosts
    assert server(demo, sid)["flavor"]["id"] == "2"
    # Two allocations while it waits: the instance's on the destination and
    # the migration's (the old flavor) on the source.
    assert all_allocations(stack, sid) == {"instance": [(dest, *SMALL)],
                                           "migration": [(source, *TINY)]}
    new = domain(stack, dest, sid)
    assert (new.power_state, new.memory_mb) == (PowerState.RUNNING, 2048)
    assert domain(stack, source, sid).power_state == PowerState.SHUTDOWN  # kept for a revert
    mig = migration(stack, sid)
    assert (mig.status, mig.source_compute, mig.dest_compute) == ("finished", source, dest)
    assert port_hosts(admin, sid) == [dest]  # Neutron: the port went with the guest
    steps = [e["event"] for e in events(admin, sid, req)]
    for step in ("select_destinations", "claim_for_migration", "prep_resize",
                 "resize_instance", "finish_resize", "bind_ports"):
        assert step in steps

    resp = act(demo, sid, {"confirmResize": None}, expect=204)
    s = settled(demo, sid, {"ACTIVE", "ERROR"})
    assert s["status"] == "ACTIVE"
    assert host_of(admin, sid) == dest
    assert domain(stack, source, sid) is None  # the source is cleaned up
    assert domain(stack, dest, sid).power_state == PowerState.RUNNING
    assert all_allocations(stack, sid) == {"instance": [(dest, *SMALL)], "migration": []}
    assert migration(stack, sid).status == "confirmed"
    assert port_hosts(admin, sid) == [dest]
    confirm_steps = events(admin, sid, resp.headers["x-openstack-request-id"])
    assert [(e["event"], e["host"]) for e in confirm_steps] == [("confirm_resize", source)]
    # Nothing left to confirm.
    act(demo, sid, {"confirmResize": None}, expect=409)
    delete_all(demo, sid)


def test_revert_brings_the_server_back_on_its_source_with_the_old_flavor(
        stack, demo, admin, catalog_ids):
    sid = boot(demo, catalog_ids, "rs-revert", flavor="1", availability_zone="nova")
    wait_status(demo, sid, {"ACTIVE"})
    source = host_of(admin, sid)
    resize(demo, sid, "2")
    assert settled(demo, sid, {"VERIFY_RESIZE", "ACTIVE", "ERROR"})["status"] == "VERIFY_RESIZE"
    dest = host_of(admin, sid)
    assert port_hosts(admin, sid) == [dest]
    # Neutron's events for a server no operation waits on are taken (200) and
    # dropped, as a Nova compute drops them: the waiting resize gets no signal.
    events_sent = admin.post("/v2.1/os-server-external-events", json={"events": [
        {"name": name, "server_uuid": sid, "tag": "p-1"}
        for name in ("network-changed", "network-vif-unplugged")]})
    assert events_sent.status_code == 200, events_sent.text
    history = stack.call(stack.stack.client.get_workflow_handle(
        migration(stack, sid).workflow_id).fetch_history())
    assert not [e for e in history.events
                if e.workflow_execution_signaled_event_attributes.signal_name]

    act(demo, sid, {"revertResize": None}, expect=202)
    s = settled(demo, sid, {"ACTIVE", "ERROR"})
    assert s["status"] == "ACTIVE"
    assert host_of(admin, sid) == source
    assert port_hosts(admin, sid) == [source]  # bound back with the guest
    assert s["flavor"]["id"] == "1"
    back = domain(stack, source, sid)
    assert (back.power_state, back.memory_mb) == (PowerState.RUNNING, 512)
    assert domain(stack, dest, sid) is None  # the destination is clean
    assert all_allocations(stack, sid) == {"instance": [(source, *TINY)], "migration": []}
    assert migration(stack, sid).status == "reverted"
    act(demo, sid, {"revertResize": None}, expect=409)
    delete_all(demo, sid)


def test_resize_confirm_window_confirms_by_itself(stack, demo, admin, catalog_ids):
    settings = stack.stack.settings
    sid = boot(demo, catalog_ids, "rs-window", flavor="1", availability_zone="nova")
    wait_status(demo, sid, {"ACTIVE"})
    source = host_of(admin, sid)
    settings.resize_confirm_window = 2
    try:
        resize(demo, sid, "2")
    finally:
        settings.resize_confirm_window = 0
    assert settled(demo, sid, {"VERIFY_RESIZE", "ACTIVE", "ERROR"}, 30)["status"] in (
        "VERIFY_RESIZE", "ACTIVE")
    # Nobody confirms: the workflow's timer does.
    s = settled(demo, sid, {"ACTIVE", "ERROR"}, 30)
    assert s["status"] == "ACTIVE" and s["flavor"]["id"] == "2"
    dest = host_of(admin, sid)
    assert dest != source and domain(stack, source, sid) is None
    assert all_allocations(stack, sid) == {"instance": [(dest, *SMALL)], "migration": []}
    assert migration(stack, sid).status == "confirmed"
    actions = admin.get(f"/v2.1/servers/{sid}/os-instance-actions").json()["instanceActions"]
    auto = [a for a in actions if a["action"] == "confirmResize"]
    assert len(auto) == 1 and auto[0]["message"] == "resize_confirm_window elapsed"
    delete_all(demo, sid)


def test_a_stopped_server_resizes_and_stays_stopped(stack, demo, admin, catalog_ids):
    sid = boot(demo, catalog_ids, "rs-stopped", flavor="1", availability_zone="nova")
    wait_status(demo, sid, {"ACTIVE"})
    source = host_of(admin, sid)
    act(demo, sid, {"os-stop": None})
    settled(demo, sid, {"SHUTOFF"})
    resize(demo, sid, "2")
    s = settled(demo, sid, {"VERIFY_RESIZE", "ACTIVE", "ERROR"})
    assert s["status"] == "VERIFY_RESIZE"
    assert s["OS-EXT-STS:power_state"] == PowerState.SHUTDOWN
    dest = host_of(admin, sid)
    new = domain(stack, dest, sid)  # defined with the new flavor, not started
    assert (new.power_state, new.memory_mb) == (PowerState.SHUTDOWN, 2048)
    act(demo, sid, {"confirmResize": None}, expect=204)
    s = settled(demo, sid, {"SHUTOFF", "ACTIVE", "ERROR"})
    assert s["status"] == "SHUTOFF" and s["flavor"]["id"] == "2"
    assert domain(stack, source, sid) is None
    assert all_allocations(stack, sid) == {"instance": [(dest, *SMALL)], "migration": []}
    delete_all(demo, sid)


def test_same_host_resize_only_when_allowed(stack, demo, admin, catalog_ids):
    # az2 has one host: a resize there can only stay on it.
    settings = stack.stack.settings
    sid = boot(demo, catalog_ids, "rs-same", flavor="1", availability_zone="az2")
    wait_status(demo, sid, {"ACTIVE"})
    host = host_of(admin, sid)

    resize(demo, sid, "2")  # not allowed (Nova's default): no valid host
    wait_for(lambda: migration(stack, sid).status == "error", 30, what="migration error")
    s = settled(demo, sid, {"ACTIVE", "ERROR"})
    assert s["status"] == "ACTIVE" and s["flavor"]["id"] == "1"
    assert "No valid host was found" in fault(stack, sid)["message"]
    assert all_allocations(stack, sid) == {"instance": [(host, *TINY)], "migration": []}
    assert domain(stack, host, sid).power_state == PowerState.RUNNING

    settings.allow_resize_to_same_host = True
    try:
        resize(demo, sid, "2")
        assert settled(demo, sid, {"VERIFY_RESIZE", "ACTIVE", "ERROR"})["status"] == \
            "VERIFY_RESIZE"
        assert host_of(admin, sid) == host
        assert domain(stack, host, sid).memory_mb == 2048
        # Both allocations sit on the one host until the decision.
        assert all_allocations(stack, sid) == {"instance": [(host, *SMALL)],
                                               "migration": [(host, *TINY)]}
        act(demo, sid, {"revertResize": None})
        s = settled(demo, sid, {"ACTIVE", "ERROR"})
        assert s["status"] == "ACTIVE" and s["flavor"]["id"] == "1"
        dom = domain(stack, host, sid)
        assert (dom.power_state, dom.memory_mb) == (PowerState.RUNNING, 512)
        assert all_allocations(stack, sid) == {"instance": [(host, *TINY)], "migration": []}

        resize(demo, sid, "2")
        assert settled(demo, sid, {"VERIFY_RESIZE", "ACTIVE", "ERROR"})["status"] == \
            "VERIFY_RESIZE"
        act(demo, sid, {"confirmResize": None}, expect=204)
        s = settled(demo, sid, {"ACTIVE", "ERROR"})
        assert s["status"] == "ACTIVE" and host_of(admin, sid) == host
        dom = domain(stack, host, sid)  # confirming on the same host keeps the domain
        assert (dom.power_state, dom.memory_mb) == (PowerState.RUNNING, 2048)
        assert all_allocations(stack, sid) == {"instance": [(host, *SMALL)], "migration": []}
    finally:
        settings.allow_resize_to_same_host = False
    delete_all(demo, sid)


def test_resize_requests_nova_refuses(stack, demo, admin, catalog_ids):
    sid = boot(demo, catalog_ids, "rs-bad", flavor="1", availability_zone="nova")
    wait_status(demo, sid, {"ACTIVE"})
    url = f"/v2.1/servers/{sid}/action"
    cases = [
        ({"resize": {}}, "'flavorRef' is a required property"),
        ({"resize": {"flavorRef": "1"}}, "Resize requires a flavor change."),
        ({"resize": {"flavorRef": "no-such"}}, "Unable to locate requested flavor."),
        ({"resize": {"flavorRef": "2", "bogus": 1}}, "Additional properties"),
        ({"resize": "2"}, "is not of type 'object'"),
    ]
    for body, message in cases:
        resp = demo.post(url, json=body)
        assert resp.status_code == 400, (body, resp.text)
        assert message in resp.json()["badRequest"]["message"]
    resp = demo.post(url, json={"confirmResize": None})
    assert resp.status_code == 409
    assert resp.json()["conflictingRequest"]["message"] == (
        f"Cannot 'confirmResize' instance {sid} while it is in vm_state active")
    assert demo.post(url, json={"revertResize": None}).status_code == 409
    assert migration(stack, sid) is None  # nothing was started
    delete_all(demo, sid)


def test_resize_down_the_root_disk_fails_on_the_source_and_rolls_back(
        stack, demo, admin, catalog_ids):
    sid = boot(demo, catalog_ids, "rs-down", flavor="2", availability_zone="nova")
    wait_status(demo, sid, {"ACTIVE"})
    source = host_of(admin, sid)
    req = resize(demo, sid, "1")  # 20 GB -> 1 GB: libvirt cannot shrink a disk
    wait_for(lambda: migration(stack, sid).status == "error", 30, what="migration error")
    s = settled(demo, sid, {"ACTIVE", "ERROR"})
    assert s["status"] == "ACTIVE" and s["flavor"]["id"] == "2"
    assert host_of(admin, sid) == source
    assert domain(stack, source, sid).power_state == PowerState.RUNNING
    dest = migration(stack, sid).dest_compute
    assert domain(stack, dest, sid) is None
    assert all_allocations(stack, sid) == {"instance": [(source, *SMALL)], "migration": []}
    message = fault(stack, sid)["message"]
    assert f"resize_instance on {source} failed" in message
    assert "Unable to resize disk down." in message
    assert failed_events(admin, sid, req)[0][:2] == ("resize_instance", source)
    delete_all(demo, sid)


def test_delete_in_verify_resize_cleans_both_hosts(stack, demo, admin, catalog_ids):
    sid = boot(demo, catalog_ids, "rs-delete", flavor="1", availability_zone="nova")
    wait_status(demo, sid, {"ACTIVE"})
    source = host_of(admin, sid)
    resize(demo, sid, "2")
    assert settled(demo, sid, {"VERIFY_RESIZE", "ACTIVE", "ERROR"})["status"] == "VERIFY_RESIZE"
    dest = host_of(admin, sid)
    mig = migration(stack, sid)
    assert domain(stack, source, sid) is not None and domain(stack, dest, sid) is not None

    assert demo.delete(f"/v2.1/servers/{sid}").status_code == 204
    wait_gone(demo, sid)
    assert domain(stack, source, sid) is None
    assert domain(stack, dest, sid) is None
    assert allocations(stack, sid) == [] and allocations(stack, mig.uuid) == []
    assert migration(stack, sid).status == "confirmed"  # as Nova: deleting confirms
    desc = stack.call(stack.stack.client.get_workflow_handle(mig.workflow_id).describe())
    assert desc.status.name != "RUNNING"


# -- injected failures ---------------------------------------------------------------


@pytest.fixture(scope="module")
def rz(stack, admin) -> Iterator[dict[str, FaultyDriver]]:
    """rz-a (sources), rz-b (the preferred destination: larger), rz-c, in zone rz."""
    with fault_hosts(stack, admin, "rz", {"rz-a": (16, 32768), "rz-b": (32, 65536),
                                          "rz-c": (16, 32768)}) as drivers:
        yield drivers


def boot_on(admin: httpx.Client, ids: dict, name: str, host: str, zone: str) -> str:
    sid = boot(admin, ids, name, flavor="1", availability_zone=f"{zone}:{host}")
    wait_status(admin, sid, {"ACTIVE"})
    return sid


def test_a_failed_prep_resize_reschedules_to_the_next_host(stack, admin, catalog_ids, rz):
    sid = boot_on(admin, catalog_ids, "rz-resched", "rz-a", "rz")
    rz["rz-b"].fail = {"prep_resize"}
    try:
        req = resize(admin, sid, "2")
        assert settled(admin, sid, {"VERIFY_RESIZE", "ACTIVE", "ERROR"})["status"] == \
            "VERIFY_RESIZE"
    finally:
        rz["rz-b"].fail = set()
    assert host_of(admin, sid) == "rz-c"  # rz-b was tried first and failed
    failed = failed_events(admin, sid, req)
    assert [(e, h) for e, h, _ in failed] == [("prep_resize (attempt 1)", "rz-b")]
    assert "injected failure in prep_resize" in failed[0][2]
    assert domain(stack, "rz-b", sid) is None
    assert all_allocations(stack, sid) == {"instance": [("rz-c", *SMALL)],
                                           "migration": [("rz-a", *TINY)]}
    act(admin, sid, {"confirmResize": None}, expect=204)
    settled(admin, sid, {"ACTIVE"})
    delete_all(admin, sid)


MOVE_FAILURES = [
    # (driver step, the host it breaks, the workflow step the fault names)
    ("prep_resize", ("rz-b", "rz-c"), "prep_resize"),
    ("migrate_disk_and_power_off", ("rz-a",), "resize_instance"),
    ("finish_migration", ("rz-b",), "finish_resize"),
]


@pytest.mark.parametrize("driver_step,broken,step", MOVE_FAILURES,
                         ids=[m[0] for m in MOVE_FAILURES])
def test_a_failed_move_step_leaves_the_server_running_on_its_source(
        stack, admin, catalog_ids, rz, driver_step, broken, step):
    sid = boot_on(admin, catalog_ids, f"rz-{step}", "rz-a", "rz")
    for host in broken:
        rz[host].fail = {driver_step}
    try:
        req = resize(admin, sid, "2")
        wait_for(lambda: migration(stack, sid).status == "error", 30, what="migration error")
        s = settled(admin, sid, {"ACTIVE", "ERROR"})
    finally:
        for host in broken:
            rz[host].fail = set()
    assert s["status"] == "ACTIVE" and s["flavor"]["id"] == "1"
    assert host_of(admin, sid) == "rz-a"
    back = domain(stack, "rz-a", sid)
    assert (back.power_state, back.memory_mb) == (PowerState.RUNNING, 512)
    assert domain(stack, "rz-b", sid) is None and domain(stack, "rz-c", sid) is None
    assert all_allocations(stack, sid) == {"instance": [("rz-a", *TINY)], "migration": []}
    mig = migration(stack, sid)
    assert f"injected failure in {driver_step}" in mig.error
    message = fault(stack, sid)["message"]
    assert f"{step} on {broken[0]} failed" in message
    failed = failed_events(admin, sid, req)
    assert failed[0][0].startswith(step) and failed[0][1] == broken[0]
    delete_all(admin, sid)


DECISION_FAILURES = [
    # (decision, driver step, the host it breaks, the workflow step)
    ("confirmResize", "confirm_migration", "rz-a", "confirm_resize"),
    ("revertResize", "destroy", "rz-b", "revert_resize"),
    ("revertResize", "finish_revert_migration", "rz-a", "finish_revert_resize"),
]


@pytest.mark.parametrize("decision,driver_step,broken,step", DECISION_FAILURES,
                         ids=[f"{d[0]}-{d[1]}" for d in DECISION_FAILURES])
def test_a_failed_confirm_or_revert_leaves_the_server_in_verify_resize(
        stack, admin, catalog_ids, rz, decision, driver_step, broken, step):
    sid = boot_on(admin, catalog_ids, f"rz-{step}", "rz-a", "rz")
    resize(admin, sid, "2")
    assert settled(admin, sid, {"VERIFY_RESIZE", "ACTIVE", "ERROR"})["status"] == "VERIFY_RESIZE"
    assert host_of(admin, sid) == "rz-b"
    rz[broken].fail = {driver_step}
    try:
        resp = act(admin, sid, {decision: None}, expect=204 if decision == "confirmResize"
                   else 202)
        req = resp.headers["x-openstack-request-id"]
        wait_for(lambda: failed_events(admin, sid, req), 30, what="the failed step's event")
        s = settled(admin, sid, {"VERIFY_RESIZE", "ACTIVE", "ERROR"})
    finally:
        rz[broken].fail = set()
    # Where it was: resized, running on the destination, both allocations held.
    assert s["status"] == "VERIFY_RESIZE" and host_of(admin, sid) == "rz-b"
    assert domain(stack, "rz-b", sid).power_state == PowerState.RUNNING
    assert all_allocations(stack, sid) == {"instance": [("rz-b", *SMALL)],
                                           "migration": [("rz-a", *TINY)]}
    assert migration(stack, sid).status == "finished"
    assert f"{step} on {broken} failed" in fault(stack, sid)["message"]
    assert failed_events(admin, sid, req)[0][:2] == (step, broken)

    # The user may try again, and now it works.
    act(admin, sid, {decision: None}, expect=204 if decision == "confirmResize" else 202)
    s = settled(admin, sid, {"ACTIVE", "ERROR"})
    assert s["status"] == "ACTIVE"
    if decision == "confirmResize":
        assert host_of(admin, sid) == "rz-b" and domain(stack, "rz-a", sid) is None
        assert all_allocations(stack, sid) == {"instance": [("rz-b", *SMALL)], "migration": []}
    else:
        assert host_of(admin, sid) == "rz-a" and domain(stack, "rz-b", sid) is None
        assert domain(stack, "rz-a", sid).power_state == PowerState.RUNNING
        assert all_allocations(stack, sid) == {"instance": [("rz-a", *TINY)], "migration": []}
    delete_all(admin, sid)


def test_one_operation_at_a_time(stack, admin, catalog_ids, rz):
    sid = boot_on(admin, catalog_ids, "rz-busy", "rz-a", "rz")
    url = f"/v2.1/servers/{sid}/action"
    gate = threading.Event()
    rz["rz-b"].hold = {"finish_migration": gate}  # the move waits in finish_resize
    try:
        resize(admin, sid, "2")
        wait_for(lambda: server(admin, sid)["OS-EXT-STS:task_state"] == "resize_migrated",
                 30, what="the resize to reach finish_resize")
        assert server(admin, sid)["status"] == "RESIZE"
        for body in ({"resize": {"flavorRef": "3"}}, {"migrate": None},
                     {"os-migrateLive": {"host": None, "block_migration": "auto"}},
                     {"confirmResize": None}):
            resp = admin.post(url, json=body, headers={"OpenStack-API-Version": "compute 2.30"})
            assert resp.status_code == 409, (body, resp.text)
            assert "resize_migrated" in resp.json()["conflictingRequest"]["message"] or \
                "vm_state active" in resp.json()["conflictingRequest"]["message"]
        # An Update sent straight to the workflow while it moves is refused by
        # its validator, so it never enters the history.
        wf_id = migration(stack, sid).workflow_id
        handle = stack.stack.client.get_workflow_handle(wf_id)
        decision = ResizeDecision(ctx=OpContext(server_id=sid, project_id="admin",
                                                user_id="admin"))
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            stack.call(handle.execute_update("confirmResize", decision))
        assert (f"Cannot 'confirmResize' instance {sid} while it is in task_state "
                "resize_migrated") in str(refused.value.cause)
    finally:
        gate.set()
        rz["rz-b"].hold = {}

    assert settled(admin, sid, {"VERIFY_RESIZE", "ACTIVE", "ERROR"})["status"] == "VERIFY_RESIZE"
    resp = admin.post(url, json={"resize": {"flavorRef": "3"}})
    assert resp.status_code == 409
    assert "vm_state resized" in resp.json()["conflictingRequest"]["message"]
    act(admin, sid, {"confirmResize": None}, expect=204)
    # Racing the confirm: the server no longer waits for a decision.
    assert admin.post(url, json={"revertResize": None}).status_code == 409
    settled(admin, sid, {"ACTIVE"})
    history = stack.call(handle.fetch_history())
    accepted = [e for e in history.events
                if e.HasField("workflow_execution_update_accepted_event_attributes")]
    assert len(accepted) == 1  # the confirm; the refused Updates left no trace
    delete_all(admin, sid)


def test_a_resize_cancelled_by_hand_is_rolled_back(stack, admin, catalog_ids, rz):
    # An operator cancelling the workflow (Temporal UI) is not a delete: the
    # server goes back to its source rather than losing its domains.
    sid = boot_on(admin, catalog_ids, "rz-cancel", "rz-a", "rz")
    gate = threading.Event()
    rz["rz-b"].hold = {"finish_migration": gate}
    try:
        resize(admin, sid, "2")
        wait_for(lambda: server(admin, sid)["OS-EXT-STS:task_state"] == "resize_migrated",
                 30, what="the resize to reach finish_resize")
        handle = stack.stack.client.get_workflow_handle(migration(stack, sid).workflow_id)
        stack.call(handle.cancel())
    finally:
        gate.set()
        rz["rz-b"].hold = {}
    wait_for(lambda: migration(stack, sid).status == "error", 30, what="migration error")
    s = settled(admin, sid, {"ACTIVE", "ERROR"})
    assert s["status"] == "ACTIVE" and s["flavor"]["id"] == "1"
    assert host_of(admin, sid) == "rz-a"
    assert domain(stack, "rz-a", sid).power_state == PowerState.RUNNING
    assert domain(stack, "rz-b", sid) is None
    assert all_allocations(stack, sid) == {"instance": [("rz-a", *TINY)], "migration": []}
    assert "was cancelled" in migration(stack, sid).error
    delete_all(admin, sid)


def test_delete_during_the_move_cleans_both_hosts(stack, admin, catalog_ids, rz):
    sid = boot_on(admin, catalog_ids, "rz-delete-moving", "rz-a", "rz")
    gate = threading.Event()
    rz["rz-b"].hold = {"finish_migration": gate}
    try:
        resize(admin, sid, "2")
        wait_for(lambda: server(admin, sid)["OS-EXT-STS:task_state"] == "resize_migrated",
                 30, what="the resize to reach finish_resize")
        mig = migration(stack, sid)
        assert admin.delete(f"/v2.1/servers/{sid}").status_code == 204
    finally:
        gate.set()  # finish_resize completes on rz-b; the delete must still win
        rz["rz-b"].hold = {}
    wait_gone(admin, sid)
    assert domain(stack, "rz-a", sid) is None and domain(stack, "rz-b", sid) is None
    assert allocations(stack, sid) == [] and allocations(stack, mig.uuid) == []
    assert migration(stack, sid).status == "error"
    assert "deleted during the migration" in migration(stack, sid).error


def test_resize_past_the_project_quota_is_refused_and_changes_nothing(stack, admin, catalog_ids):
    login = stack.ensure_user("qr", "quota-resize")
    with identity.client(stack.api_url, stack.auth_url, login) as member:
        project = member.keystone.project_id
        resp = admin.put(f"/v2.1/os-quota-sets/{project}",
                         json={"quota_set": {"instances": 5, "cores": 1, "ram": 51200}})
        assert resp.status_code == 200, resp.text
        sid = boot(member, catalog_ids, "quota-bound", flavor="1")  # 1 vCPU: at the limit
        wait_status(member, sid, {"ACTIVE"})
        resp = member.post(f"/v2.1/servers/{sid}/action", json={"resize": {"flavorRef": "3"}})
        assert resp.status_code == 403
        assert "Quota exceeded for cores" in resp.json()["forbidden"]["message"]
        after = server(member, sid)
        assert after["status"] == "ACTIVE" and after["OS-EXT-STS:task_state"] is None
        assert member.delete(f"/v2.1/servers/{sid}").status_code == 204


def test_a_server_booted_without_a_zone_may_resize_into_another_zone(stack, demo, admin,
                                                                    catalog_ids):
    # host-3 (the biggest) is alone in az2: an unpinned server there must be
    # able to move out, as in Nova; a server pinned to a zone stays in it.
    sid = boot(admin, catalog_ids, "unpinned", availability_zone="az2:host-3")
    wait_status(admin, sid, {"ACTIVE"})
    with stack.db.writer() as s:  # forced hosts pin nothing; make that explicit
        from schema.models import Instance
        inst = s.exec(select(Instance).where(Instance.uuid == sid)).one()
        inst.pinned_availability_zone = None
        s.add(inst)
    assert server(admin, sid, "2.96")["pinned_availability_zone"] is None
    resp = admin.post(f"/v2.1/servers/{sid}/action", json={"resize": {"flavorRef": "2"}})
    assert resp.status_code == 202, resp.text
    moved = wait_status(admin, sid, {"VERIFY_RESIZE", "ACTIVE", "ERROR"}, timeout=90)
    assert moved["status"] == "VERIFY_RESIZE", moved.get("fault")
    dest = moved["OS-EXT-SRV-ATTR:host"]
    assert dest != "host-3"
    with stack.db.reader() as s:
        from schema.models import ComputeNode
        dest_zone = s.exec(select(ComputeNode).where(ComputeNode.host == dest)).one()
    assert moved["OS-EXT-AZ:availability_zone"] == dest_zone.availability_zone != "az2"
    assert admin.delete(f"/v2.1/servers/{sid}").status_code == 204
    wait_gone(admin, sid)
