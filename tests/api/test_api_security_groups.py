"""Security groups, end to end: the Neutron stand-in's security-groups API
(a default group per project, rules checked in Neutron's words, a group in
use kept), the groups a boot asks for applied to the ports novaflow makes
(an unknown one is Nova's 400, leaving nothing behind), the server's groups
in its view and in os-security-groups, and addSecurityGroup /
removeSecurityGroup, over HTTP and through the ``openstack`` CLI."""

from __future__ import annotations

import uuid

from api_support import assert_nova_error, boot, delete_all, server, wait_status

N = "/networking/v2.0"


def ports_of(admin, server_id: str) -> list[dict]:
    return admin.get(f"{N}/ports", params={"device_id": server_id}).json()["ports"]


def make_group(client, name: str, description: str = "") -> dict:
    resp = client.post(f"{N}/security-groups", json={"security_group": {
        "name": name, "description": description}})
    assert resp.status_code == 201, resp.text
    return resp.json()["security_group"]


def add_rule(client, group_id: str, **rule) -> dict:
    resp = client.post(f"{N}/security-group-rules", json={"security_group_rule": {
        "security_group_id": group_id, "direction": "ingress", **rule}})
    assert resp.status_code == 201, resp.text
    return resp.json()["security_group_rule"]


def default_group(client) -> dict:
    (group,) = client.get(f"{N}/security-groups", params={"name": "default"}).json()[
        "security_groups"]
    return group


def test_a_project_gets_a_default_group_with_neutrons_rules(project_client):
    fresh = project_client(f"sg-{uuid.uuid4().hex[:6]}:sg-fresh-{uuid.uuid4().hex[:6]}")
    project = fresh.keystone.project_id
    group = default_group(fresh)
    assert (group["project_id"], group["description"]) == (project, "Default security group")
    rules = {(r["direction"], r["ethertype"], r["remote_group_id"])
             for r in group["security_group_rules"]}
    assert rules == {("egress", "IPv4", None), ("egress", "IPv6", None),
                     ("ingress", "IPv4", group["id"]), ("ingress", "IPv6", group["id"])}
    # Only one, however often it is asked for.
    assert default_group(fresh)["id"] == group["id"]
    # Not renamed, not deleted by a member, not made twice.
    assert_nova_error(fresh.put(f"{N}/security-groups/{group['id']}", json={
        "security_group": {"name": "renamed"}}), 409, "conflictingRequest",
        "Updating default security group not allowed.")
    assert_nova_error(fresh.delete(f"{N}/security-groups/{group['id']}"), 409,
                      "conflictingRequest", "Insufficient rights for removing default")
    assert_nova_error(fresh.post(f"{N}/security-groups", json={"security_group": {
        "name": "default"}}), 409, "conflictingRequest", "Default security group already")


