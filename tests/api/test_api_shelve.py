"""shelve, shelveOffload and unshelve through the API and the openstack CLI:
offload at once (``shelved_offload_time`` 0), by the durable timer, or by
the admin; unshelve back on the same host or scheduled anew (2.91 host);
the table's 409s; a snapshot that fails; delete in shelved states.  The
ports stay the server's throughout, unbound from any host while it is
offloaded (Neutron's ``binding:host_id``) and bound to its new host by the
unshelve."""

from __future__ import annotations

import threading

import pytest
from api_support import (
    assert_nova_error,
    boot,
    cli_port_hosts,
    delete_all,
    mv,
    port_hosts,
    server,
    wait_gone,
    wait_status,
)
from sqlmodel import select
from stack import wait_for

from activities.hypervisor.driver import DriverError
from schema.models import Allocation

_GLANCE: dict = {}


@pytest.fixture(autouse=True)
def _glance_users(glance):
    """Images are Glance's: read them there as the tests' users."""
    _GLANCE["of"] = glance


def _glance(user: str):
    return _GLANCE["of"](user)



def _action(client, sid, name, body=None, version="2.1"):
    return client.post(f"/v2.1/servers/{sid}/action", json={name: body}, headers=mv(version))


def _allocations(stack, sid) -> list:
    with stack.db.reader() as s:
        return list(s.exec(select(Allocation).where(Allocation.consumer_id == sid)))


def _domains(stack, host) -> set[str]:
    return {d.server_id for d in stack.stack.running_hosts[host].driver.list_domains()}


def _events(client, sid) -> tuple[str, list[tuple[str, str]], dict]:
    acts = client.get(f"/v2.1/servers/{sid}/os-instance-actions").json()["instanceActions"]
    detail = client.get(f"/v2.1/servers/{sid}/os-instance-actions/{acts[0]['request_id']}",
                        headers=mv("2.51")).json()["instanceAction"]
    return acts[0]["action"], [(e["event"], e["result"]) for e in detail["events"]], detail


@pytest.fixture
def offload_time(stack):
    settings = stack.stack.settings
    before = settings.shelved_offload_time
    yield lambda value: setattr(settings, "shelved_offload_time", value)
    settings.shelved_offload_time = before


def test_shelve_offload_and_unshelve_with_the_cli(osc, stack, demo, admin, catalog_ids,
                                                   offload_time):
    offload_time(0)
    sid = boot(demo, catalog_ids, "cli-shelve")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        host = server(admin, sid)["OS-EXT-SRV-ATTR:host"]
        osc("server", "shelve", sid)
        shelved = wait_status(demo, sid, {"SHELVED_OFFLOADED", "ERROR"})
        assert shelved["status"] == "SHELVED_OFFLOADED", shelved.get("fault")
        shown = server(admin, sid)
        assert shown["OS-EXT-SRV-ATTR:host"] is None
        assert _allocations(stack, sid) == [] and sid not in _domains(stack, host)
        images = [i for i in _glance("demo").get("/images").json()["images"]
                  if i.get("instance_uuid") == sid]
        assert [(i["name"], i["image_type"], i["status"]) for i in images] == [
            ("cli-shelve-shelved", "snapshot", "active")]
        action, events, _ = _events(demo, sid)
        assert action == "shelve"
        assert ("compute_shelve_instance", "Success") in events
        assert ("compute_shelve_offload_instance", "Success") in events
        assert ("unbind_ports", "Success") in events
        assert cli_port_hosts(osc, admin, sid) == [""]  # the server's, on no host

        osc("server", "unshelve", sid)
        # Until the unshelve ends it shows SHELVED_OFFLOADED with a task state.
        back = wait_for(lambda: (b := server(demo, sid, "2.1"))["OS-EXT-STS:task_state"] is None
                        and b, 60, what="the unshelve to end")
        assert back["status"] == "ACTIVE", back.get("fault")
        now = server(admin, sid)["OS-EXT-SRV-ATTR:host"]
        assert now and sid in _domains(stack, now)
        assert len(_allocations(stack, sid)) == 1
        assert port_hosts(admin, sid) == [now]
        assert _glance("demo").get(f"/images/{images[0]['id']}").status_code == 404
        assert _events(demo, sid)[1][-1] == ("compute_unshelve_instance", "Success")
    finally:
        delete_all(demo, [sid])


