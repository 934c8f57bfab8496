"""rescue / unrescue end to end on the test driver: the rescue domain boots
the rescue disk first with the server's disk second, the server shows
RESCUE and refuses what Nova refuses there, unrescue brings the original
domain back (the CLI: test_api_attach_cli.py); a host that refuses the
rescue leaves the server in ERROR."""

from __future__ import annotations

import libvirt
from api_support import assert_nova_error, boot, delete_all, mv, wait_status
from doubles import restart_host_with

from activities.hypervisor.faults import FaultInjectingDriver


def _xml(stack, admin, sid: str) -> str:
    host = admin.get(f"/v2.1/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"]
    dom = stack.stack.running_hosts[host].driver.conn.lookupByUUIDString(sid)
    assert dom.isActive()
    return dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)


def _target(xml: str, source_suffix: str) -> str:
    at = xml.index(source_suffix)
    return xml[xml.index("<target dev='", at) + 13:][:3]


def _action(client, sid: str, body: dict):
    return client.post(f"/v2.1/servers/{sid}/action", json=body)


def test_rescue_and_unrescue(stack, demo, admin, catalog_ids):
    sid = boot(demo, catalog_ids, "rescue-me")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        assert_nova_error(_action(demo, sid, {"unrescue": None}), 409, "conflictingRequest",
                          f"Cannot 'unrescue' instance {sid} while it is in vm_state active")
        assert_nova_error(_action(demo, sid, {"rescue": {"rescue_image_ref": "nope"}}), 400,
                          "badRequest", "Image nope could not be found")
        assert_nova_error(_action(demo, sid, {"rescue": {"bogus": 1}}), 400, "badRequest")

        resp = _action(demo, sid, {"rescue": {"adminPass": "rescue-pw"}})
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"adminPass": "rescue-pw"}
        shown = wait_status(demo, sid, {"RESCUE", "ERROR"})
        assert shown["status"] == "RESCUE", shown.get("fault")
        assert shown["OS-EXT-STS:vm_state"] == "rescued"
        xml = _xml(stack, admin, sid)
        assert _target(xml, "disk.rescue'") == "vda" and _target(xml, f"{sid}/disk'") == "vdb"
        assert_nova_error(_action(demo, sid, {"rescue": None}), 409, "conflictingRequest",
                          "while it is in vm_state rescued")
        assert_nova_error(_action(demo, sid, {"reboot": {"type": "SOFT"}}), 409,
                          "conflictingRequest")
        events = demo.get(f"/v2.1/servers/{sid}/os-instance-actions/"
                          f"{resp.headers['x-openstack-request-id']}",
                          headers=mv("2.51")).json()["instanceAction"]["events"]
        assert [(e["event"], e["result"]) for e in events] == [
            ("compute_rescue_instance", "Success")]

        assert _action(demo, sid, {"unrescue": None}).status_code == 202
        assert wait_status(demo, sid, {"ACTIVE", "ERROR"})["status"] == "ACTIVE"
        xml = _xml(stack, admin, sid)
        assert "disk.rescue" not in xml and _target(xml, f"{sid}/disk'") == "vda"
    finally:
        delete_all(demo, [sid])


def test_a_refused_rescue_leaves_error(stack, demo, admin, catalog_ids):
    """Nova's compute puts a server whose rescue failed in ERROR, with the fault."""
    sid = boot(demo, catalog_ids, "rescue-refused")
    host = None
    try:
        wait_status(demo, sid, {"ACTIVE"})
        host = admin.get(f"/v2.1/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"]
        restart_host_with(stack, host, FaultInjectingDriver, faults={"rescue"})
        assert _action(demo, sid, {"rescue": None}).status_code == 200
        failed = wait_status(demo, sid, {"ERROR", "RESCUE"})
        assert failed["status"] == "ERROR"
        assert "injected fault: rescue refused" in failed["fault"]["message"]
        assert failed["OS-EXT-STS:task_state"] is None
    finally:
        if host is not None:
            restart_host_with(stack, host)
        delete_all(demo, [sid])
