"""Version documents (v2.0 and v2.1 as Nova lists them), /v2.1/extensions, and
the routes Nova removed: every one answers 410 with Nova's body."""

from __future__ import annotations

import re

from api_support import assert_nova_error, boot, delete_all

from api.removed_routes import REMOVED


def test_versions_list_v2_and_v2_1_as_nova(anon, stack):
    root = anon.get("/").json()["versions"]
    assert [(v["id"], v["status"]) for v in root] == [("v2.0", "DEPRECATED"),
                                                      ("v2.1", "CURRENT")]
    assert root[0]["links"] == [{"rel": "self", "href": f"{stack.api_url}/v2/"}]
    assert (root[0]["version"], root[0]["min_version"]) == ("", "")
    assert set(root[1]) == {"id", "status", "version", "min_version", "updated", "links"}
    v2 = anon.get("/v2/").json()["version"]
    assert v2["id"] == "v2.0" and v2["links"][0] == {"rel": "self",
                                                     "href": f"{stack.api_url}/v2/"}
    assert v2["media-types"][0]["type"] == "application/vnd.openstack.compute+json;version=2"
    v21 = anon.get("/v2.1/").json()["version"]
    assert anon.get("/v2.1/versions/v2.1").json()["version"] == v21
    assert [link["rel"] for link in v21["links"]] == ["self", "describedby"]


def test_extensions(demo, anon):
    exts = demo.get("/v2.1/extensions").json()["extensions"]
    assert len(exts) == 99 and exts[0]["alias"] == "NMN"
    assert {"alias", "description", "links", "name", "namespace", "updated"} == set(exts[0])
    one = demo.get("/v2.1/extensions/OS-DCF").json()["extension"]
    assert one["name"] == "DiskConfig"
    assert_nova_error(demo.get("/v2.1/extensions/nope"), 404, "itemNotFound")
    assert_nova_error(anon.get("/v2.1/extensions"), 401, "unauthorized")


def test_every_removed_route_answers_410(demo, anon, catalog_ids):
    calls = 0
    for path, methods in REMOVED.items():
        url = re.sub(r"\{[a-z_]+\}", "1", path)
        for method in methods:
            body = {} if method in ("POST", "PUT") else None
            resp = demo.request(method, url, json=body)
            assert_nova_error(resp, 410, "computeFault",
                              "This resource is no longer available.")
            calls += 1
    assert calls == 48
    assert_nova_error(anon.get("/v2.1/os-cells"), 401, "unauthorized")
    sid = boot(demo, catalog_ids, "gone-action")
    try:
        assert_nova_error(demo.post(f"/v2.1/servers/{sid}/action",
                                    json={"resetNetwork": None}), 410, "computeFault")
    finally:
        delete_all(demo, [sid])


def test_os_volumes_boot_is_the_servers_api(demo, other, catalog_ids):
    body = {"server": {"name": "vb", "flavorRef": "1", "imageRef": catalog_ids["image"],
                       "networks": [{"uuid": catalog_ids["network"]}]}}
    resp = demo.post("/v2.1/os-volumes_boot", json=body)
    assert resp.status_code == 202, resp.text
    sid = resp.json()["server"]["id"]
    try:
        assert demo.get(f"/v2.1/os-volumes_boot/{sid}").json()["server"]["name"] == "vb"
        assert sid in {s["id"] for s in demo.get("/v2.1/os-volumes_boot").json()["servers"]}
        assert sid in {s["id"] for s in
                       demo.get("/v2.1/os-volumes_boot/detail").json()["servers"]}
        assert_nova_error(other.get(f"/v2.1/os-volumes_boot/{sid}"), 404, "itemNotFound")
        assert demo.post(f"/v2.1/os-volumes_boot/{sid}/action",
                         json={"bogus": None}).status_code == 400
        assert_nova_error(other.post(f"/v2.1/os-volumes_boot/{sid}/action",
                                     json={"os-stop": None}), 404, "itemNotFound")
    finally:
        assert demo.delete(f"/v2.1/os-volumes_boot/{sid}").status_code == 204
        delete_all(demo, [sid])


def test_baremetal_nodes_proxy_without_ironic(demo, admin):
    """Nova's os-baremetal-nodes (< 2.36): no Ironic here, so 501 for admins'
    reads; the writes always name the Ironic command to use instead."""
    assert_nova_error(admin.get("/v2.1/os-baremetal-nodes"), 501, "notImplemented",
                      "Ironic client unavailable")
    assert_nova_error(admin.get("/v2.1/os-baremetal-nodes/n1"), 501, "notImplemented")
    assert_nova_error(demo.get("/v2.1/os-baremetal-nodes"), 403, "forbidden",
                      "os_compute_api:os-baremetal-nodes:list")
    assert_nova_error(demo.post("/v2.1/os-baremetal-nodes", json={"node": {}}), 400,
                      "badRequest", "Please use Ironic command node-create")
    assert_nova_error(demo.delete("/v2.1/os-baremetal-nodes/n1"), 400, "badRequest",
                      "node-delete")
    assert_nova_error(demo.post("/v2.1/os-baremetal-nodes/n1/action",
                                json={"add_interface": {"address": "aa:bb:cc:dd:ee:ff"}}),
                      400, "badRequest", "port-create")
    assert_nova_error(admin.get("/v2.1/os-baremetal-nodes",
                                headers={"OpenStack-API-Version": "compute 2.36"}),
                      404, "itemNotFound")
