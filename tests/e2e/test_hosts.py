"""Compute hosts as first-class citizens: registration without a manual step,
liveness from the host monitor's heartbeats, os-services (disable, force
down, delete) and os-hypervisors, and the power-state sync that notices
what happened to domains behind the control plane's back."""

from __future__ import annotations

import uuid

import pytest
from helpers import (
    ADMIN_2_53,
    boot,
    domain,
    extra_host,
    service_of,
    wait_gone,
    wait_status,
)
from sqlmodel import select
from stack import wait_for

from novaflow.states import PowerState
from schema.models import InstanceAction, InstanceActionEvent
from workflows.host_monitor import HostMonitorWorkflow


def hypervisor(admin, host: str, version: str = "2.53") -> dict | None:
    resp = admin.get("/v2.1/os-hypervisors/detail",
                     headers={"OpenStack-API-Version": f"compute {version}"})
    assert resp.status_code == 200, resp.text
    return next((h for h in resp.json()["hypervisors"] if h["hypervisor_hostname"] == host),
                None)


def set_service(admin, host: str, **body) -> dict:
    svc = service_of(admin, host)
    resp = admin.put(f"/v2.1/os-services/{svc['id']}", json=body, headers=ADMIN_2_53)
    assert resp.status_code == 200, resp.text
    return resp.json()["service"]


def monitor_status(stack, host: str):
    handle = stack.stack.client.get_workflow_handle(f"host-monitor-{host}")
    return stack.call(handle.query(HostMonitorWorkflow.status))


def test_members_may_not_see_or_touch_hosts(demo):
    for path in ("/v2.1/os-services", "/v2.1/os-hypervisors", "/v2.1/os-hypervisors/detail"):
        resp = demo.get(path)
        assert resp.status_code == 403, path
        assert resp.json()["forbidden"]["code"] == 403
    assert demo.put(f"/v2.1/os-services/{uuid.uuid4()}", headers=ADMIN_2_53,
                    json={"status": "disabled"}).status_code == 403


def test_a_new_host_appears_without_any_manual_step_and_can_be_removed(stack, admin):
    name = f"new-{uuid.uuid4().hex[:6]}"
    with extra_host(stack, admin, name, disabled=False, vcpus=6, memory_mb=12288):
        hv = hypervisor(admin, name)
        assert hv is not None
        assert (hv["state"], hv["status"]) == ("up", "enabled")
        assert (hv["vcpus"], hv["memory_mb"], hv["local_gb"]) == (6, 12288, 100)
        assert hv["vcpus_used"] == 0 and hv["running_vms"] == 0
        shown = admin.get(f"/v2.1/os-hypervisors/{hv['id']}", headers=ADMIN_2_53)
        assert shown.json()["hypervisor"]["hypervisor_hostname"] == name
        svc = service_of(admin, name)
        assert svc["state"] == "up" and svc["status"] == "enabled"
        assert svc["binary"] == "nova-compute" and svc["zone"] == "nova"
        uuid.UUID(svc["id"])  # 2.53: services are addressed by uuid
        # Its monitor keeps reporting.
        wait_for(lambda: monitor_status(stack, name).reports >= 2, 10,
                 what="the new host's monitor to report")

        stack.call(stack.stack.stop_host(name))
        assert admin.delete(f"/v2.1/os-services/{svc['id']}",
                            headers=ADMIN_2_53).status_code == 204
        assert service_of(admin, name) is None
        assert hypervisor(admin, name) is None
        assert admin.delete(f"/v2.1/os-services/{svc['id']}",
                            headers=ADMIN_2_53).status_code == 404


def test_hypervisor_usage_follows_allocations(stack, admin, catalog_ids):
    before = hypervisor(admin, "host-2", version="2.1")
    assert isinstance(before["id"], int) and isinstance(before["cpu_info"], str)
    server_id = boot(admin, catalog_ids, "vm-usage", flavor="1",
                     availability_zone="nova:host-2")
    wait_status(admin, server_id, {"ACTIVE"})
    during = hypervisor(admin, "host-2")
    assert during["vcpus_used"] == before["vcpus_used"] + 1
    assert during["memory_mb_used"] == before["memory_mb_used"] + 512
    assert during["running_vms"] == before["running_vms"] + 1
    listed = admin.get("/v2.1/os-hypervisors", params={"with_servers": "true"},
                       headers=ADMIN_2_53).json()["hypervisors"]
    entry = next(h for h in listed if h["hypervisor_hostname"] == "host-2")
    assert server_id in [s["uuid"] for s in entry["servers"]]
    assert admin.delete(f"/v2.1/servers/{server_id}").status_code == 204
    wait_gone(admin, server_id)
    after = hypervisor(admin, "host-2")
    assert after["memory_mb_used"] == before["memory_mb_used"]


