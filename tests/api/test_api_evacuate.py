"""evacuate through the API and the openstack CLI: only from a host whose
service is down or forced down; rebuilt elsewhere with its ports, a
migration of type ``evacuation``, the source's allocation released and its
leftover domain destroyed by the pending host clean-up, its ports bound to
the new host (Neutron's ``binding:host_id``); a target host that fails
leaves the server in ERROR on its source, ports bound there, nothing
leaked."""

from __future__ import annotations

import contextlib
import threading

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
from schema.models import Allocation, ComputeNode, PendingHostCleanup

V253 = mv("2.53")


def _service(admin, host) -> dict:
    return admin.get("/v2.1/os-services", params={"host": host},
                     headers=V253).json()["services"][0]


@contextlib.contextmanager
def forced_down(admin, host):
    svc = _service(admin, host)
    resp = admin.put(f"/v2.1/os-services/{svc['id']}", json={"forced_down": True},
                     headers=V253)
    assert resp.status_code == 200, resp.text
    try:
        yield
    finally:
        admin.put(f"/v2.1/os-services/{svc['id']}", json={"forced_down": False},
                  headers=V253)


def _allocation_hosts(stack, consumer) -> list[str]:
    with stack.db.reader() as s:
        return sorted(s.exec(select(ComputeNode.host).join(
            Allocation, Allocation.node_uuid == ComputeNode.uuid).where(
            Allocation.consumer_id == consumer)).all())


def _domains(stack, host) -> set[str]:
    return {d.server_id for d in stack.stack.running_hosts[host].driver.list_domains()}


def _addresses(client, sid) -> list[str]:
    return sorted(a["addr"] for addrs in server(client, sid)["addresses"].values()
                  for a in addrs)


def test_evacuate_with_the_cli_and_the_leftover_domain_destroyed(osc, stack, demo, admin,
                                                                 catalog_ids):
    sid = boot(demo, catalog_ids, "evacuee")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        source = server(admin, sid)["OS-EXT-SRV-ATTR:host"]
        addresses = _addresses(demo, sid)
        # While its host is up, Nova refuses.
        resp = admin.post(f"/v2.1/servers/{sid}/action", json={"evacuate": {}},
                          headers=mv("2.68"))
        assert_nova_error(resp, 400, "badRequest",
                          f"Compute service of {source} is still in use.")
        with forced_down(admin, source):
            osc("server", "evacuate", sid, cloud="novaflow-admin")
            # The CLI asks for the latest microversion: from 2.95 the evacuated
            # server is left stopped.
            shown = wait_status(admin, sid, {"ACTIVE", "SHUTOFF", "ERROR"})
            assert shown["status"] in ("ACTIVE", "SHUTOFF"), shown.get("fault")
            target = server(admin, sid)["OS-EXT-SRV-ATTR:host"]
            assert target != source and sid in _domains(stack, target)
            assert _addresses(demo, sid) == addresses  # its ports kept
            assert cli_port_hosts(osc, admin, sid) == [target]  # and bound to the new host
            assert _allocation_hosts(stack, sid) == [target]
            migs = admin.get("/v2.1/os-migrations", params={"instance_uuid": sid},
                             headers=mv("2.59")).json()["migrations"]
            assert [(m["migration_type"], m["status"], m["source_compute"],
                     m["dest_compute"]) for m in migs] == [
                ("evacuation", "done", source, target)]
            assert _allocation_hosts(stack, migs[0]["uuid"]) == []
        # The source reports again: its leftover domain goes (pending host clean-up).
        wait_for(lambda: sid not in _domains(stack, source), 30,
                 what=f"the leftover domain on {source} to be destroyed")
        with stack.db.reader() as s:
            assert not s.exec(select(PendingHostCleanup).where(
                PendingHostCleanup.instance_uuid == sid)).all()
        acts = admin.get(f"/v2.1/servers/{sid}/os-instance-actions").json()["instanceActions"]
        assert acts[0]["action"] == "evacuate"
    finally:
        delete_all(demo, [sid])


def test_evacuate_to_a_failing_host_leaves_the_server_in_error_on_its_source(
        stack, demo, admin, catalog_ids, monkeypatch):
    sid = boot(demo, catalog_ids, "evacuee-2")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        source = server(admin, sid)["OS-EXT-SRV-ATTR:host"]
        target = sorted(h for h in stack.stack.running_hosts if h != source)[0]

        def refuse(inp):
            raise DriverError("injected fault: spawn refused")
        monkeypatch.setattr(stack.stack.running_hosts[target].driver, "spawn", refuse)
        with forced_down(admin, source):
            assert_nova_error(admin.post(f"/v2.1/servers/{sid}/action",
                                         json={"evacuate": {"host": source}},
                                         headers=mv("2.29")), 400, "badRequest",
                              "The target host can't be the same one.")
            resp = admin.post(f"/v2.1/servers/{sid}/action",
                              json={"evacuate": {"host": target}}, headers=mv("2.29"))
            assert resp.status_code == 200 and not resp.content, resp.text
            shown = wait_status(admin, sid, {"ACTIVE", "ERROR"})
            assert shown["status"] == "ERROR"
            assert "MaxRetriesExceeded" in str(shown["fault"]) or \
                "spawn refused" in str(shown["fault"]), shown["fault"]
            assert shown["OS-EXT-SRV-ATTR:host"] == source
            assert _allocation_hosts(stack, sid) == [source]  # back where it was
            assert port_hosts(admin, sid) == [source]  # its port too
            assert sid not in _domains(stack, target)
            migs = admin.get("/v2.1/os-migrations", params={"instance_uuid": sid},
                             headers=mv("2.59")).json()["migrations"]
            assert [(m["migration_type"], m["status"]) for m in migs] == [
                ("evacuation", "error")]
            assert _allocation_hosts(stack, migs[0]["uuid"]) == []
    finally:
        delete_all(demo, [sid])


def test_delete_during_an_evacuation_leaves_nothing(stack, demo, admin, catalog_ids,
                                                    monkeypatch):
    sid = boot(demo, catalog_ids, "evacuee-deleted")
    wait_status(demo, sid, {"ACTIVE"})
    source = server(admin, sid)["OS-EXT-SRV-ATTR:host"]
    started, release = threading.Event(), threading.Event()
    for name, running in stack.stack.running_hosts.items():
        if name == source:
            continue
        real = running.driver.spawn

        def slow(inp, real=real):
            started.set()
            release.wait(20)
            return real(inp)
        monkeypatch.setattr(running.driver, "spawn", slow)
    with forced_down(admin, source):
        try:
            resp = admin.post(f"/v2.1/servers/{sid}/action", json={"evacuate": {}},
                              headers=mv("2.68"))
            assert resp.status_code == 200, resp.text
            wait_for(started.is_set, 20, what="the evacuation's spawn to begin")
            migration = admin.get("/v2.1/os-migrations", params={"instance_uuid": sid},
                                  headers=mv("2.59")).json()["migrations"][0]["uuid"]
            assert demo.delete(f"/v2.1/servers/{sid}").status_code == 204
        finally:
            release.set()
        wait_gone(demo, sid)
    assert _allocation_hosts(stack, sid) == [] and _allocation_hosts(stack, migration) == []
    wait_for(lambda: all(sid not in _domains(stack, h) for h in stack.stack.running_hosts),
             30, what="no domain of the deleted server on any host")
