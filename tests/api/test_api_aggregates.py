"""os-aggregates: admin CRUD, host membership, metadata, Nova's zone rules
(a host in one zone, no rename while servers run there, the default zone),
the 2.81 image-cache request, and the openstack CLI's aggregate commands."""

from __future__ import annotations

import uuid

from api_support import assert_nova_error, boot, delete_all, mv, server, wait_status

AGG = "/v2.1/os-aggregates"


def _free_host(admin, stack) -> str:
    """A running host in the default zone with no servers on it."""
    for host in sorted(stack.stack.running_hosts):
        zones = admin.get("/v2.1/os-availability-zone/detail").json()["availabilityZoneInfo"]
        in_nova = any(host in (z["hosts"] or {}) for z in zones if z["zoneName"] == "nova")
        busy = admin.get(f"/v2.1/servers?all_tenants=1&host={host}").json()["servers"]
        if in_nova and not busy:
            return host
    raise AssertionError("no free host in the default zone")


def _action(client, agg_id, body, version="2.1"):
    return client.post(f"{AGG}/{agg_id}/action", json=body, headers=mv(version))


def test_aggregate_crud_policy_and_errors(admin, demo):
    name = f"agg-{uuid.uuid4().hex[:8]}"
    assert_nova_error(demo.get(AGG), 403, "forbidden", "os_compute_api:os-aggregates:index")
    assert_nova_error(demo.post(AGG, json={"aggregate": {"name": name}}), 403, "forbidden")
    resp = admin.post(AGG, json={"aggregate": {"name": name, "availability_zone": "az-crud"}})
    assert resp.status_code == 200, resp.text
    created = resp.json()["aggregate"]
    # Nova's create answer has neither hosts nor metadata; uuid appears at 2.41.
    assert {"hosts", "metadata", "uuid"}.isdisjoint(created)
    assert (created["name"], created["availability_zone"], created["deleted"]) == \
        (name, "az-crud", False)
    agg_id = created["id"]
    try:
        assert_nova_error(admin.post(AGG, json={"aggregate": {"name": name}}), 409,
                          "conflictingRequest", f"Aggregate {name} already exists.")
        assert_nova_error(admin.post(AGG, json={"aggregate": {"name": " pad"}}), 400,
                          "badRequest", "Can not start or end with whitespace")
        assert_nova_error(admin.post(AGG, json={"aggregate": {"name": "x",
                                                              "availability_zone": "a:b"}}),
                          400, "badRequest", "except :")
        assert_nova_error(admin.post(AGG, json={"aggregate": {"name": "x", "extra": 1}}),
                          400, "badRequest", "'extra' was unexpected")
        shown = admin.get(f"{AGG}/{agg_id}", headers=mv("2.41")).json()["aggregate"]
        assert shown["hosts"] == [] and shown["metadata"] == {"availability_zone": "az-crud"}
        assert len(shown["uuid"]) == 36
        assert agg_id in {a["id"] for a in admin.get(AGG).json()["aggregates"]}
        assert_nova_error(demo.get(f"{AGG}/{agg_id}"), 403, "forbidden")
        assert_nova_error(admin.get(f"{AGG}/nope"), 400, "badRequest",
                          "id must be an integer")
        assert_nova_error(admin.get(f"{AGG}/987654"), 404, "itemNotFound",
                          "Aggregate 987654 could not be found.")
        # Update: name stripped (Nova normalises it), zone renamed (no servers there).
        updated = admin.put(f"{AGG}/{agg_id}", json={"aggregate": {
            "name": f" {name}-2 ", "availability_zone": "az-crud2"}}).json()["aggregate"]
        assert (updated["name"], updated["availability_zone"]) == (f"{name}-2", "az-crud2")
        assert updated["updated_at"] is not None
        assert_nova_error(admin.put(f"{AGG}/{agg_id}", json={"aggregate": {}}), 400,
                          "badRequest")
        assert_nova_error(admin.put(f"{AGG}/{agg_id}", json={"aggregate": {
            "availability_zone": None}}), 400, "badRequest",
            "does not support empty named availability zone")
        # set_metadata: a null value removes the key; members are refused by rule.
        meta = _action(admin, agg_id, {"set_metadata": {"metadata": {
            "ssd": "true", "gpu": "1"}}}).json()["aggregate"]["metadata"]
        assert meta == {"availability_zone": "az-crud2", "ssd": "true", "gpu": "1"}
        meta = _action(admin, agg_id, {"set_metadata": {"metadata": {"gpu": None}}}
                       ).json()["aggregate"]["metadata"]
        assert meta == {"availability_zone": "az-crud2", "ssd": "true"}
        assert_nova_error(_action(demo, agg_id, {"set_metadata": {"metadata": {}}}), 403,
                          "forbidden", "os_compute_api:os-aggregates:set_metadata")
        assert_nova_error(_action(admin, agg_id, {"add_host": {"host": "no-such-host"}}),
                          404, "itemNotFound", "Compute host no-such-host could not be found.")
        assert_nova_error(_action(admin, agg_id, {"remove_host": {"host": "host-1"}}), 404,
                          "itemNotFound", f"Cannot remove host host-1 in aggregate {agg_id}")
        assert_nova_error(_action(admin, agg_id, {"add_host": {"host": "bad host"}}), 400,
                          "badRequest")
        assert_nova_error(_action(admin, agg_id, {"grow": {}}), 400, "badRequest")
        assert_nova_error(_action(demo, agg_id, {"grow": {}}), 403, "forbidden")
    finally:
        assert admin.delete(f"{AGG}/{agg_id}").status_code == 200
    assert_nova_error(admin.get(f"{AGG}/{agg_id}"), 404, "itemNotFound")


