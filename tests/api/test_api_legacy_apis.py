"""The APIs Nova keeps for old microversions: each answers at 2.1 (in Nova's
shapes: every response here is checked against tempest's schemas by
tests/compute_schemas.py) and is 404 from the microversion that removed it."""

from __future__ import annotations

from api_support import assert_nova_error, mv


def test_image_proxy_reads_and_deletes_through_the_image_service(demo, admin, catalog_ids, glance):
    image_id = catalog_ids["image"]
    listed = demo.get("/v2.1/images").json()["images"]
    assert image_id in {i["id"] for i in listed}
    detail = {i["id"]: i for i in demo.get("/v2.1/images/detail").json()["images"]}
    cirros = detail[image_id]
    assert cirros["name"] == "cirros" and cirros["status"] == "ACTIVE"
    assert cirros["links"][2]["type"] == "application/vnd.openstack.image"
    shown = demo.get(f"/v2.1/images/{image_id}", headers=mv("2.35")).json()["image"]
    assert shown == cirros
    assert demo.get("/v2.1/images", params={"name": "no-such-image"}).json() == {"images": []}
    meta = demo.get(f"/v2.1/images/{image_id}/metadata", headers=mv("2.38")).json()
    assert meta == {"metadata": cirros["metadata"]}
    assert_nova_error(demo.get(f"/v2.1/images/{image_id}/metadata/no-such-key"), 404,
                      "itemNotFound")
    assert_nova_error(demo.get("/v2.1/images/0e7d4f1c-0000-4000-8000-000000000000"), 404,
                      "itemNotFound", "Image not found.")
    # Removed in 2.36 (the metadata reads in 2.39), as in Nova.
    for path, version in (("/v2.1/images", "2.36"), (f"/v2.1/images/{image_id}", "2.36"),
                          ("/v2.1/images/detail", "latest"),
                          (f"/v2.1/images/{image_id}/metadata", "2.39")):
        assert_nova_error(demo.get(path, headers=mv(version)), 404, "itemNotFound")

    # Deleting goes through the image service too: its rules, its result.
    made = glance("admin").post("/images", json={
        "name": "proxy-delete", "disk_format": "raw", "container_format": "bare"})
    assert made.status_code == 201, made.text
    gone = made.json()["id"]
    # Glance hides another project's private image: Nova's 404.
    assert_nova_error(demo.delete(f"/v2.1/images/{gone}"), 404, "itemNotFound")
    assert admin.delete(f"/v2.1/images/{gone}").status_code == 204
    assert_nova_error(admin.get(f"/v2.1/images/{gone}"), 404, "itemNotFound")


def test_image_metadata_writes_through_the_image_service(demo, other, glance):
    made = glance("demo").post("/images", json={
        "name": "proxy-meta", "disk_format": "raw", "container_format": "bare",
        "kept": "yes"})
    assert made.status_code == 201, made.text
    image_id = made.json()["id"]
    meta = f"/v2.1/images/{image_id}/metadata"
    try:
        merged = demo.post(meta, json={"metadata": {"k1": "v1", "kept": "still"}})
        assert merged.status_code == 200, merged.text
        assert merged.json()["metadata"] == {"kept": "still", "k1": "v1"}
        one = demo.put(f"{meta}/k2", json={"meta": {"k2": "v2"}})
        assert one.status_code == 200 and one.json() == {"meta": {"k2": "v2"}}
        assert_nova_error(demo.put(f"{meta}/k3", json={"meta": {"k2": "v2"}}), 400,
                          "badRequest", "Request body and URI mismatch")
        assert demo.get(meta).json()["metadata"] == {"kept": "still", "k1": "v1", "k2": "v2"}
        assert glance("demo").get(f"/images/{image_id}").json()["k2"] == "v2"
        assert demo.delete(f"{meta}/k1").status_code == 204
        assert_nova_error(demo.delete(f"{meta}/k1"), 404, "itemNotFound",
                          "Invalid metadata key")
        replaced = demo.put(meta, json={"metadata": {"only": "this"}})
        assert replaced.status_code == 200 and replaced.json() == {"metadata": {"only": "this"}}
        assert demo.get(meta).json()["metadata"] == {"only": "this"}
        # Glance hides another project's private image; 2.39 removed the API.
        assert_nova_error(other.post(meta, json={"metadata": {"x": "y"}}), 404, "itemNotFound")
        assert_nova_error(demo.post(meta, json={"metadata": {"x": "y"}}, headers=mv("2.39")),
                          404, "itemNotFound")
    finally:
        glance("demo").delete(f"/images/{image_id}")


