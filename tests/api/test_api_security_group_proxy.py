"""Nova's security-group proxy (/v2.1/os-security-groups, os-security-group-rules):
groups and rules made, read, changed and deleted in the network service (the
Neutron stand-in) through the compute API, in Nova's shapes (checked against
tempest's schemas by tests/compute_schemas.py) and errors; 404 from 2.36."""

from __future__ import annotations

from api_support import assert_nova_error, mv

_SG, _SGR = "/v2.1/os-security-groups", "/v2.1/os-security-group-rules"
_NOBODY = "0e7d4f1c-0000-4000-8000-00000000cafe"


def _rule(parent: str, **kwargs) -> dict:
    return {"security_group_rule": {"parent_group_id": parent, **kwargs}}


def test_groups_and_rules_through_the_compute_api(demo, reader, demo_project):
    made = demo.post(_SG, json={"security_group": {"name": "proxied", "description": "nova"}})
    assert made.status_code == 200, made.text
    group = made.json()["security_group"]
    gid = group["id"]
    # Neutron's egress rules are not Nova's: a new group shows none.
    assert group == {"id": gid, "name": "proxied", "description": "nova",
                     "tenant_id": demo_project, "rules": []}
    try:
        listed = demo.get(_SG).json()["security_groups"]
        assert {"default", "proxied"} <= {g["name"] for g in listed}
        assert [(g["tenant_id"], g["name"]) for g in listed] == sorted(
            (g["tenant_id"], g["name"]) for g in listed)
        # Nova pages the network service's list, then sorts the page.
        (first,) = demo.get(_SG, params={"limit": 1}).json()["security_groups"]
        assert first in listed
        assert reader.get(f"{_SG}/{gid}").json() == {"security_group": group}

        renamed = demo.put(f"{_SG}/{gid}", json={"security_group": {
            "name": "proxied-2", "description": "changed"}})
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["security_group"]["name"] == "proxied-2"
        assert demo.get(f"{_SG}/{gid}").json()["security_group"]["description"] == "changed"

        ssh = demo.post(_SGR, json=_rule(gid, ip_protocol="tcp", from_port=22, to_port=22,
                                         cidr="10.0.0.0/24"))
        assert ssh.status_code == 200, ssh.text
        ssh_rule = ssh.json()["security_group_rule"]
        assert ssh_rule == {"id": ssh_rule["id"], "parent_group_id": gid,
                            "ip_protocol": "tcp", "from_port": 22, "to_port": 22,
                            "group": {}, "ip_range": {"cidr": "10.0.0.0/24"}}
        assert_nova_error(demo.post(_SGR, json=_rule(
            gid, ip_protocol="tcp", from_port=22, to_port=22, cidr="10.0.0.0/24")),
            400, "badRequest", f"This rule already exists in group {gid}")
        # From a group without ports: every port, the group by name and project.
        peers = demo.post(_SGR, json=_rule(gid, ip_protocol="tcp", group_id=gid))
        assert peers.status_code == 200, peers.text
        peer_rule = peers.json()["security_group_rule"]
        assert (peer_rule["from_port"], peer_rule["to_port"], peer_rule["ip_range"]) == (
            1, 65535, {})
        assert peer_rule["group"] == {"name": "proxied-2", "tenant_id": demo_project}
        shown = demo.get(f"{_SG}/{gid}").json()["security_group"]["rules"]
        assert sorted(r["id"] for r in shown) == sorted([ssh_rule["id"], peer_rule["id"]])

        assert demo.delete(f"{_SGR}/{ssh_rule['id']}").status_code == 202
        assert_nova_error(demo.delete(f"{_SGR}/{ssh_rule['id']}"), 404, "itemNotFound")
        assert [r["id"] for r in demo.get(f"{_SG}/{gid}").json()["security_group"]["rules"]
                ] == [peer_rule["id"]]
    finally:
        assert demo.delete(f"{_SG}/{gid}").status_code == 202
    assert_nova_error(demo.get(f"{_SG}/{gid}"), 404, "itemNotFound")


def test_nova_s_refusals(demo, reader):
    gid = demo.post(_SG, json={"security_group": {"name": "refusals", "description": ""}}
                    ).json()["security_group"]["id"]
    try:
        assert_nova_error(demo.post(_SGR, json=_rule(_NOBODY, ip_protocol="tcp", from_port=1,
                                                     to_port=2)), 404, "itemNotFound")
        assert_nova_error(demo.post(_SGR, json=_rule(gid, ip_protocol="tcp", from_port=1,
                                                     to_port=2, group_id=_NOBODY)),
                          404, "itemNotFound")
        assert_nova_error(demo.post(_SGR, json=_rule(gid, ip_protocol="tcp", from_port=1,
                                                     to_port=2, cidr="10.0.0.300/24")),
                          400, "badRequest", "is not a valid IP network")
        assert_nova_error(demo.post(_SGR, json=_rule(gid, ip_protocol="tcp", from_port=1,
                                                     to_port=2, cidr="10.1.0.0/0")),
                          400, "badRequest", "Bad prefix for network in cidr")
        assert_nova_error(demo.post(_SGR, json=_rule(gid, cidr="10.0.0.0/8")), 400,
                          "badRequest", "Not enough parameters to build a valid rule.")
        assert_nova_error(demo.post(_SGR, json=_rule(gid, ip_protocol="tcp", from_port=30,
                                                     to_port=20)),
                          400, "badRequest", "Invalid port range 30:20")
        assert_nova_error(demo.post(_SGR, json=_rule(gid, ip_protocol="gre", from_port=1,
                                                     to_port=2)),
                          400, "badRequest", "Invalid IP protocol gre.")
        assert_nova_error(demo.post(_SGR, json=_rule(gid, ip_protocol="tcp", from_port="a",
                                                     to_port=[2])),
                          400, "badRequest", "must be integers")
        assert_nova_error(demo.post(_SGR, json=_rule("not-a-uuid")), 400, "badRequest")
        assert_nova_error(demo.post(_SG, json={"security_group": {"name": "x"}}), 400,
                          "badRequest")
        assert_nova_error(demo.get(f"{_SG}/not-a-uuid"), 400, "badRequest",
                          "Security group id should be uuid")
        assert_nova_error(demo.get(f"{_SG}/{_NOBODY}"), 404, "itemNotFound")
        assert_nova_error(demo.delete(f"{_SGR}/{_NOBODY}"), 404, "itemNotFound")
        assert_nova_error(demo.get(_SG, params={"limit": "x"}), 400, "badRequest")

        assert reader.get(_SG).status_code == 200
        assert_nova_error(reader.post(_SG, json={"security_group": {
            "name": "r", "description": ""}}), 403, "forbidden")
        assert_nova_error(reader.delete(f"{_SG}/{gid}"), 403, "forbidden")
        assert_nova_error(reader.post(_SGR, json=_rule(gid, ip_protocol="icmp", from_port=-1,
                                                       to_port=-1)), 403, "forbidden")

        for path in (_SG, f"{_SG}/{gid}"):
            assert_nova_error(demo.get(path, headers=mv("2.36")), 404, "itemNotFound")
        assert_nova_error(demo.post(_SG, headers=mv("2.36"), json={"security_group": {
            "name": "late", "description": ""}}), 404, "itemNotFound")
        assert_nova_error(demo.post(_SGR, headers=mv("2.36"), json=_rule(
            gid, ip_protocol="icmp", from_port=-1, to_port=-1)), 404, "itemNotFound")
        assert demo.get(_SG, headers=mv("2.35")).status_code == 200
    finally:
        assert demo.delete(f"{_SG}/{gid}").status_code == 202