def test_image_cache_request_is_2_81_and_validated(admin, demo, catalog_ids):
    agg_id = admin.post(AGG, json={"aggregate": {"name": f"cache-{uuid.uuid4().hex[:6]}"}}
                        ).json()["aggregate"]["id"]
    url, image = f"{AGG}/{agg_id}/images", catalog_ids["image"]
    try:
        body = {"cache": [{"id": image}]}
        assert_nova_error(admin.post(url, json=body, headers=mv("2.80")), 404, "itemNotFound")
        assert admin.post(url, json=body, headers=mv("2.81")).status_code == 202
        assert_nova_error(demo.post(url, json=body, headers=mv("2.81")), 403, "forbidden",
                          "compute:aggregates:images")
        assert_nova_error(admin.post(url, json={"cache": [{"id": image}, {"id": image}]},
                                     headers=mv("2.81")), 400, "badRequest",
                          "Duplicate images in request")
        assert_nova_error(admin.post(url, json={"cache": []}, headers=mv("2.81")), 400,
                          "badRequest")
        missing = str(uuid.uuid4())
        assert_nova_error(admin.post(url, json={"cache": [{"id": missing}]},
                                     headers=mv("2.81")), 400, "badRequest",
                          f"Image {missing} could not be found.")
        assert_nova_error(admin.post(f"{AGG}/987654/images", json=body, headers=mv("2.81")),
                          404, "itemNotFound")
    finally:
        admin.delete(f"{AGG}/{agg_id}")


def test_zone_rules_with_a_server_in_the_zone(admin, demo, stack, catalog_ids):
    host = _free_host(admin, stack)
    zone, other_zone = f"az-{uuid.uuid4().hex[:6]}", f"az-{uuid.uuid4().hex[:6]}"
    agg = admin.post(AGG, json={"aggregate": {"name": zone, "availability_zone": zone}}
                     ).json()["aggregate"]["id"]
    agg2 = admin.post(AGG, json={"aggregate": {"name": other_zone,
                                               "availability_zone": other_zone}}
                      ).json()["aggregate"]["id"]
    sid = None
    try:
        added = _action(admin, agg, {"add_host": {"host": host}}).json()["aggregate"]
        assert added["hosts"] == [host]
        assert_nova_error(_action(admin, agg, {"add_host": {"host": host}}), 409,
                          "conflictingRequest", f"Aggregate {agg} already has host {host}.")
        # A host is in one zone only.
        assert_nova_error(_action(admin, agg2, {"add_host": {"host": host}}), 409,
                          "conflictingRequest",
                          f"One or more hosts already in availability zone(s) ['{zone}']")
        # The zone is listed (the host left the default zone) and bootable.
        zones = {z["zoneName"]: z for z in admin.get("/v2.1/os-availability-zone/detail")
                 .json()["availabilityZoneInfo"]}
        assert host in zones[zone]["hosts"] and host not in zones["nova"]["hosts"]
        sid = boot(demo, catalog_ids, "in-zone", availability_zone=zone)
        wait_status(demo, sid, {"ACTIVE"})
        shown = server(admin, sid)
        assert (shown["OS-EXT-SRV-ATTR:host"], shown["OS-EXT-AZ:availability_zone"]) == \
            (host, zone)
        # Servers never change zone: no rename, no leaving, no deleting.
        assert_nova_error(admin.put(f"{AGG}/{agg}", json={"aggregate": {
            "availability_zone": f"{zone}-new"}}), 400, "badRequest",
            "One or more hosts contain instances in this zone")
        assert_nova_error(_action(admin, agg, {"set_metadata": {"metadata": {
            "availability_zone": f"{zone}-new"}}}), 400, "badRequest",
            f"Cannot update metadata of aggregate {agg}.")
        assert_nova_error(_action(admin, agg, {"remove_host": {"host": host}}), 409,
                          "conflictingRequest", f"would change from '{zone}' to 'None'")
        assert_nova_error(admin.delete(f"{AGG}/{agg}"), 400, "badRequest",
                          "Host aggregate is not empty")
        # Other metadata may change while servers run.
        assert _action(admin, agg, {"set_metadata": {"metadata": {"k": "v"}}}
                       ).status_code == 200
        delete_all(demo, [sid])
        sid = None
        removed = _action(admin, agg, {"remove_host": {"host": host}}).json()["aggregate"]
        assert removed["hosts"] == []
    finally:
        if sid:
            delete_all(demo, [sid])
        _action(admin, agg, {"remove_host": {"host": host}})
        admin.delete(f"{AGG}/{agg}")
        admin.delete(f"{AGG}/{agg2}")
    zones = {z["zoneName"] for z in admin.get("/v2.1/os-availability-zone")
             .json()["availabilityZoneInfo"]}
    assert zone not in zones and "nova" in zones


def test_aggregates_with_the_cli(osc, admin, stack):
    host = _free_host(admin, stack)
    name = f"cli-{uuid.uuid4().hex[:6]}"
    made = osc.json("aggregate", "create", "--zone", name, "--property", "ssd=true", name,
                    cloud="novaflow-admin")
    try:
        assert made["name"] == name and made["availability_zone"] == name
        osc("aggregate", "add", "host", name, host, cloud="novaflow-admin")
        shown = osc.json("aggregate", "show", name, cloud="novaflow-admin")
        assert shown["hosts"] == [host]
        assert shown["properties"]["ssd"] == "true"
    finally:
        _action(admin, made["id"], {"remove_host": {"host": host}})
        admin.delete(f"{AGG}/{made['id']}")