def test_a_stopped_host_goes_down_and_new_boots_avoid_it(stack, admin, catalog_ids):
    """host-3 is the only host in az2: once its worker stops and its heartbeat
    ages past service_down_time, an az2 boot fails at once (no attempt on the
    dead host) and other boots go elsewhere."""
    st = stack.stack
    sim = st.running_hosts["host-3"].host
    sched = st.settings.scheduler
    down_time = sched.service_down_time
    # The window, short for the test, yet long enough that the live hosts'
    # one-second reports never miss it on a loaded machine.
    sched.service_down_time = 8
    stack.call(st.stop_host("host-3"))
    try:
        wait_for(lambda: service_of(admin, "host-3")["state"] == "down", 30,
                 what="host-3's service to be down")
        assert hypervisor(admin, "host-3")["state"] == "down"
        az2 = boot(admin, catalog_ids, "vm-az2-down", availability_zone="az2")
        s = wait_status(admin, az2, {"ERROR", "ACTIVE"}, timeout=15)
        assert s["status"] == "ERROR"
        assert "No valid host was found" in s["fault"]["message"]
        anywhere = boot(admin, catalog_ids, "vm-avoids-down")
        s = wait_status(admin, anywhere, {"ERROR", "ACTIVE"}, timeout=15)
        assert s["status"] == "ACTIVE" and s["OS-EXT-SRV-ATTR:host"] != "host-3"
        assert not spawn_attempts_on(stack, [az2, anywhere], "host-3")
    finally:
        stack.call(st.start_host(sim))
        wait_for(lambda: service_of(admin, "host-3")["state"] == "up", 15,
                 what="host-3 to be up again")
        sched.service_down_time = down_time
    for sid in (az2, anywhere):
        admin.delete(f"/v2.1/servers/{sid}")
        wait_gone(admin, sid)


def spawn_attempts_on(stack, server_ids: list[str], host: str) -> list[str]:
    with stack.db.reader() as s:
        rows = s.exec(select(InstanceActionEvent.event)
                      .join(InstanceAction, InstanceAction.id == InstanceActionEvent.action_id)
                      .where(InstanceAction.instance_uuid.in_(server_ids),
                             InstanceActionEvent.host == host,
                             InstanceActionEvent.event.startswith("spawn"))).all()
    return list(rows)


def test_disabling_a_service_steers_boots_away_at_once(stack, admin, catalog_ids):
    svc = set_service(admin, "host-3", status="disabled", disabled_reason="maintenance")
    assert (svc["status"], svc["disabled_reason"], svc["host"]) == (
        "disabled", "maintenance", "host-3")
    try:
        assert hypervisor(admin, "host-3")["status"] == "disabled"
        az2 = boot(admin, catalog_ids, "vm-az2-disabled", availability_zone="az2")
        s = wait_status(admin, az2, {"ERROR", "ACTIVE"}, timeout=15)
        assert s["status"] == "ERROR" and "No valid host" in s["fault"]["message"]
    finally:
        svc = set_service(admin, "host-3", status="enabled")
    assert svc["status"] == "enabled" and svc["disabled_reason"] is None
    back = boot(admin, catalog_ids, "vm-az2-enabled", availability_zone="az2")
    s = wait_status(admin, back, {"ERROR", "ACTIVE"}, timeout=20)
    assert s["status"] == "ACTIVE" and s["OS-EXT-SRV-ATTR:host"] == "host-3"
    for sid in (az2, back):
        admin.delete(f"/v2.1/servers/{sid}")
        wait_gone(admin, sid)


def test_forced_down_is_down_at_once(stack, admin):
    try:
        svc = set_service(admin, "host-2", forced_down=True)
        assert svc["forced_down"] is True and svc["state"] == "down"
        assert hypervisor(admin, "host-2")["state"] == "down"
    finally:
        svc = set_service(admin, "host-2", forced_down=False)
    assert svc["state"] == "up"


def test_deleting_a_service_that_hosts_servers_is_409(stack, admin, catalog_ids):
    server_id = boot(admin, catalog_ids, "vm-pins-host", availability_zone="nova:host-1")
    wait_status(admin, server_id, {"ACTIVE"})
    try:
        svc = service_of(admin, "host-1")
        resp = admin.delete(f"/v2.1/os-services/{svc['id']}", headers=ADMIN_2_53)
        assert resp.status_code == 409
        assert "hosting instances" in resp.json()["conflictingRequest"]["message"]
        assert service_of(admin, "host-1") is not None
    finally:
        admin.delete(f"/v2.1/servers/{server_id}")
        wait_gone(admin, server_id)


@pytest.mark.parametrize("body,why", [
    ({}, "No updates were requested"),
    ({"status": "off"}, "is not one of"),
    ({"status": "enabled", "disabled_reason": "x"}, "Specifying 'disabled_reason'"),
    ({"forced_down": "maybe"}, "boolean"),  # "yes" is one of Nova's boolean words
    ({"status": "disabled", "color": "red"}, "Additional properties"),
])
def test_service_update_validation(admin, body, why):
    svc = service_of(admin, "host-1")
    resp = admin.put(f"/v2.1/os-services/{svc['id']}", json=body, headers=ADMIN_2_53)
    assert resp.status_code == 400
    assert why in resp.json()["badRequest"]["message"]


