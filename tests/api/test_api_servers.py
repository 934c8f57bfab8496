"""Servers over HTTP: create validation and options, multi-create, list
filters and pagination, update, metadata, instance actions and quotas."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

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
from stack import wait_for

from api.errors import Forbidden
from api.quotas import enforce_quota

BAD_UUID = "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize("change, message", [
    ({"flavorRef": None}, "'flavorRef' is a required property"),
    ({"flavorRef": "no-such-flavor"}, "Flavor no-such-flavor could not be found."),
    ({"imageRef": None}, "'imageRef' is a required property"),
    ({"imageRef": BAD_UUID}, f"Image {BAD_UUID} could not be found."),
    # Glance and the network service are asked side by side: the image still wins.
    ({"imageRef": BAD_UUID, "networks": [{"uuid": BAD_UUID}]},
     f"Image {BAD_UUID} could not be found."),
    ({"networks": [{"uuid": BAD_UUID}]}, f"Network {BAD_UUID} could not be found."),
    ({"key_name": "no-such-key", "networks": [{"uuid": BAD_UUID}]},
     "Invalid key_name provided."),
    ({"name": " padded"}, "is not a 'name'"),
    ({"networks": [{"uuid": "not-a-uuid"}]}, "network uuid is not in proper format"),
    ({"key_name": "no-such-key"}, "Invalid key_name provided."),
    ({"user_data": "not base64!"}, "is not a 'base64'"),
    ({"user_data": "QUFB" * 20000}, "User data too large"),
    ({"metadata": {"k": 1}}, "1 is not of type 'string'"),
    ({"metadata": "x"}, "is not of type 'object'"),
    ({"min_count": 3, "max_count": 2}, "min_count must be <= max_count"),
    ({"description": "only from 2.19"}, "'description' was unexpected"),
    ({"unknown": 1}, "'unknown' was unexpected"),
    ({"security_groups": ["default"]}, "security_groups"),
    ({"block_device_mapping_v2": [{"source_type": "snapshot", "uuid": BAD_UUID}]},
     "Block Device Mapping is Invalid"),
    ({"block_device_mapping_v2": [{"source_type": "image", "destination_type": "volume",
                                   "uuid": BAD_UUID, "boot_index": 0}]},
     "need to have a non-zero size specified"),
    ({"block_device_mapping_v2": [{"source_type": "volume", "uuid": BAD_UUID,
                                   "boot_index": 0}]},
     f"failed to get volume {BAD_UUID}"),
    ({"block_device_mapping_v2": [{"source_type": "volume", "uuid": BAD_UUID,
                                   "boot_index": 1}]},
     "Boot sequence for the instance"),
])
def test_create_rejects_bad_requests_with_novas_400(demo, catalog_ids, change, message):
    body = {"name": "bad", "flavorRef": "1", "imageRef": catalog_ids["image"],
            "networks": [{"uuid": catalog_ids["network"]}]}
    for k, v in change.items():
        if v is None:
            body.pop(k)
        else:
            body[k] = v
    assert_nova_error(demo.post("/v2.1/servers", json={"server": body}), 400, "badRequest",
                      message)


def test_create_with_key_user_data_metadata_zone_and_security_groups(demo, admin,
                                                                    catalog_ids):
    key = demo.post("/v2.1/os-keypairs", json={"keypair": {"name": "boot-key",
                                                           "public_key": ssh_public_key()}})
    assert key.status_code == 200
    user_data = base64.b64encode(b"#cloud-config\nhostname: opts\n").decode()
    web = demo.post("/networking/v2.0/security-groups", json={"security_group": {
        "name": "web"}}).json()["security_group"]
    resp = demo.post("/v2.1/servers", json={"server": {
        "name": "opts", "flavorRef": "1", "imageRef": catalog_ids["image"],
        "networks": [{"uuid": catalog_ids["network"]}], "key_name": "boot-key",
        "user_data": user_data, "metadata": {"role": "web"}, "availability_zone": "nova",
        "security_groups": [{"name": "default"}, {"name": "web"}]}})
    assert resp.status_code == 202, resp.text
    created = resp.json()["server"]
    assert created["security_groups"] == [{"name": "default"}, {"name": "web"}]
    assert resp.headers["Location"].endswith(f"/v2.1/servers/{created['id']}")
    try:
        s = wait_status(demo, created["id"], {"ACTIVE", "ERROR"})
        assert s["status"] == "ACTIVE", s.get("fault")
        assert (s["key_name"], s["metadata"]) == ("boot-key", {"role": "web"})
        assert s["OS-EXT-AZ:availability_zone"] == "nova"
        assert sorted(g["name"] for g in s["security_groups"]) == ["default", "web"]
        seen = server(admin, created["id"], "2.3")
        assert seen["OS-EXT-SRV-ATTR:user_data"] == user_data
        assert seen["OS-EXT-SRV-ATTR:reservation_id"].startswith("r-")
        assert (seen["OS-EXT-SRV-ATTR:launch_index"], seen["OS-EXT-SRV-ATTR:hostname"]) \
            == (0, "opts")
        assert "OS-EXT-SRV-ATTR:user_data" not in server(demo, created["id"], "2.3")
    finally:
        delete_all(demo, [created["id"]])
        demo.delete("/v2.1/os-keypairs/boot-key")
        demo.delete(f"/networking/v2.0/security-groups/{web['id']}")


def test_multi_create_filters_and_pagination(project_client, admin, catalog_ids):
    pager = project_client("pager:pages")
    started = datetime.now(UTC) - timedelta(seconds=1)
    resp = pager.post("/v2.1/servers", json={"server": {
        "name": "p", "flavorRef": "1", "imageRef": catalog_ids["image"],
        "networks": [{"uuid": catalog_ids["network"]}], "min_count": 2, "max_count": 3,
        "return_reservation_id": True}})
    assert resp.status_code == 202 and list(resp.json()) == ["reservation_id"]
    rid = resp.json()["reservation_id"]
    listed = pager.get(f"/v2.1/servers?reservation_id={rid}").json()["servers"]
    ids = {s["name"]: s["id"] for s in listed}
    assert sorted(ids) == ["p-1", "p-2", "p-3"]
    try:
        for name, sid in ids.items():
            s = server(admin, sid, "2.3")
            assert s["OS-EXT-SRV-ATTR:launch_index"] == int(name[-1]) - 1
            assert s["OS-EXT-SRV-ATTR:reservation_id"] == rid

        # Pages of two, newest first, with a next link only while more remain.
        page1 = pager.get("/v2.1/servers/detail?limit=2").json()
        assert [s["name"] for s in page1["servers"]] == ["p-3", "p-2"]
        (link,) = page1["servers_links"]
        assert link["rel"] == "next" and f"marker={ids['p-2']}" in link["href"]
        page2 = pager.get(link["href"]).json()
        assert [s["name"] for s in page2["servers"]] == ["p-1"]
        assert "servers_links" not in page2
        # A marker need not pass the filters, only be visible.
        after = pager.get(f"/v2.1/servers?name=p-1&marker={ids['p-3']}").json()["servers"]
        assert [s["name"] for s in after] == ["p-1"]
        for bad in ("marker=" + BAD_UUID, "limit=abc", "limit=-1"):
            assert_nova_error(pager.get(f"/v2.1/servers?{bad}"), 400, "badRequest")

        assert len(pager.get("/v2.1/servers?name=^p-[12]$").json()["servers"]) == 2
        assert pager.get(f"/v2.1/servers?image={catalog_ids['image']}&flavor=1") \
            .json()["servers"] != []
        assert pager.get("/v2.1/servers?flavor=2").json()["servers"] == []
        for sid in ids.values():
            wait_status(pager, sid, {"ACTIVE"})
        assert len(pager.get("/v2.1/servers?status=ACTIVE").json()["servers"]) == 3
        assert pager.get("/v2.1/servers?status=SHUTOFF").json()["servers"] == []
        host = server(admin, ids["p-1"])["OS-EXT-SRV-ATTR:host"]
        by_host = admin.get("/v2.1/servers", params={
            "all_tenants": 1, "project_id": pager.keystone.project_id, "host": host})
        assert ids["p-1"] in {s["id"] for s in by_host.json()["servers"]}
        # A member's host filter is ignored, as in Nova.
        assert len(pager.get("/v2.1/servers?host=nowhere").json()["servers"]) == 3
        assert_nova_error(pager.get("/v2.1/servers?all_tenants=1"), 403, "forbidden")

        pager.delete(f"/v2.1/servers/{ids['p-1']}")
        wait_for(lambda: pager.get(f"/v2.1/servers/{ids['p-1']}").status_code == 404, 30)
        since = started.strftime("%Y-%m-%dT%H:%M:%SZ")
        changed = pager.get(f"/v2.1/servers/detail?changes-since={since}").json()["servers"]
        assert {s["name"]: s["status"] for s in changed}["p-1"] == "DELETED"
        assert "p-1" not in {s["name"] for s in pager.get("/v2.1/servers").json()["servers"]}
    finally:
        delete_all(pager, [ids["p-2"], ids["p-3"]])


def test_update_name_and_description(demo, other, catalog_ids):
    sid = boot(demo, catalog_ids, "before")
    try:
        resp = demo.put(f"/v2.1/servers/{sid}", json={"server": {"name": "after"}})
        assert resp.status_code == 200 and resp.json()["server"]["name"] == "after"
        resp = demo.put(f"/v2.1/servers/{sid}", headers=mv("2.19"),
                        json={"server": {"description": "now described"}})
        assert resp.json()["server"]["description"] == "now described"
        assert_nova_error(demo.put(f"/v2.1/servers/{sid}",
                                   json={"server": {"description": "too early"}}),
                          400, "badRequest")
        assert_nova_error(other.put(f"/v2.1/servers/{sid}", json={"server": {"name": "x"}}),
                          404, "itemNotFound")
        assert server(demo, sid)["name"] == "after"
        # accessIPv4/v6 are kept and read back (Nova's formats, normalised).
        resp = demo.put(f"/v2.1/servers/{sid}", json={"server": {
            "accessIPv4": "192.0.2.10", "accessIPv6": "2001:DB8::1"}})
        assert resp.json()["server"]["accessIPv4"] == "192.0.2.10"
        shown = server(demo, sid)
        assert (shown["accessIPv4"], shown["accessIPv6"]) == ("192.0.2.10", "2001:db8::1")
        for bad in ({"accessIPv4": "2001:db8::1"}, {"accessIPv4": ""}, {"accessIPv6": "1.2"}):
            assert_nova_error(demo.put(f"/v2.1/servers/{sid}", json={"server": bad}), 400,
                              "badRequest")
    finally:
        delete_all(demo, [sid])


def test_bodies_keep_to_novas_keys_and_the_workflow_is_a_header(demo, admin, catalog_ids):
    """Every response here is checked against Nova's schema of its microversion
    (tests/compute_schemas.py); novaflow's workflow is in headers, for admins."""
    sid = boot(demo, catalog_ids, "shapes")
    try:
        for version in ("2.1", "2.3", "2.26", "2.47", "2.71", "2.75", "2.90", "2.96"):
            shown = admin.get(f"/v2.1/servers/{sid}", headers=mv(version))
            assert not [k for k in shown.json()["server"] if k.startswith("novaflow")]
            assert shown.headers["Novaflow-Workflow"] == f"boot-{sid}"
            updated = admin.put(f"/v2.1/servers/{sid}", headers=mv(version),
                                json={"server": {"name": "shapes"}})
            full = tuple(map(int, version.split("."))) >= (2, 75)  # Nova's update shows all
            assert ("OS-EXT-STS:vm_state" in updated.json()["server"]) == full
        assert "Novaflow-Workflow" not in demo.get(f"/v2.1/servers/{sid}").headers
    finally:
        delete_all(demo, [sid])


