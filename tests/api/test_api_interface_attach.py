"""Interface attach / detach on a running server (os-interface), end to end:
a new port on a network and the user's own port, the server's addresses and
the domain following, Nova's refusals, a host that refuses the hot-plug
(no port left bound or made) and the delete keeping the user's port (the
CLI: test_api_attach_cli.py)."""

from __future__ import annotations

import libvirt
from api_support import assert_nova_error, boot, delete_all, mv, wait_status
from doubles import restart_host_with
from stack import wait_for

from activities.hypervisor.faults import FaultInjectingDriver

PORTS = "/networking/v2.0/ports"


def _port(client, catalog_ids) -> dict:
    resp = client.post(PORTS, json={"port": {"network_id": catalog_ids["network"]}})
    assert resp.status_code == 201, resp.text
    return resp.json()["port"]


def _show_port(client, port_id: str) -> dict | None:
    resp = client.get(f"{PORTS}/{port_id}")
    return resp.json()["port"] if resp.status_code == 200 else None


def _attach(client, sid: str, version: str = "2.70", **body):
    return client.post(f"/v2.1/servers/{sid}/os-interface", headers=mv(version),
                       json={"interfaceAttachment": body})


def _macs(stack, admin, sid: str) -> str:
    host = admin.get(f"/v2.1/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"]
    dom = stack.stack.running_hosts[host].driver.conn.lookupByUUIDString(sid)
    return dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)


def _addresses(client, sid: str) -> list[str]:
    addrs = client.get(f"/v2.1/servers/{sid}").json()["server"]["addresses"]
    return sorted(a["addr"] for net in addrs.values() for a in net)


def _idle(client, sid: str) -> bool:
    return client.get(f"/v2.1/servers/{sid}").json()["server"][
        "OS-EXT-STS:task_state"] is None


def _interfaces(client, sid: str) -> list[str]:
    got = client.get(f"/v2.1/servers/{sid}/os-interface").json()["interfaceAttachments"]
    return sorted(i["port_id"] for i in got)


