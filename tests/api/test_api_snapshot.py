"""createImage and createBackup through the API and the openstack CLI: the
image and its inherited properties, 2.45's image_id, backup rotation, the
table's 409, a host step that fails (image deleted, server as it was) and a
delete during the snapshot (image deleted too)."""

from __future__ import annotations

import json
import threading
import time

import pytest
from api_support import (
    assert_nova_error,
    boot,
    cinder_url,
    delete_all,
    mv,
    server,
    wait_gone,
    wait_status,
)
from stack import wait_for

from activities.hypervisor.driver import DriverError

_GLANCE: dict = {}


@pytest.fixture(autouse=True)
def _glance_users(glance):
    """Images are Glance's: read them there as the tests' users."""
    _GLANCE["of"] = glance


def _glance(user: str):
    return _GLANCE["of"](user)



def _action(client, sid, name, body, version="2.1"):
    return client.post(f"/v2.1/servers/{sid}/action", json={name: body}, headers=mv(version))


def _next_second() -> None:
    start = int(time.time())
    wait_for(lambda: int(time.time()) > start, 2, what="the next second")


def _image(user: str, image_id: str):
    return _glance(user).get(f"/images/{image_id}")


def _idle(client, sid) -> dict:
    return wait_for(lambda: (s := server(client, sid, "2.1"))["OS-EXT-STS:task_state"] is None
                    and s, 30, what=f"server {sid} idle")


def _events(client, sid) -> list[tuple[str, str]]:
    acts = client.get(f"/v2.1/servers/{sid}/os-instance-actions").json()["instanceActions"]
    detail = client.get(f"/v2.1/servers/{sid}/os-instance-actions/{acts[0]['request_id']}",
                        headers=mv("2.51")).json()["instanceAction"]
    return acts[0]["action"], [(e["event"], e["result"]) for e in detail["events"]], detail


@pytest.fixture
def active_server(demo, catalog_ids):
    sid = boot(demo, catalog_ids, "snap-me", metadata={"k": "v"})
    wait_status(demo, sid, {"ACTIVE"})
    yield sid
    delete_all(demo, [sid])


def test_server_image_create_with_the_cli(osc, demo, admin, active_server, catalog_ids):
    sid = active_server
    # Without --wait (it polls every few seconds): the API shows the end.
    made = osc.json("server", "image", "create", "--name", "cli-snap", sid)
    try:
        assert made["name"] == "cli-snap", made
        wait_for(lambda: _image("demo", made["id"]).json()["status"] == "active", 30,
                 what="the snapshot to be active")
        img = _image("demo", made["id"]).json()
        assert img["instance_uuid"] == sid and img["image_type"] == "snapshot"
        assert img["base_image_ref"] == catalog_ids["image"]
        assert img["visibility"] == "private"
        assert img["owner"] == server(admin, sid)["tenant_id"]
        assert img["min_disk"] >= 1  # the flavor's root disk
        shown = _idle(demo, sid)
        assert shown["status"] == "ACTIVE"
        # The snapshot outlives its operation (no rotation for createImage).
        assert _image("demo", made["id"]).json()["status"] == "active"
        action, events, _ = _events(demo, sid)
        assert action == "createImage"
        assert events == [("compute_snapshot_instance", "Success")]
    finally:
        _glance("admin").delete(f"/images/{made['id']}")


def test_create_image_answers_image_id_at_2_45_and_keeps_metadata(demo, admin, active_server):
    sid = active_server
    old = _action(demo, sid, "createImage", {"name": "old-style"})
    assert old.status_code == 202 and not old.content
    old_id = old.headers["Location"].rsplit("/", 1)[-1]
    _idle(demo, sid)
    new = _action(demo, sid, "createImage", {"name": "new-style", "metadata": {"a": "b"}},
                  "2.45")
    assert new.status_code == 202, new.text
    assert "Location" not in new.headers
    new_id = new.json()["image_id"]
    try:
        wait_for(lambda: _image("demo", new_id).json().get("status") == "active", 30,
                 what="the snapshot to be active")
        assert _image("demo", new_id).json()["a"] == "b"
        old_image = _image("demo", old_id)
        assert old_image.status_code == 200, (old_id, old_image.status_code, old_image.text[:300])
        assert old_image.json()["status"] == "active"
    finally:
        for image_id in (old_id, new_id):
            _glance("admin").delete(f"/images/{image_id}")