def test_metadata_routes(demo, catalog_ids):
    sid = boot(demo, catalog_ids, "meta", metadata={"a": "1"})
    base = f"/v2.1/servers/{sid}/metadata"
    try:
        wait_status(demo, sid, {"ACTIVE"})
        assert demo.post(base, json={"metadata": {"b": "2"}}).json() == \
            {"metadata": {"a": "1", "b": "2"}}
        assert demo.get(f"{base}/b").json() == {"meta": {"b": "2"}}
        assert demo.put(f"{base}/c", json={"meta": {"c": "3"}}).json() == {"meta": {"c": "3"}}
        assert_nova_error(demo.put(f"{base}/c", json={"meta": {"d": "4"}}), 400,
                          "badRequest", "Request body and URI mismatch")
        assert demo.delete(f"{base}/a").status_code == 204
        assert_nova_error(demo.get(f"{base}/a"), 404, "itemNotFound")
        assert demo.put(base, json={"metadata": {"only": "this"}}).json() == \
            {"metadata": {"only": "this"}}
        assert server(demo, sid)["metadata"] == {"only": "this"}
    finally:
        delete_all(demo, [sid])


def test_metadata_of_a_server_in_error_is_409(demo, stack, catalog_ids):
    from sqlmodel import select

    from schema.models import Flavor
    with stack.db.writer() as s:
        if s.exec(select(Flavor).where(Flavor.flavorid == "api-huge")).first() is None:
            s.add(Flavor(flavorid="api-huge", name="api-huge", vcpus=4096,
                         memory_mb=64 * 1024 * 1024, root_gb=1))
    sid = boot(demo, catalog_ids, "meta-error", flavor="api-huge")
    try:
        wait_status(demo, sid, {"ERROR"})
        assert_nova_error(demo.post(f"/v2.1/servers/{sid}/metadata",
                                    json={"metadata": {"x": "y"}}),
                          409, "conflictingRequest", "while it is in vm_state error")
    finally:
        delete_all(demo, [sid])