def test_groups_and_rules_as_neutron_checks_them(demo, other, catalog_ids):
    group = make_group(demo, "sg-api", "web servers")
    gid = group["id"]
    try:
        assert {(r["direction"], r["ethertype"]) for r in group["security_group_rules"]} \
            == {("egress", "IPv4"), ("egress", "IPv6")}
        ssh = add_rule(demo, gid, protocol="tcp", port_range_min=22, port_range_max=22,
                       remote_ip_prefix="10.0.0.0/8")
        assert (ssh["protocol"], ssh["port_range_min"], ssh["port_range_max"],
                ssh["ethertype"], ssh["remote_ip_prefix"]) == ("tcp", 22, 22, "IPv4",
                                                               "10.0.0.0/8")
        assert_nova_error(demo.post(f"{N}/security-group-rules", json={
            "security_group_rule": {"security_group_id": gid, "direction": "ingress",
                                    "protocol": "6", "port_range_min": 22,
                                    "port_range_max": 22, "remote_ip_prefix": "10.0.0.0/8"}}),
            409, "conflictingRequest", f"Rule id is {ssh['id']}")
        for bad, message in (
                ({"protocol": "bogus"}, "Security group rule protocol bogus not supported"),
                ({"port_range_min": 80}, "Must also specify protocol if port range is given"),
                ({"protocol": "tcp", "port_range_min": 90, "port_range_max": 80},
                 "port_range_min must be <= port_range_max"),
                ({"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"},
                 "Conflicting value ethertype IPv6 for CIDR 10.0.0.0/8"),
                ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": gid},
                 "Only remote_ip_prefix or remote_group_id may be provided."),
                ({"direction": "sideways"}, "Invalid input for direction")):
            assert_nova_error(demo.post(f"{N}/security-group-rules", json={
                "security_group_rule": {"security_group_id": gid, "direction": "ingress",
                                        **bad}}), 400, "badRequest", message)
        web = add_rule(demo, gid, protocol="tcp", port_range_min=80, port_range_max=80,
                       remote_group_id=gid)
        assert demo.get(f"{N}/security-group-rules/{web['id']}").json()[
            "security_group_rule"]["remote_group_id"] == gid
        listed = demo.get(f"{N}/security-group-rules",
                          params={"security_group_id": gid}).json()["security_group_rules"]
        assert {r["id"] for r in listed} >= {ssh["id"], web["id"]} and len(listed) == 4
        assert demo.delete(f"{N}/security-group-rules/{web['id']}").status_code == 204
        assert_nova_error(demo.get(f"{N}/security-group-rules/{web['id']}"), 404,
                          "itemNotFound", f"Security group rule {web['id']} does not exist")

        # Filters; another project neither sees nor uses the group.
        (found,) = demo.get(f"{N}/security-groups", params={"name": "sg-api"}).json()[
            "security_groups"]
        assert found["id"] == gid and len(found["security_group_rules"]) == 3
        assert demo.get(f"{N}/security-groups", params={"id": gid}).json()[
            "security_groups"][0]["name"] == "sg-api"
        assert other.get(f"{N}/security-groups", params={"name": "sg-api"}).json()[
            "security_groups"] == []
        assert_nova_error(other.get(f"{N}/security-groups/{gid}"), 404, "itemNotFound",
                          f"Security group {gid} does not exist")
        renamed = demo.put(f"{N}/security-groups/{gid}", json={"security_group": {
            "name": "sg-api-2", "description": "renamed"}})
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["security_group"]["name"] == "sg-api-2"

        # Ports: the project's default group unless told otherwise; a group in use stays.
        plain = demo.post(f"{N}/ports", json={"port": {"network_id": catalog_ids["network"]}})
        assert plain.status_code == 201, plain.text
        assert plain.json()["port"]["security_groups"] == [default_group(demo)["id"]]
        demo.delete(f"{N}/ports/{plain.json()['port']['id']}")
        assert_nova_error(other.post(f"{N}/ports", json={"port": {
            "network_id": catalog_ids["network"], "security_groups": [gid]}}), 404,
            "itemNotFound", f"Security group {gid} does not exist")
        made = demo.post(f"{N}/ports", json={"port": {"network_id": catalog_ids["network"],
                                                      "security_groups": [gid]}})
        assert made.status_code == 201, made.text
        port_id = made.json()["port"]["id"]
        assert made.json()["port"]["security_groups"] == [gid]
        assert_nova_error(demo.delete(f"{N}/security-groups/{gid}"), 409,
                          "conflictingRequest", f"Security Group {gid} in use.")
        cleared = demo.put(f"{N}/ports/{port_id}", json={"port": {"security_groups": []}})
        assert cleared.json()["port"]["security_groups"] == []
        assert demo.get(f"{N}/ports/{port_id}").json()["port"]["security_groups"] == []
        assert demo.delete(f"{N}/ports/{port_id}").status_code == 204
    finally:
        assert demo.delete(f"{N}/security-groups/{gid}").status_code == 204
    assert demo.get(f"{N}/security-groups/{gid}").status_code == 404


def test_boot_applies_the_requested_groups_and_the_server_shows_them(demo, admin,
                                                                     catalog_ids):
    web = make_group(demo, "sg-boot-web")
    rule = add_rule(demo, web["id"], protocol="tcp", port_range_min=80, port_range_max=80)
    sid = boot(demo, catalog_ids, "sg-boot", security_groups=[{"name": "sg-boot-web"}])
    try:
        wait_status(demo, sid, {"ACTIVE"})
        (port,) = ports_of(admin, sid)
        assert port["security_groups"] == [web["id"]]  # not the default group
        assert server(demo, sid)["security_groups"] == [{"name": "sg-boot-web"}]
        detail = demo.get("/v2.1/servers/detail", params={"name": "^sg-boot$"}).json()
        assert detail["servers"][0]["security_groups"] == [{"name": "sg-boot-web"}]

        resp = demo.get(f"/v2.1/servers/{sid}/os-security-groups")
        assert resp.status_code == 200, resp.text
        (shown,) = resp.json()["security_groups"]
        assert (shown["id"], shown["name"], shown["tenant_id"]) == (
            web["id"], "sg-boot-web", demo.keystone.project_id)
        # Nova shows the ingress rules only, in its own shape.
        assert shown["rules"] == [{
            "id": rule["id"], "parent_group_id": web["id"], "ip_protocol": "tcp",
            "from_port": 80, "to_port": 80, "group": {}, "ip_range": {"cidr": "0.0.0.0/0"}}]
    finally:
        delete_all(demo, [sid])
        demo.delete(f"{N}/security-groups/{web['id']}")