def test_shelved_server_keeps_its_host_until_the_offload(stack, demo, admin, catalog_ids,
                                                        offload_time):
    offload_time(-1)  # never by itself
    sid = boot(demo, catalog_ids, "keep-host")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        host = server(admin, sid)["OS-EXT-SRV-ATTR:host"]
        assert _action(demo, sid, "shelve").status_code == 202
        wait_status(demo, sid, {"SHELVED"})
        assert server(admin, sid)["OS-EXT-SRV-ATTR:host"] == host
        assert len(_allocations(stack, sid)) == 1
        assert port_hosts(admin, sid) == [host]  # shelved, not offloaded: still bound
        # 2.77: a zone only for an offloaded server (Nova's 409).
        resp = _action(demo, sid, "unshelve", {"availability_zone": "nova"}, "2.77")
        assert_nova_error(resp, 409, "conflictingRequest", "SHELVED_OFFLOADED")
        # Unshelved where it is: powered on again.
        assert _action(demo, sid, "unshelve").status_code == 202
        wait_status(demo, sid, {"ACTIVE"})
        assert server(admin, sid)["OS-EXT-SRV-ATTR:host"] == host
        # shelve again, with a durable timer this time, then the admin offloads first.
        offload_time(1)
        assert _action(demo, sid, "shelve").status_code == 202
        wait_for(lambda: server(demo, sid)["status"] in ("SHELVED_OFFLOADED",), 30,
                 what="the offload timer")
        assert _allocations(stack, sid) == []
        assert port_hosts(admin, sid) == [""]
        # 2.91: unshelve to a host the admin names.
        others = sorted(h for h in stack.stack.running_hosts if h != host)
        resp = _action(admin, sid, "unshelve", {"host": others[0]}, "2.91")
        assert resp.status_code == 202, resp.text
        wait_status(demo, sid, {"ACTIVE"})
        assert server(admin, sid)["OS-EXT-SRV-ATTR:host"] == others[0]
        assert port_hosts(admin, sid) == [others[0]]
        assert sid not in _domains(stack, host)
        # shelveOffload by the admin, then delete from SHELVED_OFFLOADED.
        offload_time(-1)
        assert _action(demo, sid, "shelve").status_code == 202
        wait_status(demo, sid, {"SHELVED"})
        resp = _action(demo, sid, "shelveOffload")
        assert_nova_error(resp, 403, "forbidden")
        assert _action(admin, sid, "shelveOffload").status_code == 202
        wait_status(demo, sid, {"SHELVED_OFFLOADED"})
        assert port_hosts(admin, sid) == [""]
        image_id = next(i["id"] for i in _glance("demo").get("/images").json()["images"]
                        if i.get("instance_uuid") == sid)
    finally:
        delete_all(demo, [sid])
    assert _glance("demo").get(f"/images/{image_id}").status_code == 404
    assert _allocations(stack, sid) == []


def test_unshelve_of_an_active_server_is_the_tables_409(demo, catalog_ids):
    sid = boot(demo, catalog_ids, "not-shelved")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        assert_nova_error(_action(demo, sid, "unshelve"), 409, "conflictingRequest",
                          f"Cannot 'unshelve' instance {sid} while it is in vm_state active")
        assert_nova_error(_action(demo, sid, "shelveOffload"), 403, "forbidden")
    finally:
        delete_all(demo, [sid])


