"""Power actions end to end: os-stop/os-start, reboot SOFT/HARD, pause/unpause,
suspend/resume, each checked against libvirt's own view of the domain, and
Nova's 409s for actions the server's state does not allow."""

from __future__ import annotations

import pytest
from helpers import boot, domain, server, wait_gone, wait_status
from sqlmodel import select
from stack import wait_for

from novaflow.states import PowerState
from schema.models import InstanceAction


def act(client, server_id: str, body: dict):
    return client.post(f"/v2.1/servers/{server_id}/action", json=body)


@pytest.fixture
def active_server(stack, demo, admin, catalog_ids):
    server_id = boot(demo, catalog_ids, "vm-power")
    s = wait_status(demo, server_id, {"ACTIVE", "ERROR"})
    assert s["status"] == "ACTIVE", s.get("fault")
    host = server(admin, server_id)["OS-EXT-SRV-ATTR:host"]
    yield server_id, host
    demo.delete(f"/v2.1/servers/{server_id}")
    wait_gone(demo, server_id)


def libvirt_state(stack, host: str, server_id: str) -> int | None:
    dom = domain(stack, host, server_id)
    return dom.power_state if dom else None


def test_stop_and_start(stack, demo, active_server):
    server_id, host = active_server
    assert act(demo, server_id, {"os-stop": None}).status_code == 202
    s = wait_status(demo, server_id, {"SHUTOFF"})
    assert s["OS-EXT-STS:power_state"] == PowerState.SHUTDOWN
    assert s["OS-EXT-STS:task_state"] is None
    assert libvirt_state(stack, host, server_id) == PowerState.SHUTDOWN

    resp = act(demo, server_id, {"os-stop": None})
    assert resp.status_code == 409
    assert resp.json()["conflictingRequest"]["message"] == (
        f"Cannot 'stop' instance {server_id} while it is in vm_state stopped")
    for body in ({"pause": None}, {"suspend": None}, {"reboot": {"type": "SOFT"}}):
        assert act(demo, server_id, body).status_code == 409, body

    assert act(demo, server_id, {"os-start": None}).status_code == 202
    s = wait_status(demo, server_id, {"ACTIVE"})
    assert s["OS-EXT-STS:power_state"] == PowerState.RUNNING
    assert libvirt_state(stack, host, server_id) == PowerState.RUNNING
    resp = act(demo, server_id, {"os-start": None})
    assert resp.status_code == 409
    assert "while it is in vm_state active" in resp.json()["conflictingRequest"]["message"]

    # Each action is recorded with the workflow that ran it.
    with stack.db.reader() as s:
        actions = s.exec(select(InstanceAction).where(
            InstanceAction.instance_uuid == server_id)).all()
    by_name = {a.action: a for a in actions}
    assert by_name["stop"].workflow_id.startswith(f"stop-{server_id}-")
    assert by_name["start"].finish_time is not None


def test_reboot_soft_and_hard(stack, demo, active_server):
    server_id, host = active_server
    assert act(demo, server_id, {"reboot": {"type": "SOFT"}}).status_code == 202
    s = wait_status(demo, server_id, {"ACTIVE"}, timeout=30)
    wait_for(lambda: server(demo, server_id)["OS-EXT-STS:task_state"] is None, 30,
             what="soft reboot to finish")
    assert libvirt_state(stack, host, server_id) == PowerState.RUNNING

    # A hard reboot also brings a stopped server back.
    assert act(demo, server_id, {"os-stop": None}).status_code == 202
    wait_status(demo, server_id, {"SHUTOFF"})
    resp = act(demo, server_id, {"reboot": {"type": "SOFT"}})
    assert resp.status_code == 409
    assert act(demo, server_id, {"reboot": {"type": "hard"}}).status_code == 202
    s = wait_status(demo, server_id, {"ACTIVE"})
    assert s["OS-EXT-STS:power_state"] == PowerState.RUNNING
    assert libvirt_state(stack, host, server_id) == PowerState.RUNNING


@pytest.mark.parametrize("body", [{"reboot": {}}, {"reboot": {"type": "WARM"}},
                                  {"reboot": "HARD"}, {"reboot": {"type": "SOFT", "x": 1}}])
