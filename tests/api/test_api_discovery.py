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