def test_an_unknown_group_is_novas_400_and_leaves_nothing(demo, admin, catalog_ids):
    ports_before = {p["id"] for p in admin.get(f"{N}/ports").json()["ports"]}
    resp = demo.post("/v2.1/servers", json={"server": {
        "name": "sg-unknown", "flavorRef": "1", "imageRef": catalog_ids["image"],
        "networks": [{"uuid": catalog_ids["network"]}],
        "security_groups": [{"name": "default"}, {"name": "sg-no-such"}]}})
    assert_nova_error(resp, 400, "badRequest",
                      "Unable to find security_group with name or id 'sg-no-such'")
    assert demo.get("/v2.1/servers", params={"name": "^sg-unknown$"}).json()["servers"] == []
    assert {p["id"] for p in admin.get(f"{N}/ports").json()["ports"]} == ports_before
    # A name two groups share is Nova's 409.
    twins = [make_group(demo, "sg-twin") for _ in range(2)]
    try:
        assert_nova_error(demo.post("/v2.1/servers", json={"server": {
            "name": "sg-unknown", "flavorRef": "1", "imageRef": catalog_ids["image"],
            "networks": [{"uuid": catalog_ids["network"]}],
            "security_groups": [{"name": "sg-twin"}]}}), 409, "conflictingRequest",
            "Multiple security_group matches found for name 'sg-twin'")
    finally:
        for twin in twins:
            demo.delete(f"{N}/security-groups/{twin['id']}")
    # Another project's group is unknown too.
    theirs = admin.post(f"{N}/security-groups", json={"security_group": {
        "name": "sg-admins"}}).json()["security_group"]
    try:
        assert_nova_error(demo.post("/v2.1/servers", json={"server": {
            "name": "sg-unknown", "flavorRef": "1", "imageRef": catalog_ids["image"],
            "networks": [{"uuid": catalog_ids["network"]}],
            "security_groups": [{"name": theirs["id"]}]}}), 400, "badRequest",
            f"Unable to find security_group with name or id '{theirs['id']}'")
    finally:
        admin.delete(f"{N}/security-groups/{theirs['id']}")


def test_add_and_remove_a_group_on_every_port(demo, other, reader, admin, catalog_ids):
    db = make_group(demo, "sg-actions-db")
    sid = boot(demo, catalog_ids, "sg-actions")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        assert server(demo, sid)["security_groups"] == [{"name": "default"}]
        action = f"/v2.1/servers/{sid}/action"
        resp = demo.post(action, json={"addSecurityGroup": {"name": "sg-actions-db"}})
        assert resp.status_code == 202, resp.text
        assert server(demo, sid)["status"] == "ACTIVE"  # no task was started
        # (A port's groups come in no particular order, as in Neutron.)
        assert sorted(g["name"] for g in server(demo, sid)["security_groups"]) == [
            "default", "sg-actions-db"]
        (port,) = ports_of(admin, sid)
        assert db["id"] in port["security_groups"]
        names = [g["name"] for g in demo.get(f"/v2.1/servers/{sid}/os-security-groups")
                 .json()["security_groups"]]
        assert names == ["default", "sg-actions-db"]

        # Nova's faults.
        assert_nova_error(demo.post(action, json={"addSecurityGroup": {"name": "sg-none"}}),
                          404, "itemNotFound", "Security group sg-none is not found for "
                          f"project {demo.keystone.project_id}")
        assert_nova_error(demo.post(action, json={"addSecurityGroup": {"name": " "}}), 400,
                          "badRequest", "Security group name cannot be empty")
        assert_nova_error(demo.post(action, json={"addSecurityGroup": {}}), 400,
                          "badRequest", "'name' is a required property")
        assert_nova_error(reader.post(action, json={"addSecurityGroup": {
            "name": "sg-actions-db"}}), 403, "forbidden", "os-security-groups:add")
        assert reader.get(f"/v2.1/servers/{sid}/os-security-groups").status_code == 200
        assert_nova_error(other.post(action, json={"addSecurityGroup": {
            "name": "default"}}), 404, "itemNotFound")
        assert_nova_error(other.get(f"/v2.1/servers/{sid}/os-security-groups"), 404,
                          "itemNotFound")

        resp = demo.post(action, json={"removeSecurityGroup": {"name": "default"}})
        assert resp.status_code == 202, resp.text
        assert server(demo, sid)["security_groups"] == [{"name": "sg-actions-db"}]
        assert_nova_error(demo.post(action, json={"removeSecurityGroup": {
            "name": "default"}}), 404, "itemNotFound",
            f"Security group default not associated with the instance {sid}")
    finally:
        delete_all(demo, [sid])
        demo.delete(f"{N}/security-groups/{db['id']}")


def test_security_groups_through_the_openstack_cli(osc, demo, admin, catalog_ids):
    made = osc.json("security", "group", "create", "--description", "from the CLI",
                    "sg-cli")
    assert (made["name"], made["description"]) == ("sg-cli", "from the CLI")
    listed = osc.json("security", "group", "list")
    assert {"sg-cli", "default"} <= {g["Name"] for g in listed}
    sid = boot(demo, catalog_ids, "sg-cli-server")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        osc("server", "add", "security", "group", sid, "sg-cli")
        assert made["id"] in ports_of(admin, sid)[0]["security_groups"]
        assert {"name": "sg-cli"} in server(demo, sid, "2.1")["security_groups"]
        osc("server", "remove", "security", "group", sid, "sg-cli")
        assert made["id"] not in ports_of(admin, sid)[0]["security_groups"]
        assert server(demo, sid, "2.79")["security_groups"] == [{"name": "default"}]
    finally:
        delete_all(demo, [sid])
        osc("security", "group", "delete", "sg-cli")
    assert "sg-cli" not in {g["Name"] for g in osc.json("security", "group", "list")}
