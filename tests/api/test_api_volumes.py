"""Boot from volume end to end: the volume is reserved by the build,
attached in the domain XML as the root disk, shown on the server, and
released (or deleted) when the server goes."""

from __future__ import annotations

from api_support import assert_nova_error, cinder_url, delete_all, mv, server, wait_status
from sqlmodel import select

from schema.models import Allocation


def _volume(client, vol_id: str):
    resp = client.get(f"{cinder_url(client)}/volumes/{vol_id}")
    return resp.json()["volume"] if resp.status_code == 200 else None


def _domain_xml(stack, admin, server_id: str) -> str:
    host = server(admin, server_id)["OS-EXT-SRV-ATTR:host"]
    driver = stack.stack.running_hosts[host].driver
    return driver.conn.lookupByUUIDString(server_id).XMLDesc()


def _boot(client, catalog_ids, name: str, bdms: list[dict], image: bool = False, **extra):
    body = {"name": name, "flavorRef": "1", "networks": [{"uuid": catalog_ids["network"]}],
            "block_device_mapping_v2": bdms, **extra}
    if image:
        body["imageRef"] = catalog_ids["image"]
    return client.post("/v2.1/servers", json={"server": body})


def test_boot_from_an_existing_volume(stack, demo, admin, catalog_ids):
    vol = demo.post(f"{cinder_url(demo)}/volumes", json={"volume": {"size": 1, "name": "root",
                                                                 "imageRef": catalog_ids["image"]}})
    vol_id = vol.json()["volume"]["id"]
    bdm = [{"source_type": "volume", "destination_type": "volume", "uuid": vol_id,
            "boot_index": 0}]
    assert_nova_error(_boot(demo, catalog_ids, "bfv-many", bdm, max_count=2), 400,
                      "badRequest", "Cannot attach one or more volumes to multiple instances")
    resp = _boot(demo, catalog_ids, "bfv", bdm)
    assert resp.status_code == 202, resp.text
    sid = resp.json()["server"]["id"]
    try:
        s = wait_status(demo, sid, {"ACTIVE", "ERROR"})
        assert s["status"] == "ACTIVE", s.get("fault")
        assert s["image"] == ""  # volume-backed, as Nova shows it
        shown = server(demo, sid, "2.3")
        assert shown["os-extended-volumes:volumes_attached"] == [
            {"id": vol_id, "delete_on_termination": False}]
        v = _volume(demo, vol_id)
        assert v["status"] == "in-use" and v["attachments"][0]["server_id"] == sid
        assert v["attachments"][0]["device"] == "/dev/vda"

        xml = _domain_xml(stack, admin, sid)
        assert f"volume-{vol_id}" in xml and "<target dev='vda'" in xml
        assert f"{sid}/disk" not in xml  # no local root disk
        with stack.db.reader() as db:
            alloc = db.exec(select(Allocation).where(Allocation.consumer_id == sid)).one()
        assert alloc.disk_gb == 0  # the root disk is the volume, not the host's

        # The volume is taken: a second server cannot boot from it.
        assert_nova_error(_boot(demo, catalog_ids, "bfv-2", bdm), 400, "badRequest",
                          "Invalid volume")
        events = {e["event"] for e in demo.get(
            f"/v2.1/servers/{sid}/os-instance-actions/{resp.headers['x-openstack-request-id']}",
            headers=mv("2.51")).json()["instanceAction"]["events"]}
        assert {"reserve_volumes", "attach_volumes"} <= events
    finally:
        delete_all(demo, [sid])
    v = _volume(demo, vol_id)
    assert (v["status"], v["attachments"]) == ("available", [])
    demo.delete(f"{cinder_url(demo)}/volumes/{vol_id}")


def test_image_to_volume_deleted_on_termination(stack, demo, admin, catalog_ids):
    bdm = [{"source_type": "image", "destination_type": "volume",
            "uuid": catalog_ids["image"], "volume_size": 1, "boot_index": 0,
            "delete_on_termination": True}]
    resp = _boot(demo, catalog_ids, "bfv-image", bdm)
    assert resp.status_code == 202, resp.text
    sid = resp.json()["server"]["id"]
    try:
        assert wait_status(demo, sid, {"ACTIVE", "ERROR"})["status"] == "ACTIVE"
        (attached,) = server(demo, sid, "2.3")["os-extended-volumes:volumes_attached"]
        assert attached["delete_on_termination"] is True
        v = _volume(demo, attached["id"])
        assert v["bootable"] == "true" and v["status"] == "in-use"
        assert v["volume_image_metadata"]["image_id"] == catalog_ids["image"]
    finally:
        delete_all(demo, [sid])
    assert _volume(demo, attached["id"]) is None