def test_reboot_needs_a_valid_type(demo, active_server, body):
    server_id, _ = active_server
    resp = act(demo, server_id, body)
    assert resp.status_code == 400
    assert resp.json()["badRequest"]["code"] == 400


def test_pause_and_unpause(stack, demo, active_server):
    server_id, host = active_server
    resp = act(demo, server_id, {"unpause": None})
    assert resp.status_code == 409
    assert assert_state_conflict(resp, "unpause", server_id, "active")
    assert act(demo, server_id, {"pause": None}).status_code == 202
    s = wait_status(demo, server_id, {"PAUSED"})
    assert s["OS-EXT-STS:power_state"] == PowerState.PAUSED
    assert libvirt_state(stack, host, server_id) == PowerState.PAUSED
    for body in ({"pause": None}, {"os-stop": None}, {"suspend": None}, {"resume": None}):
        assert act(demo, server_id, body).status_code == 409, body
    assert act(demo, server_id, {"unpause": None}).status_code == 202
    s = wait_status(demo, server_id, {"ACTIVE"})
    assert s["OS-EXT-STS:power_state"] == PowerState.RUNNING
    assert libvirt_state(stack, host, server_id) == PowerState.RUNNING


def test_suspend_and_resume(stack, demo, active_server):
    server_id, host = active_server
    assert act(demo, server_id, {"resume": None}).status_code == 409
    assert act(demo, server_id, {"suspend": None}).status_code == 202
    s = wait_status(demo, server_id, {"SUSPENDED"})
    # libvirt's managed save leaves the domain shut off with its memory on disk,
    # which Nova reports as power state SHUTDOWN.
    assert s["OS-EXT-STS:power_state"] == PowerState.SHUTDOWN
    driver = stack.stack.running_hosts[host].driver
    assert driver.conn.lookupByUUIDString(server_id).hasManagedSaveImage(0)
    for body in ({"suspend": None}, {"pause": None}, {"os-start": None}):
        assert act(demo, server_id, body).status_code == 409, body
    assert act(demo, server_id, {"resume": None}).status_code == 202
    s = wait_status(demo, server_id, {"ACTIVE"})
    assert s["OS-EXT-STS:power_state"] == PowerState.RUNNING
    assert libvirt_state(stack, host, server_id) == PowerState.RUNNING
    assert not driver.conn.lookupByUUIDString(server_id).hasManagedSaveImage(0)


def test_one_action_at_a_time_and_a_dead_host_leaves_the_state(stack, demo, active_server):
    """While the host's worker is stopped the stop waits for it (task_state
    powering-off: everything else is 409); when the host never picks it up the
    server stays ACTIVE with no task, and the action says why."""
    server_id, host = active_server
    st = stack.stack
    sim = st.running_hosts[host].host
    stack.call(st.stop_host(host))
    try:
        assert act(demo, server_id, {"os-stop": None}).status_code == 202
        s = server(demo, server_id)
        assert s["OS-EXT-STS:task_state"] == "powering-off"
        for body in ({"os-stop": None}, {"reboot": {"type": "HARD"}}, {"pause": None}):
            resp = act(demo, server_id, body)
            assert resp.status_code == 409, body
            assert "while it is in task_state powering-off" in (
                resp.json()["conflictingRequest"]["message"])
        wait_for(lambda: server(demo, server_id)["OS-EXT-STS:task_state"] is None, 30,
                 what="the stop to give up on the stopped host")
        assert server(demo, server_id)["status"] == "ACTIVE"
        with stack.db.reader() as s:
            stop = s.exec(select(InstanceAction).where(
                InstanceAction.instance_uuid == server_id,
                InstanceAction.action == "stop")).first()
        assert stop.finish_time is not None and "stop failed" in stop.message
    finally:
        stack.call(st.start_host(sim))
    assert libvirt_state(stack, host, server_id) == PowerState.RUNNING


def test_power_actions_on_another_projects_server_are_404(demo, other, active_server):
    server_id, _ = active_server
    assert act(other, server_id, {"os-stop": None}).status_code == 404


def assert_state_conflict(resp, action: str, server_id: str, vm_state: str) -> bool:
    return resp.json()["conflictingRequest"]["message"] == (
        f"Cannot '{action}' instance {server_id} while it is in vm_state {vm_state}")
