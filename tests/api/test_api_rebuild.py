"""rebuild through the API and the openstack CLI: a new image on the same
host with the same ports, the microversion fields (2.54 key_name, 2.57
user_data, 2.90 hostname), a new adminPass, a stopped server staying
stopped, the table's 409, and an image the host cannot run rolled back
with the server in ERROR (Nova's conductor)."""

from __future__ import annotations

import base64
import json

import pytest
from api_support import assert_nova_error, boot, delete_all, mv, server, wait_status
from stack import wait_for


def make_image(glance_admin, name: str, **properties) -> str:
    """A public raw image in the real Glance (as admin)."""
    made = glance_admin.post("/images", json={"name": name, "visibility": "public",
                                              "disk_format": "raw",
                                              "container_format": "bare", **properties})
    assert made.status_code == 201, made.text
    image_id = made.json()["id"]
    up = glance_admin.put(f"/images/{image_id}/file", content=b"\0" * 1024,
                          headers={"Content-Type": "application/octet-stream"})
    assert up.status_code == 204, up.text
    return image_id


@pytest.fixture(scope="module")
def images(glance):
    made = {"new": make_image(glance("admin"), "rebuild-new"),
            "s390x": make_image(glance("admin"), "rebuild-s390x", hw_architecture="s390x")}
    yield made
    for image_id in made.values():
        glance("admin").delete(f"/images/{image_id}")


def _rebuild(client, sid, body, version="2.1"):
    return client.post(f"/v2.1/servers/{sid}/action", json={"rebuild": body},
                       headers=mv(version))


def _addresses(client, sid) -> list[str]:
    return sorted(a["addr"] for addrs in server(client, sid)["addresses"].values()
                  for a in addrs)


def test_rebuild_with_a_new_image_keeps_host_and_ports(demo, admin, catalog_ids, images):
    sid = boot(demo, catalog_ids, "rebuild-me", metadata={"old": "1"})
    try:
        wait_status(demo, sid, {"ACTIVE"})
        before = server(admin, sid)
        addresses = _addresses(demo, sid)
        user_data = base64.b64encode(b"#!/bin/sh\necho rebuilt\n").decode()
        resp = _rebuild(demo, sid, {"imageRef": images["new"], "name": "rebuilt",
                                    "metadata": {"new": "2"}, "key_name": None,
                                    "user_data": user_data, "hostname": "rebuilt-host"},
                        "2.90")
        assert resp.status_code == 202, resp.text
        body = resp.json()["server"]
        assert body["status"] == "REBUILD" and body["adminPass"]
        assert body["image"]["id"] == images["new"] and body["name"] == "rebuilt"
        after = wait_status(demo, sid, {"ACTIVE", "ERROR"})
        assert after["status"] == "ACTIVE", after.get("fault")
        shown = server(admin, sid, "2.90")
        assert shown["OS-EXT-SRV-ATTR:host"] == before["OS-EXT-SRV-ATTR:host"]
        assert shown["metadata"] == {"new": "2"} and shown["key_name"] is None
        assert shown["OS-EXT-SRV-ATTR:hostname"] == "rebuilt-host"
        assert shown["OS-EXT-SRV-ATTR:user_data"] == user_data
        assert _addresses(demo, sid) == addresses
        acts = demo.get(f"/v2.1/servers/{sid}/os-instance-actions").json()["instanceActions"]
        assert acts[0]["action"] == "rebuild"
        detail = demo.get(f"/v2.1/servers/{sid}/os-instance-actions/{acts[0]['request_id']}",
                          headers=mv("2.51")).json()["instanceAction"]
        assert [(e["event"], e["result"]) for e in detail["events"]] == [
            ("conductor_rebuild_server", "Success"), ("compute_rebuild_instance", "Success")]
    finally:
        delete_all(demo, [sid])


def test_rebuild_body_follows_the_microversion(demo, catalog_ids, images):
    sid = boot(demo, catalog_ids, "rebuild-body")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        assert_nova_error(_rebuild(demo, sid, {"imageRef": images["new"], "key_name": None},
                                   "2.53"), 400, "badRequest", "'key_name' was unexpected")
        assert_nova_error(_rebuild(demo, sid, {"name": "x"}), 400, "badRequest",
                          "'imageRef' is a required property")
        assert_nova_error(_rebuild(demo, sid, {"imageRef": "nope"}), 400, "badRequest",
                          "Image nope could not be found.")
        assert_nova_error(_rebuild(demo, sid, {"imageRef": images["new"],
                                               "preserve_ephemeral": "yes"}), 400,
                          "badRequest", "preserve_ephemeral")
        assert server(demo, sid)["status"] == "ACTIVE"
    finally:
        delete_all(demo, [sid])


def test_a_stopped_server_stays_stopped_and_paused_gets_the_tables_409(demo, catalog_ids,
                                                                      images):
    stopped, paused = boot(demo, catalog_ids, "rb-stopped"), boot(demo, catalog_ids, "rb-paused")
    try:
        wait_status(demo, stopped, {"ACTIVE"})
        wait_status(demo, paused, {"ACTIVE"})
        demo.post(f"/v2.1/servers/{stopped}/action", json={"os-stop": None})
        demo.post(f"/v2.1/servers/{paused}/action", json={"pause": None})
        wait_status(demo, stopped, {"SHUTOFF"})
        wait_status(demo, paused, {"PAUSED"})
        assert_nova_error(_rebuild(demo, paused, {"imageRef": images["new"]}), 409,
                          "conflictingRequest",
                          f"Cannot 'rebuild' instance {paused} while it is in vm_state paused")
        assert _rebuild(demo, stopped, {"imageRef": images["new"]}).status_code == 202
        wait_for(lambda: server(demo, stopped)["OS-EXT-STS:task_state"] is None, 30,
                 what="the rebuild to finish")
        shown = server(demo, stopped)
        assert shown["status"] == "SHUTOFF" and shown["image"]["id"] == images["new"]
    finally:
        delete_all(demo, [stopped, paused])


def test_an_image_the_host_cannot_run_is_rolled_back(demo, admin, catalog_ids, images):
    sid = boot(demo, catalog_ids, "rebuild-arch")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        assert _rebuild(demo, sid, {"imageRef": images["s390x"]}).status_code == 202
        failed = wait_status(demo, sid, {"ERROR"})
        assert "is unacceptable" in failed["fault"]["message"]
        assert failed["image"]["id"] == catalog_ids["image"]  # rolled back
        # ERROR is a state rebuild starts from: a good image brings it back.
        assert _rebuild(demo, sid, {"imageRef": catalog_ids["image"]}).status_code == 202
        assert wait_status(demo, sid, {"ACTIVE"})["image"]["id"] == catalog_ids["image"]
    finally:
        delete_all(demo, [sid])


def test_server_rebuild_with_the_cli(osc, demo, catalog_ids, images):
    sid = boot(demo, catalog_ids, "cli-rebuild")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        text = osc("server", "rebuild", "--image", "rebuild-new", "--wait", sid, "-f",
                   "json").stdout
        out = json.loads(text[text.index("{"):])  # --wait prints "Complete" first
        assert out["adminPass"] and out["id"] == sid
        shown = server(demo, sid)
        assert shown["status"] == "ACTIVE" and shown["image"]["id"] == images["new"]
    finally:
        delete_all(demo, [sid])
