"""Version discovery and microversion negotiation, and behaviour that
follows the version a request asks for."""

from __future__ import annotations

import pytest
from api_support import (
    assert_nova_error,
    boot,
    delete_all,
    mv,
    server,
    ssh_public_key,
    wait_status,
)


def test_version_documents_need_no_token(anon, stack):
    root = anon.get("/").json()["versions"]
    assert [v["id"] for v in root] == ["v2.0", "v2.1"]  # as Nova: v2.0 DEPRECATED
    assert (root[1]["min_version"], root[1]["version"]) == ("2.1", "2.96")
    assert root[1]["links"][0]["href"] == f"{stack.api_url}/v2.1/"
    doc = anon.get("/v2.1/").json()["version"]
    assert doc["status"] == "CURRENT" and doc["version"] == "2.96"


@pytest.mark.parametrize("headers, echoed", [
    ({}, "2.1"),
    ({"OpenStack-API-Version": "compute 2.47"}, "2.47"),
    ({"OpenStack-API-Version": "compute latest"}, "2.96"),
    ({"X-OpenStack-Nova-API-Version": "2.19"}, "2.19"),
    # Another service's version in the same header is not ours.
    ({"OpenStack-API-Version": "volume 3.5, compute 2.60"}, "2.60"),
])
def test_requested_version_is_echoed_with_vary(demo, headers, echoed):
    resp = demo.get("/v2.1/flavors", headers=headers)
    assert resp.status_code == 200
    assert resp.headers["OpenStack-API-Version"] == f"compute {echoed}"
    assert resp.headers["X-OpenStack-Nova-API-Version"] == echoed
    assert "OpenStack-API-Version" in resp.headers["Vary"]
    assert "X-OpenStack-Nova-API-Version" in resp.headers["Vary"]


@pytest.mark.parametrize("version", ["2.0", "2.97", "3.0", "1.1"])
def test_unsupported_version_is_406_in_novas_body(demo, version):
    resp = demo.get("/v2.1/servers", headers=mv(version))
    # Nova has no fault name for 406, so its body says computeFault.
    assert_nova_error(resp, 406, "computeFault",
                      f"Version {version} is not supported by the API. Minimum is 2.1 and "
                      "maximum is 2.96.")


def test_malformed_version_is_400(demo):
    assert_nova_error(demo.get("/v2.1/servers", headers=mv("2.abc")), 400, "badRequest",
                      "is of invalid format")


def test_networks_are_required_from_2_37(demo, catalog_ids):
    body = {"server": {"name": "no-nets", "flavorRef": "1", "imageRef": catalog_ids["image"]}}
    assert_nova_error(demo.post("/v2.1/servers", json=body, headers=mv("2.37")), 400,
                      "badRequest", "'networks' is a required property")
    # Before 2.37 the server gets a network on its own ("auto").
    resp = demo.post("/v2.1/servers", json=body, headers=mv("2.36"))
    assert resp.status_code == 202, resp.text
    sid = resp.json()["server"]["id"]
    try:
        s = wait_status(demo, sid, {"ACTIVE", "ERROR"})
        assert s["status"] == "ACTIVE" and "private" in s["addresses"]
    finally:
        delete_all(demo, [sid])


def test_server_shape_follows_the_version(demo, admin, catalog_ids):
    sid = boot(demo, catalog_ids, "mv-shape", description="described",
               headers=mv("2.19"))
    try:
        old = server(demo, sid, "2.1")
        assert set(old["flavor"]) == {"id", "links"} and "description" not in old
        assert "locked" not in old
        new = server(demo, sid, "2.96")
        assert new["flavor"]["original_name"] == "m1.tiny" and new["flavor"]["ram"] == 512
        assert new["description"] == "described" and new["locked"] is False
        assert new["server_groups"] == [] and new["trusted_image_certificates"] is None
        assert new["OS-EXT-SRV-ATTR:hostname"] == "mv-shape"  # members see it from 2.90
        assert "OS-EXT-SRV-ATTR:hostname" not in server(demo, sid, "2.89")
        listed = demo.get("/v2.1/servers/detail", headers=mv("2.96")).json()["servers"]
        assert "server_groups" not in next(s for s in listed if s["id"] == sid)
    finally:
        delete_all(demo, [sid])


def test_keypair_and_server_group_shapes_change_at_their_versions(demo):
    key = ssh_public_key()
    old = demo.post("/v2.1/os-keypairs", json={"keypair": {"name": "mv-k1", "public_key": key}})
    assert old.status_code == 200 and "type" not in old.json()["keypair"]
    new = demo.post("/v2.1/os-keypairs", headers=mv("2.2"),
                    json={"keypair": {"name": "mv-k2", "public_key": key}})
    assert new.status_code == 201 and new.json()["keypair"]["type"] == "ssh"
    assert demo.delete("/v2.1/os-keypairs/mv-k1").status_code == 202
    assert demo.delete("/v2.1/os-keypairs/mv-k2", headers=mv("2.2")).status_code == 204

    legacy = demo.post("/v2.1/os-server-groups",
                       json={"server_group": {"name": "g", "policies": ["affinity"]}})
    gid = legacy.json()["server_group"]["id"]
    assert legacy.json()["server_group"]["policies"] == ["affinity"]
    shown = demo.get(f"/v2.1/os-server-groups/{gid}", headers=mv("2.64")).json()
    assert shown["server_group"]["policy"] == "affinity"
    assert "policies" not in shown["server_group"]
    demo.delete(f"/v2.1/os-server-groups/{gid}")
