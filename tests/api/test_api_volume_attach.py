"""Volume attach / detach on a running server (os-volume_attachments), end to
end: the device Nova reports, the Cinder stand-in's attachment, the disk in
the domain, Nova's refusals, a host that refuses the hot-plug (nothing
left behind), and the delete releasing what is attached (the CLI: test_api_attach_cli.py)."""

from __future__ import annotations

import libvirt
from api_support import assert_nova_error, boot, cinder_url, delete_all, mv, wait_status
from stack import wait_for


def _volume(client, name: str) -> str:
    resp = client.post(f"{cinder_url(client)}/volumes", json={"volume": {"size": 1,
                                                                       "name": name}})
    assert resp.status_code == 202, resp.text
    return resp.json()["volume"]["id"]


def _volume_status(client, vol_id: str) -> str | None:
    resp = client.get(f"{cinder_url(client)}/volumes/{vol_id}")
    return resp.json()["volume"]["status"] if resp.status_code == 200 else None


def _attachments(client, vol_id: str) -> list[dict]:
    resp = client.get(f"{cinder_url(client)}/attachments/detail",
                      params={"volume_id": vol_id})
    assert resp.status_code == 200, resp.text
    return resp.json()["attachments"]


def _persistent_xml(stack, admin, sid: str) -> str:
    host = admin.get(f"/v2.1/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"]
    dom = stack.stack.running_hosts[host].driver.conn.lookupByUUIDString(sid)
    return dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)


def _attach(client, sid: str, vol_id: str, version: str = "2.79", **extra):
    return client.post(f"/v2.1/servers/{sid}/os-volume_attachments", headers=mv(version),
                       json={"volumeAttachment": {"volumeId": vol_id, **extra}})


def _last_action(client, sid: str, action: str) -> dict:
    actions = client.get(f"/v2.1/servers/{sid}/os-instance-actions").json()["instanceActions"]
    req = next(a["request_id"] for a in actions if a["action"] == action)
    return client.get(f"/v2.1/servers/{sid}/os-instance-actions/{req}",
                      headers=mv("2.51")).json()["instanceAction"]


def _wait_status(client, vol_id: str, status: str) -> None:
    wait_for(lambda: _volume_status(client, vol_id) == status, 30,
             what=f"volume {vol_id} to be {status}")


def test_attach_show_update_detach(stack, demo, admin, other, catalog_ids):
    sid = boot(demo, catalog_ids, "va-happy")
    vol = _volume(demo, "va-data")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        resp = _attach(demo, sid, vol, tag="data")
        assert resp.status_code == 200, resp.text
        assert resp.json()["volumeAttachment"] == {
            "id": vol, "serverId": sid, "volumeId": vol, "device": "/dev/vdb", "tag": "data",
            "delete_on_termination": False}
        _wait_status(demo, vol, "in-use")
        [att] = _attachments(demo, vol)
        assert (att["instance"], att["status"]) == (sid, "attached")
        assert f"volume-{vol}" in _persistent_xml(stack, admin, sid)
        events = {e["event"]: e["result"] for e in _last_action(demo, sid,
                                                                "attach_volume")["events"]}
        assert events == {"compute_attach_volume": "Success"}

        listed = demo.get(f"/v2.1/servers/{sid}/os-volume_attachments",
                          headers=mv("2.89")).json()["volumeAttachments"]
        assert [(a["volumeId"], a["device"], a["attachment_id"]) for a in listed] == [
            (vol, "/dev/vdb", att["id"])] and "id" not in listed[0]
        shown = demo.get(f"/v2.1/servers/{sid}/os-volume_attachments/{vol}")
        assert shown.json()["volumeAttachment"]["device"] == "/dev/vdb"
        assert demo.get(f"/v2.1/servers/{sid}", headers=mv("2.3")).json()["server"][
            "os-extended-volumes:volumes_attached"] == [{"id": vol,
                                                         "delete_on_termination": False}]

        # Nova's refusals: the same volume again, an in-use volume elsewhere,
        # another project's server, a server in the wrong state.
        assert_nova_error(_attach(demo, sid, vol), 400, "badRequest", "already attached")
        sid2 = boot(demo, catalog_ids, "va-other")
        assert_nova_error(_attach(other, sid, vol), 404, "itemNotFound")
        assert_nova_error(_attach(demo, sid, "6f0b7c3e-0000-4000-8000-000000000000"), 404,
                          "itemNotFound", "could not be found")
        assert_nova_error(_attach(demo, sid, vol, device="not a device"), 400, "badRequest")
        assert_nova_error(_attach(demo, sid, vol, "2.48", tag="x"), 400, "badRequest")

        # 2.85: delete_on_termination changes in place.
        put = demo.put(f"/v2.1/servers/{sid}/os-volume_attachments/{vol}", headers=mv("2.85"),
                       json={"volumeAttachment": {"volumeId": vol,
                                                  "delete_on_termination": True}})
        assert put.status_code == 202, put.text
        assert demo.get(f"/v2.1/servers/{sid}/os-volume_attachments/{vol}", headers=mv("2.79")
                        ).json()["volumeAttachment"]["delete_on_termination"] is True
        # A swap is an admin's: the new volume at the old one's device.
        new = _volume(demo, "va-new")
        swap = {"volumeAttachment": {"volumeId": new}}
        assert_nova_error(demo.put(f"/v2.1/servers/{sid}/os-volume_attachments/{vol}",
                                   json=swap), 403, "forbidden")
        assert admin.put(f"/v2.1/servers/{sid}/os-volume_attachments/{vol}",
                         json=swap).status_code == 202
        _wait_status(demo, vol, "available")
        _wait_status(demo, new, "in-use")
        assert _attachments(demo, vol) == [] and len(_attachments(demo, new)) == 1
        assert [(a["volumeId"], a["device"]) for a in demo.get(
            f"/v2.1/servers/{sid}/os-volume_attachments").json()["volumeAttachments"]] == [
            (new, "/dev/vdb")]
        xml = _persistent_xml(stack, admin, sid)
        assert f"volume-{new}" in xml and f"volume-{vol}" not in xml

        assert demo.delete(f"/v2.1/servers/{sid}/os-volume_attachments/{new}"
                           ).status_code == 202
        _wait_status(demo, new, "available")
        assert _attachments(demo, new) == []
        demo.delete(f"{cinder_url(demo)}/volumes/{new}")
        assert f"volume-{new}" not in _persistent_xml(stack, admin, sid)
        assert demo.get(f"/v2.1/servers/{sid}/os-volume_attachments").json() == {
            "volumeAttachments": []}
        assert_nova_error(demo.delete(f"/v2.1/servers/{sid}/os-volume_attachments/{vol}"),
                          404, "itemNotFound", "is not attached to volume")

        wait_status(demo, sid2, {"ACTIVE"})
        assert admin.post(f"/v2.1/servers/{sid2}/action",
                          json={"os-resetState": {"state": "error"}}).status_code == 202
        assert_nova_error(_attach(demo, sid2, vol), 409, "conflictingRequest",
                          f"Cannot 'attach_volume' instance {sid2} while it is in vm_state "
                          "error")
    finally:
        delete_all(demo, [sid] + ([sid2] if "sid2" in locals() else []))
    assert _volume_status(demo, vol) == "available"


