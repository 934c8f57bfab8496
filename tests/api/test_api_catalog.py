"""The local catalog in Neutron v2.0 and Cinder v3 shapes: discovery without
a token, lists and lookups by name, admin-only writes.  (Images: a real
Glance, tests/api/test_api_glance.py.)"""

from __future__ import annotations

from api_support import assert_nova_error, boot, cinder_url, delete_all, wait_status


def test_version_discovery_of_network_and_volume(anon, stack):
    nets = anon.get("/networking/").json()["versions"]
    assert nets == [{"id": "v2.0", "status": "CURRENT", "links": [
        {"rel": "self", "href": f"{stack.api_url}/networking/v2.0/"}]}]
    (vol,) = anon.get("/volume/").json()["versions"]
    assert (vol["id"], vol["min_version"]) == ("v3.0", "3.0")
    # Images are no longer the API's: a real Glance serves them.
    assert anon.get("/image/v2/images").status_code == 404


def test_networks_subnets_and_ports(demo, other, admin, catalog_ids):
    (net,) = demo.get("/networking/v2.0/networks?name=private").json()["networks"]
    assert net["id"] == catalog_ids["network"] and net["shared"] is True
    (subnet,) = demo.get(f"/networking/v2.0/subnets?network_id={net['id']}").json()["subnets"]
    assert subnet["cidr"] == "10.0.0.0/22" and subnet["id"] in net["subnets"]
    assert subnet["allocation_pools"] == [{"start": "10.0.0.2", "end": "10.0.3.254"}]

    sid = boot(demo, catalog_ids, "ported")
    try:
        addr = wait_status(demo, sid, {"ACTIVE"})["addresses"]["private"][0]["addr"]
        (port,) = demo.get(f"/networking/v2.0/ports?device_id={sid}").json()["ports"]
        assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": addr}]
        assert port["device_owner"] == "compute:nova"
        assert port["project_id"] == demo.keystone.project_id
        assert other.get(f"/networking/v2.0/ports?device_id={sid}").json()["ports"] == []
        assert_nova_error(other.get(f"/networking/v2.0/ports/{port['id']}"), 404,
                          "itemNotFound")
    finally:
        delete_all(demo, [sid])

    assert_nova_error(demo.post("/networking/v2.0/networks", json={"network": {"name": "n"}}),
                      403, "forbidden")
    made = admin.post("/networking/v2.0/networks",
                      json={"network": {"name": "api-net", "project_id": "eveproj"}})
    assert made.status_code == 201
    nid = made.json()["network"]["id"]
    sn = admin.post("/networking/v2.0/subnets", json={"subnet": {
        "network_id": nid, "cidr": "192.168.50.0/24", "name": "api-sub"}})
    assert sn.status_code == 201 and sn.json()["subnet"]["gateway_ip"] == "192.168.50.1"
    # Not shared: only its project and admins see it.
    assert demo.get("/networking/v2.0/networks?name=api-net").json()["networks"] == []
    assert admin.delete(f"/networking/v2.0/networks/{nid}").status_code == 204


def test_volumes_in_cinders_shape(demo, other):
    made = demo.post(f"{cinder_url(demo)}/volumes", json={"volume": {"size": 2, "name": "v"}})
    assert made.status_code == 202, made.text
    vol = made.json()["volume"]
    assert (vol["status"], vol["size"], vol["bootable"], vol["attachments"]) == \
        ("available", 2, "false", [])
    try:
        used = demo.get(f"{cinder_url(demo)}/limits").json()["limits"]["absolute"]
        assert used["totalVolumesUsed"] >= 1 and used["totalGigabytesUsed"] >= 2
        summary = demo.get(f"{cinder_url(demo)}/volumes").json()["volumes"]
        assert {"id", "name", "links"} == set(next(v for v in summary if v["id"] == vol["id"]))
        detail = demo.get(f"{cinder_url(demo)}/volumes/detail").json()["volumes"]
        assert vol["id"] in {v["id"] for v in detail}
        # Cinder refuses a URL for another project than the token's.
        assert_nova_error(other.get(f"{cinder_url(demo)}/volumes"), 400, "badRequest",
                          "Malformed request url")
        assert_nova_error(other.get(f"{cinder_url(other)}/volumes/{vol['id']}"), 404,
                          "itemNotFound")
        assert_nova_error(demo.post(f"{cinder_url(demo)}/volumes",
                                    json={"volume": {"size": 0}}), 400, "badRequest")
    finally:
        assert demo.delete(f"{cinder_url(demo)}/volumes/{vol['id']}").status_code == 202
    assert_nova_error(demo.get(f"{cinder_url(demo)}/volumes/{vol['id']}"), 404, "itemNotFound")