def test_backup_rotation_deletes_the_oldest(osc, demo, admin, active_server):
    sid = active_server
    ids = []
    try:
        made = osc.json("server", "backup", "create", "--name", "bak-1", "--type", "daily",
                        "--rotate", "2", sid)
        ids.append(made["id"])
        assert _image("demo", made["id"]).json()["backup_type"] == "daily"
        for n in (2, 3):
            _idle(demo, sid)
            _next_second()  # Glance's created_at, the rotation's order, counts seconds
            resp = _action(demo, sid, "createBackup", {"name": f"bak-{n}",
                                                        "backup_type": "daily",
                                                        "rotation": 2}, "2.45")
            assert resp.status_code == 202, resp.text
            ids.append(resp.json()["image_id"])
        _idle(demo, sid)
        _next_second()
        # Another type is rotated apart.
        weekly = _action(demo, sid, "createBackup", {"name": "w", "backup_type": "weekly",
                                                      "rotation": 1}, "2.45").json()["image_id"]
        ids.append(weekly)
        _idle(demo, sid)
        assert _image("demo", ids[0]).status_code == 404  # the oldest daily went
        assert [_image("demo", i).json()["status"] for i in ids[1:]] == ["active"] * 3
        img = _image("demo", ids[1]).json()
        assert img["image_type"] == "backup" and img["instance_uuid"] == sid
    finally:
        for image_id in ids:
            _glance("admin").delete(f"/images/{image_id}")


def test_backup_of_a_paused_server_is_refused_with_the_tables_409(demo, active_server):
    sid = active_server
    assert _action(demo, sid, "pause", None).status_code == 202
    wait_status(demo, sid, {"PAUSED"})
    resp = _action(demo, sid, "createBackup", {"name": "b", "backup_type": "daily",
                                                "rotation": 1})
    assert_nova_error(resp, 409, "conflictingRequest",
                      f"Cannot 'createBackup' instance {sid} while it is in vm_state paused")
    bad = _action(demo, sid, "createBackup", {"name": "b", "backup_type": "daily",
                                               "rotation": -1})
    assert_nova_error(bad, 400, "badRequest")
    assert_nova_error(_action(demo, sid, "createImage", {}), 400, "badRequest", "'name'")


def _host_driver(stack, admin, sid):
    return stack.stack.running_hosts[server(admin, sid)["OS-EXT-SRV-ATTR:host"]].driver


def test_failed_snapshot_deletes_the_image_and_leaves_the_server(stack, demo, admin,
                                                                 active_server, monkeypatch):
    sid = active_server
    driver = _host_driver(stack, admin, sid)

    def refuse(server_id, image_id):
        raise DriverError("injected fault: snapshot refused")
    monkeypatch.setattr(driver, "snapshot", refuse)
    resp = _action(demo, sid, "createImage", {"name": "doomed"}, "2.45")
    assert resp.status_code == 202, resp.text
    image_id = resp.json()["image_id"]
    shown = _idle(demo, sid)
    assert shown["status"] == "ACTIVE" and "fault" not in shown
    wait_for(lambda: _image("demo", image_id).status_code == 404, 10, what="image deleted")
    action, events, detail = _events(demo, sid)
    assert action == "createImage" and events == [("compute_snapshot_instance", "Error")]
    assert "snapshot refused" in detail["message"] or "snapshot refused" in str(detail)


