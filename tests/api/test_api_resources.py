"""Key pairs, server groups, flavors (admin side), availability zones,
limits and quota sets, in Nova's shapes."""

from __future__ import annotations

import base64
import hashlib

from api_support import assert_nova_error, delete_all, mv, ssh_public_key


def test_keypair_import_fingerprint_and_lifecycle(demo, other, admin):
    public = ssh_public_key()
    blob = base64.b64decode(public.split()[1])
    expected = ":".join(f"{b:02x}" for b in hashlib.md5(blob).digest())
    resp = demo.post("/v2.1/os-keypairs", headers=mv("2.2"),
                     json={"keypair": {"name": "k-import", "public_key": public}})
    assert resp.status_code == 201, resp.text
    kp = resp.json()["keypair"]
    assert (kp["fingerprint"], kp["type"]) == (expected, "ssh")
    assert kp["user_id"] == demo.keystone.user_id
    assert "private_key" not in kp
    try:
        listed = demo.get("/v2.1/os-keypairs").json()["keypairs"]
        assert {"name": "k-import", "public_key": public, "fingerprint": expected} in \
            [k["keypair"] for k in listed]
        shown = demo.get("/v2.1/os-keypairs/k-import").json()["keypair"]
        assert shown["user_id"] == demo.keystone.user_id and shown["deleted"] is False
        # Key pairs belong to their user: others do not see them, admins may (2.10).
        assert_nova_error(other.get("/v2.1/os-keypairs/k-import"), 404, "itemNotFound",
                          f"Keypair k-import not found for user {other.keystone.user_id}")
        assert admin.get(f"/v2.1/os-keypairs/k-import?user_id={demo.keystone.user_id}",
                         headers=mv("2.10")).status_code == 200
        assert_nova_error(other.get(f"/v2.1/os-keypairs/k-import?user_id={demo.keystone.user_id}",
                                    headers=mv("2.10")), 403, "forbidden")
    finally:
        assert demo.delete("/v2.1/os-keypairs/k-import").status_code == 202
    assert_nova_error(demo.get("/v2.1/os-keypairs/k-import"), 404, "itemNotFound")