def test_instance_actions_and_request_ids(demo, admin, catalog_ids):
    body = {"server": {"name": "acts", "flavorRef": "1", "imageRef": catalog_ids["image"],
                       "networks": [{"uuid": catalog_ids["network"]}]}}
    resp = demo.post("/v2.1/servers", json=body)
    sid, create_rid = resp.json()["server"]["id"], resp.headers["x-openstack-request-id"]
    assert resp.headers["x-compute-request-id"] == create_rid
    base = f"/v2.1/servers/{sid}/os-instance-actions"
    wait_status(demo, sid, {"ACTIVE"})
    (action,) = demo.get(base).json()["instanceActions"]
    assert (action["action"], action["request_id"]) == ("create", create_rid)
    assert action["project_id"] == demo.keystone.project_id and action["start_time"]

    old = demo.get(f"{base}/{create_rid}").json()["instanceAction"]
    assert "events" not in old  # members see events from 2.51
    member = demo.get(f"{base}/{create_rid}", headers=mv("2.62")).json()["instanceAction"]
    events = {e["event"]: e for e in member["events"]}
    assert "mark_active" in events and events["mark_active"]["result"] == "Success"
    assert all("traceback" not in e and "host" not in e for e in member["events"])
    assert events["mark_active"]["hostId"]
    shown = admin.get(f"{base}/{create_rid}", headers=mv("2.62"))
    seen = shown.json()["instanceAction"]
    assert all("traceback" in e for e in seen["events"])
    assert any(e["host"].startswith("host-") for e in seen["events"])
    # novaflow's workflow id: a header for admins, never a key in Nova's body.
    assert shown.headers["Novaflow-Workflow"] == f"boot-{sid}"
    assert "Novaflow-Workflow" not in demo.get(f"{base}/{create_rid}").headers
    assert_nova_error(demo.get(f"{base}/req-unknown"), 404, "itemNotFound")

    delete = demo.delete(f"/v2.1/servers/{sid}")
    wait_for(lambda: demo.get(f"/v2.1/servers/{sid}").status_code == 404, 30)
    # A deleted server's actions stay readable from 2.21.
    after = demo.get(base, headers=mv("2.21")).json()["instanceActions"]
    assert [a["action"] for a in after] == ["delete", "create"]
    assert after[0]["request_id"] == delete.headers["x-openstack-request-id"]
    assert_nova_error(demo.get(base), 404, "itemNotFound")


