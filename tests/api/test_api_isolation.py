"""Tenant isolation as a matrix: every resource of project ``demo`` under
every verb, tried by another project (404: it does not exist for them) and
every admin-only operation tried by a member (403).  Admins reach other
projects' resources."""

from __future__ import annotations

import pytest
from api_support import assert_nova_error, boot, cinder_url, delete_all, ssh_public_key, wait_status


@pytest.fixture(scope="module")
def owned(demo, other, catalog_ids):
    """One of each of demo's resources, and how to name them in a path."""
    sid = boot(demo, catalog_ids, "isolated", metadata={"k": "v"})
    wait_status(demo, sid, {"ACTIVE"})
    rid = demo.get(f"/v2.1/servers/{sid}/os-instance-actions").json()[
        "instanceActions"][0]["request_id"]
    gid = demo.post("/v2.1/os-server-groups", json={"server_group": {
        "name": "iso", "policies": ["affinity"]}}).json()["server_group"]["id"]
    demo.post("/v2.1/os-keypairs", json={"keypair": {"name": "iso-key",
                                                     "public_key": ssh_public_key()}})
    vid = demo.post(f"{cinder_url(demo)}/volumes",
                    json={"volume": {"size": 1}}).json()["volume"]["id"]
    yield {"sid": sid, "rid": rid, "gid": gid, "vid": vid,
           "other_project": other.keystone.project_id}
    delete_all(demo, [sid])
    demo.delete(f"/v2.1/os-server-groups/{gid}")
    demo.delete("/v2.1/os-keypairs/iso-key")
    demo.delete(f"{cinder_url(demo)}/volumes/{vid}")


# (method, path, body): another project must get 404 for each.
NOT_THEIRS = [
    ("get", "/v2.1/servers/{sid}", None),
    ("put", "/v2.1/servers/{sid}", {"server": {"name": "stolen"}}),
    ("delete", "/v2.1/servers/{sid}", None),
    ("post", "/v2.1/servers/{sid}/action", {"os-stop": None}),
    ("post", "/v2.1/servers/{sid}/action", {"reboot": {"type": "SOFT"}}),
    ("get", "/v2.1/servers/{sid}/metadata", None),
    ("post", "/v2.1/servers/{sid}/metadata", {"metadata": {"x": "y"}}),
    ("put", "/v2.1/servers/{sid}/metadata", {"metadata": {}}),
    ("get", "/v2.1/servers/{sid}/metadata/k", None),
    ("put", "/v2.1/servers/{sid}/metadata/k", {"meta": {"k": "w"}}),
    ("delete", "/v2.1/servers/{sid}/metadata/k", None),
    ("get", "/v2.1/servers/{sid}/os-instance-actions", None),
    ("get", "/v2.1/servers/{sid}/os-instance-actions/{rid}", None),
    ("get", "/v2.1/os-server-groups/{gid}", None),
    ("delete", "/v2.1/os-server-groups/{gid}", None),
    ("get", "/v2.1/os-keypairs/iso-key", None),
    ("delete", "/v2.1/os-keypairs/iso-key", None),
    ("get", "/volume/v3/{other_project}/volumes/{vid}", None),
    ("delete", "/volume/v3/{other_project}/volumes/{vid}", None),
]


@pytest.mark.parametrize("method, path, body", NOT_THEIRS,
                         ids=[f"{m} {p}" for m, p, _ in NOT_THEIRS])
def test_another_project_gets_404(other, owned, method, path, body):
    url = path.format(**owned)
    resp = other.request(method, url, json=body) if body is not None else \
        other.request(method, url)
    assert_nova_error(resp, 404, "itemNotFound")


def test_nothing_changed_for_the_owner(demo, owned):
    s = demo.get(f"/v2.1/servers/{owned['sid']}").json()["server"]
    assert (s["name"], s["status"], s["metadata"]) == ("isolated", "ACTIVE", {"k": "v"})
    assert demo.get(f"/v2.1/os-server-groups/{owned['gid']}").status_code == 200
    assert demo.get("/v2.1/os-keypairs/iso-key").status_code == 200
    assert demo.get(f"{cinder_url(demo)}/volumes/{owned['vid']}").status_code == 200


@pytest.mark.parametrize("path, key", [
    ("/v2.1/servers", "servers"),
    ("/v2.1/servers/detail", "servers"),
    ("/v2.1/os-server-groups", "server_groups"),
    ("/v2.1/os-keypairs", "keypairs"),
    ("/volume/v3/{other_project}/volumes", "volumes"),
])
def test_lists_of_another_project_leave_them_out(other, owned, path, key):
    text = other.get(path.format(**owned)).text
    assert owned["sid"] not in text and owned["gid"] not in text
    assert owned["vid"] not in text and "iso-key" not in text


# (method, path, body): members get 403 for each.
ADMIN_ONLY = [
    ("get", "/v2.1/servers?all_tenants=1", None),
    ("get", "/v2.1/servers/detail?all_tenants=true", None),
    ("post", "/v2.1/flavors", {"flavor": {"name": "f", "ram": 1, "vcpus": 1, "disk": 0}}),
    ("delete", "/v2.1/flavors/1", None),
    ("post", "/v2.1/flavors/1/os-extra_specs", {"extra_specs": {"a": "b"}}),
    ("put", "/v2.1/flavors/1/os-extra_specs/a", {"a": "b"}),
    ("delete", "/v2.1/flavors/1/os-extra_specs/a", None),
    ("get", "/v2.1/os-availability-zone/detail", None),
    ("get", "/v2.1/os-quota-sets/demo", None),
    ("put", "/v2.1/os-quota-sets/other", {"quota_set": {"instances": 99}}),
    ("delete", "/v2.1/os-quota-sets/other", None),
    ("get", "/v2.1/limits?tenant_id=demo", None),
    ("get", "/v2.1/os-hypervisors", None),
    ("get", "/v2.1/os-services", None),
    ("post", "/networking/v2.0/networks", {"network": {"name": "n"}}),
    ("post", "/networking/v2.0/subnets", {"subnet": {"cidr": "10.9.0.0/24",
                                                     "network_id": "n-1"}}),
]


@pytest.mark.parametrize("method, path, body", ADMIN_ONLY,
                         ids=[f"{m} {p}" for m, p, _ in ADMIN_ONLY])
def test_member_gets_403_for_admin_operations(other, method, path, body):
    resp = other.request(method, path, json=body) if body is not None else \
        other.request(method, path)
    assert_nova_error(resp, 403, "forbidden")


def test_admin_reaches_other_projects_with_all_tenants(admin, owned, demo_project):
    listed = admin.get(f"/v2.1/servers?all_tenants=1&project_id={demo_project}"
                       ).json()["servers"]
    assert owned["sid"] in {s["id"] for s in listed}
    assert owned["sid"] not in admin.get("/v2.1/servers").text  # not without all_tenants
    shown = admin.get(f"/v2.1/servers/{owned['sid']}").json()["server"]
    assert shown["tenant_id"] == demo_project and shown["OS-EXT-SRV-ATTR:host"]
    assert admin.get(f"/v2.1/os-server-groups/{owned['gid']}").status_code == 200
    mine = admin.keystone.project_id
    assert admin.get(f"/volume/v3/{mine}/volumes/{owned['vid']}").status_code == 200
    listed = admin.get(f"/volume/v3/{mine}/volumes?all_tenants=1").json()["volumes"]
    assert owned["vid"] in {v["id"] for v in listed}