def test_keypair_generation_and_bad_keys(demo):
    made = demo.post("/v2.1/os-keypairs", json={"keypair": {"name": "k-gen"}}).json()
    assert made["keypair"]["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert made["keypair"]["public_key"].startswith("ssh-rsa ")
    demo.delete("/v2.1/os-keypairs/k-gen")
    # From 2.92 Nova no longer generates keys.
    assert_nova_error(demo.post("/v2.1/os-keypairs", headers=mv("2.92"),
                                json={"keypair": {"name": "k-none"}}), 400, "badRequest")
    assert_nova_error(demo.post("/v2.1/os-keypairs", json={"keypair": {
        "name": "k-bad", "public_key": "ssh-rsa not-a-key"}}), 400, "badRequest",
        "Keypair data is invalid")
    assert_nova_error(demo.post("/v2.1/os-keypairs", json={"keypair": {
        "name": "bad/name", "public_key": ssh_public_key()}}), 400, "badRequest",
        "unsafe characters")


def test_server_groups_shapes_policies_and_members(demo, other, catalog_ids):
    v264 = mv("2.64")
    resp = demo.post("/v2.1/os-server-groups", headers=v264, json={"server_group": {
        "name": "anti", "policy": "anti-affinity", "rules": {"max_server_per_host": 2}}})
    assert resp.status_code == 200, resp.text
    group = resp.json()["server_group"]
    assert (group["policy"], group["rules"], group["members"]) == \
        ("anti-affinity", {"max_server_per_host": 2}, [])
    assert (group["project_id"], group["user_id"]) == (demo.keystone.project_id,
                                                  demo.keystone.user_id)
    gid = group["id"]
    sid = None
    try:
        body = {"server": {"name": "grouped", "flavorRef": "1",
                           "imageRef": catalog_ids["image"],
                           "networks": [{"uuid": catalog_ids["network"]}]},
                "os:scheduler_hints": {"group": gid}}
        sid = demo.post("/v2.1/servers", json=body).json()["server"]["id"]
        shown = demo.get(f"/v2.1/os-server-groups/{gid}").json()["server_group"]
        assert shown["members"] == [sid] and shown["policies"] == ["anti-affinity"]
        assert gid in {g["id"] for g in
                       demo.get("/v2.1/os-server-groups").json()["server_groups"]}
        assert gid not in {g["id"] for g in
                           other.get("/v2.1/os-server-groups").json()["server_groups"]}
        assert_nova_error(other.get(f"/v2.1/os-server-groups/{gid}"), 404, "itemNotFound")
    finally:
        if sid:
            delete_all(demo, [sid])
        assert demo.delete(f"/v2.1/os-server-groups/{gid}").status_code == 204
    for headers, body, message in [
        (v264, {"name": "g", "policy": "affinity", "rules": {"max_server_per_host": 1}},
         "Only anti-affinity policy supports rules."),
        (mv("2.14"), {"name": "g", "policies": ["soft-affinity"]}, "is not one of"),
        ({}, {"name": "g", "policies": ["affinity", "anti-affinity"]}, "exactly one"),
        (v264, {"name": "", "policy": "affinity"}, "name"),
    ]:
        assert_nova_error(demo.post("/v2.1/os-server-groups", headers=headers,
                                    json={"server_group": body}), 400, "badRequest", message)


def test_flavor_admin_create_extra_specs_and_delete(demo, admin):
    body = {"flavor": {"name": "api.custom", "id": "api-custom", "ram": 256, "vcpus": 1,
                       "disk": 1, "os-flavor-access:is_public": False}}
    resp = admin.post("/v2.1/flavors", json=body)
    assert resp.status_code == 200, resp.text
    assert resp.json()["flavor"]["os-flavor-access:is_public"] is False
    try:
        assert_nova_error(admin.post("/v2.1/flavors", json=body), 409, "conflictingRequest",
                          "already exists")
        # Private flavors are for admins to list; members never see them.
        assert "api-custom" in {f["id"] for f in admin.get(
            "/v2.1/flavors?is_public=false").json()["flavors"]}
        assert "api-custom" not in {f["id"] for f in admin.get("/v2.1/flavors").json()[
            "flavors"]}
        assert "api-custom" not in {f["id"] for f in demo.get(
            "/v2.1/flavors?is_public=none").json()["flavors"]}

        specs = "/v2.1/flavors/api-custom/os-extra_specs"
        assert admin.post(specs, json={"extra_specs": {"hw:cpu_policy": "dedicated",
                                                       "quota:n": 5}}).json() == \
            {"extra_specs": {"hw:cpu_policy": "dedicated", "quota:n": "5"}}
        assert admin.put(f"{specs}/quota:n", json={"quota:n": "6"}).json() == {"quota:n": "6"}
        assert admin.get(f"{specs}/quota:n").json() == {"quota:n": "6"}
        # A private flavor is not found by projects without access (Nova's query).
        assert_nova_error(demo.get(f"{specs}/quota:n"), 404, "itemNotFound")
        assert_nova_error(demo.post(specs, json={"extra_specs": {"a": "b"}}), 403, "forbidden")
        assert admin.delete(f"{specs}/quota:n").status_code == 202
        shown = admin.get("/v2.1/flavors/api-custom", headers=mv("2.61")).json()["flavor"]
        assert shown["extra_specs"] == {"hw:cpu_policy": "dedicated"}
        assert shown["ram"] == 256 and shown["swap"] == ""  # 0 shows as "" before 2.75
        described = admin.put("/v2.1/flavors/api-custom", headers=mv("2.55"),
                              json={"flavor": {"description": "for tests"}})
        assert described.json()["flavor"]["description"] == "for tests"
        assert_nova_error(admin.post("/v2.1/flavors", json={"flavor": {
            "name": "x", "ram": 0, "vcpus": 1, "disk": 0}}), 400, "badRequest")
    finally:
        assert admin.delete("/v2.1/flavors/api-custom").status_code == 202
    assert_nova_error(demo.get("/v2.1/flavors/api-custom"), 404, "itemNotFound")


def test_flavor_list_pagination_and_filters(demo):
    page = demo.get("/v2.1/flavors?limit=2").json()
    assert [f["id"] for f in page["flavors"]] == ["1", "2"]
    rest = demo.get(page["flavors_links"][0]["href"]).json()["flavors"]
    assert rest[0]["id"] == "3"
    big = demo.get("/v2.1/flavors?minRam=8192").json()["flavors"]
    assert {f["name"] for f in big} >= {"m1.large", "m1.xlarge"}
    assert "m1.tiny" not in {f["name"] for f in big}
    assert_nova_error(demo.get("/v2.1/flavors?minRam=lots"), 400, "badRequest",
                      "minRam")


def test_availability_zones(demo, admin, stack):
    zones = {z["zoneName"]: z for z in
             demo.get("/v2.1/os-availability-zone").json()["availabilityZoneInfo"]}
    assert zones["nova"]["zoneState"] == {"available": True} and zones["nova"]["hosts"] is None
    assert "az2" in zones
    assert_nova_error(demo.get("/v2.1/os-availability-zone/detail"), 403, "forbidden")
    detail = {z["zoneName"]: z for z in
              admin.get("/v2.1/os-availability-zone/detail").json()["availabilityZoneInfo"]}
    hosts = {h for z in detail.values() for h in z["hosts"]}
    assert set(stack.stack.running_hosts) <= hosts
    svc = detail["nova"]["hosts"]["host-1"]["nova-compute"]
    assert svc["available"] is True and svc["active"] is True


def test_limits_keys_follow_the_version(demo, admin):
    old = demo.get("/v2.1/limits").json()["limits"]
    assert old["rate"] == [] and "maxSecurityGroups" in old["absolute"]
    assert "maxPersonality" in old["absolute"] and "maxImageMeta" in old["absolute"]
    new = demo.get("/v2.1/limits", headers=mv("2.57")).json()["limits"]["absolute"]
    assert not {"maxSecurityGroups", "maxPersonality", "maxImageMeta"} & set(new)
    assert {"maxTotalInstances", "maxTotalCores", "maxTotalRAMSize", "totalInstancesUsed",
            "maxServerGroups", "maxTotalKeypairs"} <= set(new)
    assert_nova_error(demo.get("/v2.1/limits?tenant_id=other"), 403, "forbidden")
    assert admin.get("/v2.1/limits?tenant_id=demo").status_code == 200


def test_quota_sets_are_readable_by_their_project_and_set_by_admins(demo, admin, stack):
    mine = demo.get(f"/v2.1/os-quota-sets/{demo.keystone.project_id}").json()["quota_set"]
    assert mine["id"] == demo.keystone.project_id
    assert mine["key_pairs"] == stack.stack.settings.quota.key_pairs
    assert "floating_ips" in mine  # gone at 2.36
    assert "floating_ips" not in demo.get(f"/v2.1/os-quota-sets/{demo.keystone.project_id}",
                                          headers=mv("2.36")).json()["quota_set"]
    assert_nova_error(demo.get("/v2.1/os-quota-sets/other"), 403, "forbidden")
    assert_nova_error(demo.put(f"/v2.1/os-quota-sets/{demo.keystone.project_id}",
                               json={"quota_set": {"instances": 100}}), 403, "forbidden")
    assert_nova_error(admin.put("/v2.1/os-quota-sets/qs-test",
                                json={"quota_set": {"instances": -2}}), 400, "badRequest")
    assert_nova_error(admin.put("/v2.1/os-quota-sets/qs-test",
                                json={"quota_set": {"gpus": 1}}), 400, "badRequest")
    defaults = demo.get("/v2.1/os-quota-sets/demo/defaults").json()["quota_set"]
    assert defaults["metadata_items"] == 128
