"""Ports as Nova makes them, through the network API: a port created on the
requested network, bound to the server's host before spawn and deleted
with the server; a pre-created port (``networks: [{port}]``) bound, then
unbound and kept on delete; Nova's 400/409 for ports that cannot be used."""

from __future__ import annotations

from api_support import assert_nova_error, delete_all, mv, server, wait_gone, wait_status


def ports_of(admin, server_id: str) -> list[dict]:
    return admin.get("/networking/v2.0/ports", params={"device_id": server_id}).json()["ports"]


def port_body(port_id: str, name: str, **extra) -> dict:
    return {"server": {"name": name, "flavorRef": "1", "imageRef": extra.pop("image"),
                       "networks": [{"port": port_id}], **extra}}


def test_a_network_boot_creates_a_bound_port_deleted_with_the_server(demo, admin, catalog_ids):
    resp = demo.post("/v2.1/servers", json={"server": {
        "name": "port-net", "flavorRef": "1", "imageRef": catalog_ids["image"],
        "networks": [{"uuid": catalog_ids["network"]}]}})
    assert resp.status_code == 202, resp.text
    sid = resp.json()["server"]["id"]
    wait_status(demo, sid, {"ACTIVE"})
    host = server(admin, sid, "2.1")["OS-EXT-SRV-ATTR:host"]
    (port,) = ports_of(admin, sid)
    assert (port["device_owner"], port["binding:host_id"], port["status"]) == \
        ("compute:nova", host, "ACTIVE")
    assert port["network_id"] == catalog_ids["network"]
    addrs = server(demo, sid)["addresses"]["private"]
    assert addrs[0]["addr"] == port["fixed_ips"][0]["ip_address"]
    delete_all(demo, [sid])
    assert ports_of(admin, sid) == []
    assert admin.get(f"/networking/v2.0/ports/{port['id']}").status_code == 404


def test_a_pre_created_port_is_bound_then_kept_on_delete(demo, other, admin, catalog_ids):
    made = demo.post("/networking/v2.0/ports", json={"port": {
        "network_id": catalog_ids["network"], "name": "mine"}})
    assert made.status_code == 201, made.text
    port_id = made.json()["port"]["id"]
    try:
        # Nova's API checks: one port, one server; another project's port is not found.
        assert_nova_error(demo.post("/v2.1/servers", json=port_body(
            port_id, "two", image=catalog_ids["image"], min_count=2)), 400, "badRequest",
            "Unable to launch multiple instances with a single configured port ID.")
        assert_nova_error(other.post("/v2.1/servers", json=port_body(
            port_id, "theirs", image=catalog_ids["image"])), 400, "badRequest",
            f"Port {port_id} could not be found.")

        resp = demo.post("/v2.1/servers", json=port_body(port_id, "port-own",
                                                          image=catalog_ids["image"]))
        assert resp.status_code == 202, resp.text
        sid = resp.json()["server"]["id"]
        wait_status(demo, sid, {"ACTIVE"})
        host = server(admin, sid)["OS-EXT-SRV-ATTR:host"]
        shown = admin.get(f"/networking/v2.0/ports/{port_id}").json()["port"]
        assert (shown["device_id"], shown["binding:host_id"]) == (sid, host)
        assert_nova_error(demo.post("/v2.1/servers", json=port_body(
            port_id, "again", image=catalog_ids["image"])), 409, "conflictingRequest",
            f"Port {port_id} is still in use.")

        demo.delete(f"/v2.1/servers/{sid}")
        wait_gone(demo, sid)
        kept = admin.get(f"/networking/v2.0/ports/{port_id}").json()["port"]
        assert (kept["device_id"], kept["device_owner"], kept["binding:host_id"]) == \
            ("", "", "")
    finally:
        assert demo.delete(f"/networking/v2.0/ports/{port_id}").status_code == 204


def test_networks_none_boots_without_ports(demo, admin, catalog_ids):
    resp = demo.post("/v2.1/servers", headers=mv("2.37"), json={"server": {
        "name": "no-net", "flavorRef": "1", "imageRef": catalog_ids["image"],
        "networks": "none"}})
    assert resp.status_code == 202, resp.text
    sid = resp.json()["server"]["id"]
    wait_status(demo, sid, {"ACTIVE"})
    assert ports_of(admin, sid) == [] and server(demo, sid)["addresses"] == {}
    delete_all(demo, [sid])


def test_only_admins_bind_ports_to_hosts(demo, catalog_ids):
    resp = demo.post("/networking/v2.0/ports", json={"port": {
        "network_id": catalog_ids["network"], "binding:host_id": "host-1"}})
    assert_nova_error(resp, 403, "forbidden")


def test_a_network_the_caller_may_not_use_is_not_found(demo, other, admin, catalog_ids):
    """Nova asks Neutron as the caller: another project's private network, or
    none at all, is "could not be found" (400) and nothing is made."""
    made = admin.post("/networking/v2.0/networks", json={"network": {
        "name": "admins-own", "shared": False}})
    assert made.status_code == 201, made.text
    private = made.json()["network"]["id"]
    try:
        for net_id in (private, "5b7dd0d2-6b0a-4bb2-9d54-1df3b1b7e8a1"):
            resp = demo.post("/v2.1/servers", json={"server": {
                "name": "nowhere", "flavorRef": "1", "imageRef": catalog_ids["image"],
                "networks": [{"uuid": net_id}]}})
            assert_nova_error(resp, 400, "badRequest", f"Network {net_id} could not be found.")
        listed = demo.get("/v2.1/servers", params={"name": "^nowhere$"}).json()["servers"]
        assert listed == []
    finally:
        admin.delete(f"/networking/v2.0/networks/{private}")


def test_port_filters_are_read_in_the_database_and_match_as_before(demo, other, admin,
                                                                   catalog_ids):
    """Listing by device_id, network_id or id reads just those ports (the
    control plane asks by device_id on every boot), matching either case as
    the other filters do, within what the caller may see."""
    made = [demo.post("/networking/v2.0/ports", json={"port": {
        "network_id": catalog_ids["network"], "device_id": f"dev-filter-{i}",
        "device_owner": "test:filter"}}).json()["port"] for i in range(2)]
    try:
        def listed(who, **params) -> list[str]:
            resp = who.get("/networking/v2.0/ports", params=params)
            assert resp.status_code == 200, resp.text
            return [p["id"] for p in resp.json()["ports"]]

        assert listed(demo, device_id="dev-filter-0") == [made[0]["id"]]
        assert listed(demo, device_id="DEV-FILTER-1") == [made[1]["id"]]
        assert listed(demo, id=made[1]["id"].upper()) == [made[1]["id"]]
        both = listed(demo, device_owner="test:filter", network_id=catalog_ids["network"])
        assert both == [made[0]["id"], made[1]["id"]]
        assert listed(other, device_id="dev-filter-0") == []  # not the other project's
        assert listed(admin, device_id="dev-filter-0") == [made[0]["id"]]
        shown = demo.get(f"/networking/v2.0/ports/{made[0]['id']}")
        assert shown.status_code == 200 and shown.json()["port"]["device_id"] == "dev-filter-0"
        assert other.get(f"/networking/v2.0/ports/{made[0]['id']}").status_code == 404
        net = demo.get(f"/networking/v2.0/networks/{catalog_ids['network']}").json()["network"]
        assert net["id"] == catalog_ids["network"] and net["subnets"]
    finally:
        for p in made:
            admin.delete(f"/networking/v2.0/ports/{p['id']}")