def test_a_refused_hotplug_leaves_no_attachment(stack, demo, admin, catalog_ids):
    """The host refuses the hot-plug (a disk put at vdb behind novaflow's back):
    the attachment is deleted, the volume available, the server as it was."""
    sid = boot(demo, catalog_ids, "va-refused")
    vol = _volume(demo, "va-refused")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        host = admin.get(f"/v2.1/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"]
        driver = stack.stack.running_hosts[host].driver
        with driver._lock:
            dom = driver.conn.lookupByUUIDString(sid)
            xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE).replace("</devices>", (
                "<disk type='file' device='disk'><source file='/tmp/intruder'/>"
                "<target dev='vdb' bus='virtio'/></disk></devices>"))
            driver.conn.defineXML(xml)
        resp = _attach(demo, sid, vol)
        assert resp.status_code == 200 and resp.json()["volumeAttachment"]["device"] == "/dev/vdb"

        def failed():
            act = _last_action(demo, sid, "attach_volume")
            return act if act["message"] else None
        act = wait_for(failed, 30, what="the attach to fail")
        assert "has another disk at vdb" in act["message"]
        assert [e["result"] for e in act["events"]] == ["Error"]
        assert _volume_status(demo, vol) == "available" and _attachments(demo, vol) == []
        assert demo.get(f"/v2.1/servers/{sid}/os-volume_attachments").json() == {
            "volumeAttachments": []}
        shown = wait_status(demo, sid, {"ACTIVE"})
        assert shown["OS-EXT-STS:task_state"] is None
    finally:
        delete_all(demo, [sid])
        demo.delete(f"{cinder_url(demo)}/volumes/{vol}")


def test_delete_releases_attached_volumes(stack, demo, catalog_ids):
    """delete_on_termination is honoured for volumes attached while running."""
    sid = boot(demo, catalog_ids, "va-delete")
    keep, drop = _volume(demo, "va-keep"), _volume(demo, "va-drop")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        assert _attach(demo, sid, keep).status_code == 200
        _wait_status(demo, keep, "in-use")
        resp = _attach(demo, sid, drop, delete_on_termination=True)
        assert resp.json()["volumeAttachment"]["device"] == "/dev/vdc"
        _wait_status(demo, drop, "in-use")
    finally:
        delete_all(demo, [sid])
    assert _volume_status(demo, keep) == "available" and _attachments(demo, keep) == []
    assert _volume_status(demo, drop) is None
    demo.delete(f"{cinder_url(demo)}/volumes/{keep}")


def test_delete_during_the_hotplug(stack, demo, admin, catalog_ids):
    """The server is deleted while its host is plugging the volume in: the
    delete cancels the attach and nothing is left attached or reserved."""
    sid = boot(demo, catalog_ids, "va-cut")
    vol = _volume(demo, "va-cut")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        shown = admin.get(f"/v2.1/servers/{sid}").json()["server"]
        driver = stack.stack.running_hosts[shown["OS-EXT-SRV-ATTR:host"]].driver
        with driver._lock:  # the hot-plug cannot finish while the test holds it
            assert _attach(demo, sid, vol).status_code == 200
            wf_id = admin.get(f"/v2.1/servers/{sid}").headers["Novaflow-Workflow"]
            handle = stack.stack.client.get_workflow_handle(wf_id)
            wait_for(lambda: stack.call(handle.query("current_step")).startswith(
                f"attach {vol} on"), 20, what="the attach to reach the host")
            assert demo.delete(f"/v2.1/servers/{sid}").status_code == 204
        delete_all(demo, [sid])
        assert _volume_status(demo, vol) == "available" and _attachments(demo, vol) == []
    finally:
        delete_all(demo, [sid])
        demo.delete(f"{cinder_url(demo)}/volumes/{vol}")