def test_failed_shelve_snapshot_deletes_the_image(stack, demo, admin, catalog_ids,
                                                  monkeypatch, offload_time):
    offload_time(0)
    sid = boot(demo, catalog_ids, "shelve-fails")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        host = server(admin, sid)["OS-EXT-SRV-ATTR:host"]
        driver = stack.stack.running_hosts[host].driver

        def refuse(server_id, image_id):
            raise DriverError("injected fault: snapshot refused")
        monkeypatch.setattr(driver, "snapshot", refuse)
        assert _action(demo, sid, "shelve").status_code == 202
        wait_for(lambda: _events(demo, sid)[0] == "shelve" and
                 server(demo, sid)["OS-EXT-STS:task_state"] is None, 30,
                 what="the shelve to end")
        shown = server(admin, sid)
        assert shown["status"] == "ACTIVE"  # Nova: vm_state as it was
        assert shown["OS-EXT-SRV-ATTR:host"] == host and len(_allocations(stack, sid)) == 1
        assert not [i for i in _glance("demo").get("/images").json()["images"]
                    if i.get("instance_uuid") == sid]
        _, events, detail = _events(demo, sid)
        assert ("compute_shelve_snapshot", "Error") in events
        assert "snapshot refused" in (detail.get("message") or str(detail))
    finally:
        delete_all(demo, [sid])


def test_delete_during_the_shelve_leaves_nothing(stack, demo, admin, catalog_ids,
                                                 monkeypatch, offload_time):
    offload_time(0)
    sid = boot(demo, catalog_ids, "shelve-deleted")
    wait_status(demo, sid, {"ACTIVE"})
    host = server(admin, sid)["OS-EXT-SRV-ATTR:host"]
    driver = stack.stack.running_hosts[host].driver
    started, release = threading.Event(), threading.Event()
    real = driver.snapshot

    def slow(server_id, image_id):
        started.set()
        release.wait(20)
        return real(server_id, image_id)
    monkeypatch.setattr(driver, "snapshot", slow)
    try:
        assert _action(demo, sid, "shelve").status_code == 202
        wait_for(started.is_set, 20, what="the shelve's snapshot to begin")
        assert demo.delete(f"/v2.1/servers/{sid}").status_code == 204
        wait_for(lambda: admin.get(f"/v2.1/servers/{sid}").json()["server"]
                 .get("OS-EXT-STS:task_state") == "deleting", 10, what="the delete to start")
    finally:
        release.set()
    wait_gone(demo, sid)
    assert not [i for i in _glance("admin").get("/images").json()["images"]
                if i.get("instance_uuid") == sid]
    assert _allocations(stack, sid) == [] and sid not in _domains(stack, host)


def test_unshelve_whose_hosts_all_fail_stays_offloaded(stack, demo, admin, catalog_ids,
                                                       monkeypatch, offload_time):
    offload_time(0)
    sid = boot(demo, catalog_ids, "unshelve-fails")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        assert _action(demo, sid, "shelve").status_code == 202
        wait_status(demo, sid, {"SHELVED_OFFLOADED"})

        def refuse(inp):
            raise DriverError("injected fault: spawn refused")
        for running in stack.stack.running_hosts.values():
            monkeypatch.setattr(running.driver, "spawn", refuse)
        assert _action(demo, sid, "unshelve").status_code == 202
        wait_for(lambda: server(demo, sid)["OS-EXT-STS:task_state"] is None
                 and _events(demo, sid)[0] == "unshelve", 30, what="the unshelve to end")
        shown = server(admin, sid)
        assert shown["status"] == "SHELVED_OFFLOADED" and shown["OS-EXT-SRV-ATTR:host"] is None
        assert _allocations(stack, sid) == []
        assert port_hosts(admin, sid) == [""]  # bound to each host tried, then unbound
        assert all(sid not in _domains(stack, h) for h in stack.stack.running_hosts)
        _, events, detail = _events(demo, sid)
        assert ("compute_unshelve_instance", "Error") in events
        # The snapshot stays for the next unshelve.
        assert [i["status"] for i in _glance("demo").get("/images").json()["images"]
                if i.get("instance_uuid") == sid] == ["active"]
    finally:
        delete_all(demo, [sid])