def test_os_hosts_until_2_42(admin, demo):
    hosts = admin.get("/v2.1/os-hosts").json()["hosts"]
    computes = [h for h in hosts if h["service"] == "compute"]
    assert computes and "internal" not in {h["zone"] for h in computes}
    name = computes[0]["host_name"]
    assert admin.get("/v2.1/os-hosts", params={"zone": "nowhere"}).json() == {"hosts": []}
    resources = [r["resource"] for r in admin.get(f"/v2.1/os-hosts/{name}").json()["host"]]
    assert [r["project"] for r in resources[:3]] == ["(total)", "(used_now)", "(used_max)"]
    assert resources[0]["cpu"] > 0 and all(r["host"] == name for r in resources)
    # The libvirt driver has no host power or enable calls: Nova's 501.
    for verb in ("reboot", "shutdown", "startup"):
        assert_nova_error(admin.get(f"/v2.1/os-hosts/{name}/{verb}"), 501, "notImplemented")
    assert_nova_error(admin.put(f"/v2.1/os-hosts/{name}", json={"status": "disable"}), 501,
                      "notImplemented")
    assert_nova_error(admin.put(f"/v2.1/os-hosts/{name}", json={"status": "off"}), 400,
                      "badRequest")
    assert_nova_error(admin.put(f"/v2.1/os-hosts/{name}", json={}), 400, "badRequest")
    assert_nova_error(admin.get("/v2.1/os-hosts/no-such-host"), 404, "itemNotFound")
    assert_nova_error(demo.get("/v2.1/os-hosts"), 403, "forbidden")
    assert_nova_error(admin.get("/v2.1/os-hosts", headers=mv("2.43")), 404, "itemNotFound")
    assert_nova_error(admin.get(f"/v2.1/os-hosts/{name}", headers=mv("2.43")), 404,
                      "itemNotFound")


def test_hypervisor_search_servers_and_uptime(admin, demo):
    nodes = admin.get("/v2.1/os-hypervisors").json()["hypervisors"]
    node = nodes[0]
    name = node["hypervisor_hostname"]
    found = admin.get(f"/v2.1/os-hypervisors/{name}/search").json()["hypervisors"]
    assert node in found
    with_servers = admin.get(f"/v2.1/os-hypervisors/{name}/servers",
                             headers=mv("2.52")).json()["hypervisors"]
    assert node["id"] in {h["id"] for h in with_servers}
    assert_nova_error(admin.get("/v2.1/os-hypervisors/zzz-none/search"), 404, "itemNotFound")
    assert_nova_error(demo.get(f"/v2.1/os-hypervisors/{name}/search"), 403, "forbidden")
    for verb in ("search", "servers"):
        assert_nova_error(admin.get(f"/v2.1/os-hypervisors/{name}/{verb}", headers=mv("2.53")),
                          404, "itemNotFound")
    # Uptime: the node and its service are found, then the driver's answer (Nova's
    # 501 for a driver without an uptime call); gone from 2.88.
    assert_nova_error(admin.get(f"/v2.1/os-hypervisors/{node['id']}/uptime"), 501,
                      "notImplemented")
    assert_nova_error(admin.get("/v2.1/os-hypervisors/99999/uptime"), 404, "itemNotFound")
    uuid_id = admin.get("/v2.1/os-hypervisors", headers=mv("2.53")).json()["hypervisors"][0]
    assert_nova_error(admin.get(f"/v2.1/os-hypervisors/{uuid_id['id']}/uptime",
                                headers=mv("2.88")), 404, "itemNotFound")


def test_volume_proxy(demo, reader, catalog_ids):
    made = demo.post("/v2.1/os-volumes", json={"volume": {
        "size": 1, "display_name": "proxied", "display_description": "via nova"}})
    assert made.status_code == 200, made.text
    vol = made.json()["volume"]
    assert made.headers["location"].endswith(f"/os-volumes/{vol['id']}")
    assert (vol["displayName"], vol["size"], vol["attachments"]) == ("proxied", 1, [{}])
    try:
        assert demo.get(f"/v2.1/os-volumes/{vol['id']}").json()["volume"]["id"] == vol["id"]
        assert vol["id"] in {v["id"] for v in reader.get("/v2.1/os-volumes").json()["volumes"]}
        assert vol["id"] in {v["id"] for v in demo.get(
            "/v2.1/os-volumes/detail", headers=mv("2.35")).json()["volumes"]}
        assert_nova_error(reader.post("/v2.1/os-volumes", json={"volume": {"size": 1}}), 403,
                          "forbidden")
        assert_nova_error(demo.post("/v2.1/os-volumes", json={"volume": {"size": 0}}), 400,
                          "badRequest")
        for path in ("/v2.1/os-volumes", f"/v2.1/os-volumes/{vol['id']}"):
            assert_nova_error(demo.get(path, headers=mv("2.36")), 404, "itemNotFound")
    finally:
        assert demo.delete(f"/v2.1/os-volumes/{vol['id']}").status_code == 202
    assert_nova_error(demo.get(f"/v2.1/os-volumes/{vol['id']}"), 404, "itemNotFound")



def test_network_proxies(demo, admin, catalog_ids):
    net_id = catalog_ids["network"]
    tenant = demo.get("/v2.1/os-tenant-networks").json()["networks"]
    assert {"id": net_id, "cidr": "None", "label": "private"} in tenant
    assert demo.get(f"/v2.1/os-tenant-networks/{net_id}").json() == {
        "network": {"id": net_id, "cidr": "None", "label": "private"}}
    member_view = demo.get(f"/v2.1/os-networks/{net_id}").json()["network"]
    assert member_view["label"] == "private" and "bridge" not in member_view
    assert admin.get(f"/v2.1/os-networks/{net_id}").json()["network"]["bridge"] is None
    assert net_id in {n["id"] for n in demo.get("/v2.1/os-networks").json()["networks"]}
    assert_nova_error(demo.get("/v2.1/os-networks/0e7d4f1c-0000-4000-8000-000000000000"), 404,
                      "itemNotFound", "Network not found")
    for path in ("/v2.1/os-networks", f"/v2.1/os-tenant-networks/{net_id}"):
        assert_nova_error(demo.get(path, headers=mv("2.36")), 404, "itemNotFound")
