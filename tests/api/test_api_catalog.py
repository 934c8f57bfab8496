"""The local catalog in Glance v2, Neutron v2.0 and Cinder v3 shapes:
discovery without a token, lists and lookups by name, admin-only writes."""

from __future__ import annotations

import hashlib

from api_support import assert_nova_error, boot, cinder_url, delete_all, wait_status


def test_version_discovery_of_image_network_and_volume(anon, stack):
    images = anon.get("/image/").json()["versions"]
    assert images[0]["id"] == "v2.16" and images[0]["status"] == "CURRENT"
    assert images[0]["links"][0]["href"] == f"{stack.api_url}/image/v2/"
    nets = anon.get("/networking/").json()["versions"]
    assert nets == [{"id": "v2.0", "status": "CURRENT", "links": [
        {"rel": "self", "href": f"{stack.api_url}/networking/v2.0/"}]}]
    (vol,) = anon.get("/volume/").json()["versions"]
    assert (vol["id"], vol["min_version"]) == ("v3.0", "3.0")


def test_images_by_name_and_admin_upload(demo, admin, catalog_ids):
    (cirros,) = demo.get("/image/v2/images?name=cirros").json()["images"]
    assert cirros["id"] == catalog_ids["image"] and cirros["status"] == "active"
    assert cirros["os_distro"] == "cirros"  # properties sit at the top level, as in Glance
    assert demo.get(f"/image/v2/images?id=in:{catalog_ids['image']},x").json()["images"]
    assert demo.get(f"/image/v2/images/{catalog_ids['image']}").json()["name"] == "cirros"
    assert_nova_error(demo.get("/image/v2/images/cirros"), 404, "itemNotFound")

    assert_nova_error(demo.post("/image/v2/images", json={"name": "mine"}), 403, "forbidden")
    made = admin.post("/image/v2/images", json={
        "name": "api-img", "disk_format": "raw", "container_format": "bare",
        "visibility": "private", "hw_disk_bus": "scsi"})
    assert made.status_code == 201 and made.json()["status"] == "queued"
    img = made.json()["id"]
    try:
        up = admin.put(f"/image/v2/images/{img}/file", content=b"x" * 4096,
                       headers={"Content-Type": "application/octet-stream"})
        assert up.status_code == 204
        shown = admin.get(f"/image/v2/images/{img}").json()
        assert (shown["status"], shown["size"], shown["hw_disk_bus"]) == ("active", 4096, "scsi")
        # Kept, and served back as Glance does, with Glance's hashes.
        got = admin.get(f"/image/v2/images/{img}/file")
        assert got.status_code == 200 and got.content == b"x" * 4096
        assert shown["os_hash_algo"] == "sha512"
        assert shown["os_hash_value"] == hashlib.sha512(b"x" * 4096).hexdigest()
        assert got.headers["content-md5"] == shown["checksum"]
        # Private to the admin project.
        assert_nova_error(demo.get(f"/image/v2/images/{img}"), 404, "itemNotFound")
    finally:
        assert admin.delete(f"/image/v2/images/{img}").status_code == 204


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