def test_delete_during_a_snapshot_deletes_the_image(stack, demo, admin, catalog_ids,
                                                    monkeypatch):
    sid = boot(demo, catalog_ids, "snap-deleted")
    wait_status(demo, sid, {"ACTIVE"})
    driver = _host_driver(stack, admin, sid)
    started, release = threading.Event(), threading.Event()
    real = driver.snapshot

    def slow(server_id, image_id):
        # The copy finishes just after the delete came (the worst case: the
        # delete's cancel may reach the workflow after the step's result).
        started.set()
        release.wait(20)
        return real(server_id, image_id)
    monkeypatch.setattr(driver, "snapshot", slow)
    try:
        resp = _action(demo, sid, "createImage", {"name": "orphan"}, "2.45")
        image_id = resp.json()["image_id"]
        wait_for(started.is_set, 20, what="the snapshot to begin on the host")
        assert demo.delete(f"/v2.1/servers/{sid}").status_code == 204
        wait_for(lambda: admin.get(f"/v2.1/servers/{sid}").json()["server"]
                 .get("OS-EXT-STS:task_state") == "deleting", 10, what="the delete to start")
    finally:
        release.set()
    wait_gone(demo, sid)
    wait_for(lambda: _image("admin", image_id).status_code == 404, 20, what="image deleted")


def test_create_image_of_a_volume_backed_server(demo, catalog_ids):
    """As Nova's snapshot_volume_backed: a forced Cinder snapshot of the boot
    volume, an active image without data naming it in block_device_mapping;
    createBackup stays refused."""
    cinder = cinder_url(demo)
    vol = demo.post(f"{cinder}/volumes", json={"volume": {
        "size": 1, "name": "bfv-root", "imageRef": catalog_ids["image"]}})
    vol_id = vol.json()["volume"]["id"]
    resp = demo.post("/v2.1/servers", json={"server": {
        "name": "bfv-snap", "flavorRef": "1", "networks": [{"uuid": catalog_ids["network"]}],
        "block_device_mapping_v2": [{"source_type": "volume", "destination_type": "volume",
                                     "uuid": vol_id, "boot_index": 0}]}})
    assert resp.status_code == 202, resp.text
    sid = resp.json()["server"]["id"]
    snap_ids: list[str] = []
    try:
        assert wait_status(demo, sid, {"ACTIVE", "ERROR"})["status"] == "ACTIVE"
        assert_nova_error(_action(demo, sid, "createBackup", {
            "name": "b", "backup_type": "daily", "rotation": 1}), 400, "badRequest",
            "Backup is not supported for volume-backed instances.")
        made = _action(demo, sid, "createImage", {"name": "bfv-image",
                                                  "metadata": {"purpose": "test"}}, "2.45")
        assert made.status_code == 202, made.text
        image_id = made.json()["image_id"]
        img = _image("demo", image_id).json()
        assert (img["status"], img["size"], img["disk_format"]) == ("active", 0, "raw")
        assert (img["bdm_v2"], img["root_device_name"], img["purpose"]) == \
            ("True", "/dev/vda", "test")
        mapping = json.loads(img["block_device_mapping"])
        assert len(mapping) == 1
        entry = mapping[0]
        assert (entry["source_type"], entry["destination_type"], entry["boot_index"],
                entry["volume_size"], entry["delete_on_termination"]) == \
            ("snapshot", "volume", 0, 1, False)
        snap = demo.get(f"{cinder}/snapshots/{entry['snapshot_id']}")
        assert snap.status_code == 200, snap.text
        snap_ids.append(entry["snapshot_id"])
        assert (snap.json()["snapshot"]["volume_id"], snap.json()["snapshot"]["name"]) == \
            (vol_id, "snapshot for bfv-image")
        action, events, _ = _events(demo, sid)
        assert (action, events) == ("createImage", [("api_snapshot_instance", "Success")])
        # Before 2.45: the Location of the image.
        older = _action(demo, sid, "createImage", {"name": "bfv-image-2"})
        assert older.status_code == 202 and "/images/" in older.headers["Location"]
        second = older.headers["Location"].rsplit("/", 1)[1]
        snap_ids += [json.loads(_image("demo", second).json()["block_device_mapping"])[0]
                     ["snapshot_id"]]
        for iid in (image_id, second):
            _glance("demo").delete(f"/images/{iid}")
    finally:
        delete_all(demo, [sid])
        for snap_id in snap_ids:
            demo.delete(f"{cinder}/snapshots/{snap_id}")
        demo.delete(f"{cinder}/volumes/{vol_id}")