def test_quota_exceeded_and_quota_sets(project_client, admin, stack, catalog_ids):
    q = project_client("qa:quota1")
    quota1 = q.keystone.project_id
    qs = f"/v2.1/os-quota-sets/{quota1}"
    assert admin.put(qs, json={"quota_set": {"instances": 2, "metadata_items": 1}}) \
        .status_code == 200
    made: list[str] = []
    try:
        # A multi-create shrinks to what the quota allows (at least min_count).
        resp = q.post("/v2.1/servers", json={"server": {
            "name": "q", "flavorRef": "1", "imageRef": catalog_ids["image"],
            "networks": [{"uuid": catalog_ids["network"]}], "max_count": 3,
            "return_reservation_id": True}})
        rid = resp.json()["reservation_id"]
        made = [s["id"] for s in
                q.get(f"/v2.1/servers?reservation_id={rid}").json()["servers"]]
        assert len(made) == 2
        resp = q.post("/v2.1/servers", json={"server": {
            "name": "q3", "flavorRef": "1", "imageRef": catalog_ids["image"],
            "networks": [{"uuid": catalog_ids["network"]}]}})
        assert_nova_error(resp, 403, "forbidden", "Quota exceeded for instances: Requested 1, "
                                                  "but already used 2 of 2 instances")
        absolute = q.get("/v2.1/limits").json()["limits"]["absolute"]
        assert (absolute["maxTotalInstances"], absolute["totalInstancesUsed"]) == (2, 2)
        assert absolute["totalCoresUsed"] == 2 and absolute["totalRAMUsed"] == 1024

        wait_status(q, made[0], {"ACTIVE"})
        assert_nova_error(q.post(f"/v2.1/servers/{made[0]}/metadata",
                                 json={"metadata": {"a": "1", "b": "2"}}),
                          403, "forbidden", "Maximum number of metadata items exceeds 1")
        # Lowering a limit under what is used needs force.
        assert_nova_error(admin.put(qs, json={"quota_set": {"instances": 1}}), 400,
                          "badRequest", "must be greater than or equal to already used")
        raised = {"quota_set": {"instances": 5, "cores": 3, "ram": 4096}}
        assert admin.put(qs, json=raised).status_code == 200
        resp = q.post("/v2.1/servers", json={"server": {
            "name": "big", "flavorRef": "3", "imageRef": catalog_ids["image"],
            "networks": [{"uuid": catalog_ids["network"]}]}})
        assert_nova_error(resp, 403, "forbidden", "Quota exceeded for cores: Requested 2, "
                                                  "but already used 2 of 3 cores")
        # The helper a resize calls says the same.
        with stack.db.reader() as s, pytest.raises(Forbidden, match="Quota exceeded for ram"):
            enforce_quota(s, quota1, 0, 0, 10**9, settings=stack.stack.settings)
        detail = q.get(f"{qs}/detail").json()["quota_set"]
        assert detail["instances"] == {"in_use": 2, "limit": 5, "reserved": 0}
    finally:
        assert admin.delete(qs).status_code == 202
        delete_all(q, made)
    defaults = stack.stack.settings.quota
    assert q.get(qs).json()["quota_set"]["instances"] == defaults.instances