def test_unknown_services_and_hypervisors(admin):
    assert admin.put("/v2.1/os-services/not-a-uuid", json={"status": "disabled"},
                     headers=ADMIN_2_53).status_code == 400
    assert admin.put(f"/v2.1/os-services/{uuid.uuid4()}", json={"status": "disabled"},
                     headers=ADMIN_2_53).status_code == 404
    assert admin.get(f"/v2.1/os-hypervisors/{uuid.uuid4()}",
                     headers=ADMIN_2_53).status_code == 404


def test_legacy_service_actions_before_2_53(admin):
    resp = admin.put("/v2.1/os-services/disable-log-reason",
                     json={"host": "host-2", "binary": "nova-compute",
                           "disabled_reason": "legacy"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["service"]["status"] == "disabled"
    listed = admin.get("/v2.1/os-services", params={"host": "host-2"}).json()["services"]
    assert isinstance(listed[0]["id"], int) and listed[0]["disabled_reason"] == "legacy"
    resp = admin.put("/v2.1/os-services/enable", json={"host": "host-2",
                                                        "binary": "nova-compute"})
    assert resp.json()["service"]["status"] == "enabled"


# -- power-state sync ----------------------------------------------------------------


@pytest.fixture
def active_on_host(stack, admin, catalog_ids):
    server_id = boot(admin, catalog_ids, "vm-sync", availability_zone="nova:host-1")
    wait_status(admin, server_id, {"ACTIVE"})
    yield server_id, stack.stack.running_hosts["host-1"].driver
    admin.delete(f"/v2.1/servers/{server_id}")
    wait_gone(admin, server_id)


def test_a_domain_stopped_behind_our_back_makes_the_server_shutoff(stack, admin,
                                                                   active_on_host):
    server_id, driver = active_on_host
    driver.conn.lookupByUUIDString(server_id).destroy()  # straight to libvirt
    s = wait_status(admin, server_id, {"SHUTOFF"}, timeout=10)
    assert s["OS-EXT-STS:power_state"] == PowerState.SHUTDOWN
    assert s["OS-EXT-STS:task_state"] is None
    # And the server starts again through the API.
    resp = admin.post(f"/v2.1/servers/{server_id}/action", json={"os-start": None})
    assert resp.status_code == 202
    wait_status(admin, server_id, {"ACTIVE"})
    assert domain(stack, "host-1", server_id).power_state == PowerState.RUNNING


def test_a_vanished_domain_puts_the_server_in_error(stack, admin, active_on_host):
    server_id, driver = active_on_host
    dom = driver.conn.lookupByUUIDString(server_id)
    dom.destroy()
    dom.undefine()
    s = wait_status(admin, server_id, {"ERROR"}, timeout=10)
    assert "vanished from host host-1" in s["fault"]["message"]


def test_an_unknown_domain_is_reported_and_reaped_when_asked(stack):
    driver = stack.stack.running_hosts["host-2"].driver
    stray = str(uuid.uuid4())
    dom = driver.conn.defineXML(
        f"<domain type='test'><name>stray-{stray[:8]}</name><uuid>{stray}</uuid>"
        "<memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>")
    dom.create()
    settings = stack.stack.settings
    try:
        wait_for(lambda: stray in monitor_status(stack, "host-2").unknown_domains, 10,
                 what="the unknown domain to be reported")
        assert domain(stack, "host-2", stray) is not None  # reported, not touched
        settings.reap_unknown_domains = True
        wait_for(lambda: domain(stack, "host-2", stray) is None, 10,
                 what="the unknown domain to be reaped")
    finally:
        settings.reap_unknown_domains = False


def test_the_monitor_continues_as_new_and_keeps_reporting(stack):
    """A second monitor of host-1 (harmless: reports are idempotent) that
    continues as new every two reports carries its count across runs."""
    from novaflow.queues import CONTROL_QUEUE
    from workflows.host_monitor import HostMonitorInput

    client = stack.stack.client
    wf_id = f"test-monitor-{uuid.uuid4().hex[:6]}"
    handle = stack.call(client.start_workflow(
        HostMonitorWorkflow.run, HostMonitorInput(hostname="host-1", report_interval_s=1,
                                                  iterations_per_run=2),
        id=wf_id, task_queue=CONTROL_QUEUE))
    first_run = handle.result_run_id
    try:
        latest = client.get_workflow_handle(wf_id)
        wait_for(lambda: stack.call(latest.query(HostMonitorWorkflow.status)).reports >= 5, 20,
                 what="five reports over several runs")
        assert stack.call(latest.describe()).run_id != first_run
    finally:
        stack.call(client.get_workflow_handle(wf_id).terminate(reason="test over"))