def test_image_boot_with_an_extra_blank_volume(stack, demo, admin, catalog_ids):
    bdm = [{"source_type": "blank", "destination_type": "volume", "volume_size": 2,
            "delete_on_termination": True}]
    resp = _boot(demo, catalog_ids, "with-data", bdm, image=True)
    assert resp.status_code == 202, resp.text
    sid = resp.json()["server"]["id"]
    try:
        assert wait_status(demo, sid, {"ACTIVE", "ERROR"})["status"] == "ACTIVE"
        (attached,) = server(demo, sid)["os-extended-volumes:volumes_attached"]
        xml = _domain_xml(stack, admin, sid)
        # The image is the local root disk; the volume comes next.
        assert f"{sid}/disk" in xml and "<target dev='vda'" in xml
        assert f"volume-{attached['id']}" in xml and "<target dev='vdb'" in xml
        assert _volume(demo, attached["id"])["attachments"][0]["device"] == "/dev/vdb"
    finally:
        delete_all(demo, [sid])
    assert _volume(demo, attached["id"]) is None


def _attachments(client, **query) -> list[dict]:
    resp = client.get(f"{cinder_url(client)}/attachments/detail", params=query)
    assert resp.status_code == 200, resp.text
    return resp.json()["attachments"]


def test_boot_from_volume_makes_a_cinder_attachment_the_delete_removes(stack, demo,
                                                                        catalog_ids):
    bdm = [{"source_type": "image", "destination_type": "volume",
            "uuid": catalog_ids["image"], "volume_size": 1, "boot_index": 0,
            "delete_on_termination": False}]
    resp = _boot(demo, catalog_ids, "bfv-attachment", bdm)
    assert resp.status_code == 202, resp.text
    sid = resp.json()["server"]["id"]
    try:
        assert wait_status(demo, sid, {"ACTIVE", "ERROR"})["status"] == "ACTIVE"
        (attached,) = server(demo, sid, "2.3")["os-extended-volumes:volumes_attached"]
        vol_id = attached["id"]
        # The volume was made in the user's project, and is attached through
        # Cinder's attachments API: the user sees the attachment there.
        (att,) = _attachments(demo, instance_id=sid)
        assert (att["volume_id"], att["instance"], att["status"]) == (vol_id, sid, "attached")
        assert att["connection_info"]["data"]["device_path"].endswith(f"volume-{vol_id}")
        (listed,) = _volume(demo, vol_id)["attachments"]
        assert (listed["attachment_id"], listed["server_id"]) == (att["id"], sid)
        shown = demo.get(f"/v2.1/servers/{sid}/os-volume_attachments",
                         headers=mv("2.89")).json()["volumeAttachments"]
        assert [(a["volumeId"], a["attachment_id"]) for a in shown] == [(vol_id, att["id"])]
    finally:
        delete_all(demo, [sid])
    assert _attachments(demo, instance_id=sid) == []
    assert _attachments(demo, volume_id=vol_id) == []
    v = _volume(demo, vol_id)  # not delete_on_termination: it stays, available
    assert (v["status"], v["attachments"]) == ("available", [])
    assert demo.delete(f"{cinder_url(demo)}/volumes/{vol_id}").status_code == 202


def _huge_flavor(stack) -> str:
    from schema.models import Flavor
    with stack.db.writer() as s:
        if s.exec(select(Flavor).where(Flavor.flavorid == "bfv-huge")).first() is None:
            s.add(Flavor(flavorid="bfv-huge", name="bfv-huge", vcpus=4096,
                         memory_mb=64 * 1024 * 1024, root_gb=1))
    return "bfv-huge"


def test_a_failed_boot_from_volume_leaves_no_attachment_and_no_new_volume(stack, demo,
                                                                          catalog_ids):
    mine = demo.post(f"{cinder_url(demo)}/volumes", json={"volume": {"size": 1,
                                                                  "name": "data"}})
    mine_id = mine.json()["volume"]["id"]
    bdm = [{"source_type": "image", "destination_type": "volume",
            "uuid": catalog_ids["image"], "volume_size": 1, "boot_index": 0,
            "delete_on_termination": True},
           {"source_type": "volume", "destination_type": "volume", "uuid": mine_id,
            "boot_index": 1}]
    body = {"name": "bfv-fails", "flavorRef": _huge_flavor(stack),
            "networks": [{"uuid": catalog_ids["network"]}], "block_device_mapping_v2": bdm}
    resp = demo.post("/v2.1/servers", json={"server": body})
    assert resp.status_code == 202, resp.text
    sid = resp.json()["server"]["id"]
    try:
        failed = wait_status(demo, sid, {"ACTIVE", "ERROR"})
        assert failed["status"] == "ERROR" and "No valid host" in failed["fault"]["message"]
        made = [a["id"] for a in server(demo, sid, "2.3")[
            "os-extended-volumes:volumes_attached"] if a["id"] != mine_id]
        assert len(made) == 1  # the boot volume was made before scheduling...
        assert _volume(demo, made[0]) is None  # ...and deleted with the failure
        assert _attachments(demo, instance_id=sid) == []
        v = _volume(demo, mine_id)  # the user's own volume is free again
        assert (v["status"], v["attachments"]) == ("available", [])
    finally:
        delete_all(demo, [sid])
    assert _volume(demo, mine_id)["status"] == "available"
    assert demo.delete(f"{cinder_url(demo)}/volumes/{mine_id}").status_code == 202