def test_attach_and_detach_interfaces(stack, demo, admin, other, catalog_ids):
    sid = boot(demo, catalog_ids, "ia-happy")
    own = _port(demo, catalog_ids)
    try:
        wait_status(demo, sid, {"ACTIVE"})
        [boot_port] = _interfaces(demo, sid)

        # A new port on the network, with the address asked for.
        resp = _attach(demo, sid, net_id=catalog_ids["network"],
                       fixed_ips=[{"ip_address": "10.0.3.200"}], tag="extra")
        assert resp.status_code == 200, resp.text
        made = resp.json()["interfaceAttachment"]
        assert made["fixed_ips"][0]["ip_address"] == "10.0.3.200"
        assert (made["net_id"], made["port_state"], made["tag"]) == (
            catalog_ids["network"], "ACTIVE", "extra")
        # The user's own port.
        resp = _attach(demo, sid, port_id=own["id"])
        assert resp.status_code == 200, resp.text
        assert resp.json()["interfaceAttachment"]["mac_addr"] == own["mac_address"]

        assert _interfaces(demo, sid) == sorted([boot_port, made["port_id"], own["id"]])
        assert "10.0.3.200" in _addresses(demo, sid) and own["fixed_ips"][0][
            "ip_address"] in _addresses(demo, sid)
        xml = _macs(stack, admin, sid)
        assert made["mac_addr"] in xml and own["mac_address"] in xml
        shown = demo.get(f"/v2.1/servers/{sid}/os-interface/{made['port_id']}",
                         headers=mv("2.70")).json()["interfaceAttachment"]
        assert shown["tag"] == "extra" and shown["port_id"] == made["port_id"]

        # Nova's refusals.
        assert_nova_error(_attach(demo, sid, port_id=own["id"]), 409, "conflictingRequest",
                          "is still in use")
        assert_nova_error(_attach(demo, sid, port_id=own["id"], net_id=catalog_ids["network"]),
                          400, "badRequest", "Must not input both network_id and port_id")
        assert_nova_error(_attach(demo, sid, net_id=catalog_ids["network"],
                                  fixed_ips=[{"ip_address": "10.0.3.200"}]), 409,
                          "conflictingRequest", "already in use")
        assert_nova_error(_attach(demo, sid, port_id="6f0b7c3e-0000-4000-8000-000000000000"),
                          404, "itemNotFound")
        assert_nova_error(_attach(other, sid, net_id=catalog_ids["network"]), 404,
                          "itemNotFound")
        assert_nova_error(demo.get(f"/v2.1/servers/{sid}/os-interface/{own['id']}x"), 404,
                          "itemNotFound", "does not have a port")

        # Detach: the port novaflow made goes, the user's is only unbound.
        for port_id in (made["port_id"], own["id"]):
            assert demo.delete(f"/v2.1/servers/{sid}/os-interface/{port_id}"
                               ).status_code == 202
            wait_for(lambda p=port_id: p not in _interfaces(demo, sid) and _idle(demo, sid),
                     30, what=f"port {port_id} to be detached")
        assert _show_port(demo, made["port_id"]) is None
        assert _show_port(demo, own["id"])["device_id"] == ""
        assert _interfaces(demo, sid) == [boot_port]
        assert "10.0.3.200" not in _addresses(demo, sid)
        xml = _macs(stack, admin, sid)
        assert made["mac_addr"] not in xml and own["mac_address"] not in xml
        actions = {a["action"] for a in demo.get(
            f"/v2.1/servers/{sid}/os-instance-actions").json()["instanceActions"]}
        assert {"attach_interface", "detach_interface"} <= actions
        assert wait_status(demo, sid, {"ACTIVE"})["OS-EXT-STS:task_state"] is None
    finally:
        delete_all(demo, [sid])
        demo.delete(f"{PORTS}/{own['id']}")


def test_a_refused_hotplug_leaves_no_port(stack, demo, admin, catalog_ids):
    sid = boot(demo, catalog_ids, "ia-refused")
    own = _port(demo, catalog_ids)
    host = None
    try:
        shown = wait_status(demo, sid, {"ACTIVE"})
        host = admin.get(f"/v2.1/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"]
        restart_host_with(stack, host, FaultInjectingDriver, faults={"attach_interface"})
        before = _interfaces(demo, sid)
        assert_nova_error(_attach(demo, sid, net_id=catalog_ids["network"]), 500,
                          "computeFault", "Failed to attach network adapter device")
        assert_nova_error(_attach(demo, sid, port_id=own["id"]), 500, "computeFault")
        assert _interfaces(demo, sid) == before
        assert _show_port(demo, own["id"])["device_id"] == ""
        ports = demo.get(PORTS, params={"device_id": sid}).json()["ports"]
        assert sorted(p["id"] for p in ports) == before  # no port made and left
        shown = wait_status(demo, sid, {"ACTIVE"})
        assert shown["OS-EXT-STS:task_state"] is None
        assert len(_addresses(demo, sid)) == 1
    finally:
        if host is not None:
            restart_host_with(stack, host)
        delete_all(demo, [sid])
        demo.delete(f"{PORTS}/{own['id']}")


def test_delete_keeps_the_users_port(stack, demo, catalog_ids):
    sid = boot(demo, catalog_ids, "ia-delete")
    own = _port(demo, catalog_ids)
    try:
        wait_status(demo, sid, {"ACTIVE"})
        assert _attach(demo, sid, port_id=own["id"]).status_code == 200
        made = _attach(demo, sid, net_id=catalog_ids["network"]).json()["interfaceAttachment"]
    finally:
        delete_all(demo, [sid])
    assert _show_port(demo, own["id"])["device_id"] == ""
    assert _show_port(demo, made["port_id"]) is None
    demo.delete(f"{PORTS}/{own['id']}")
