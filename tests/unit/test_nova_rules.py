"""api/nova_rules.py: Nova's checks of a new security group rule, its
duplicate test and the Neutron rule it becomes (no I/O)."""

from __future__ import annotations

import pytest

from api.errors import BadRequest
from api.nova_rules import (
    check_prefix,
    neutron_rule,
    new_ingress_rule,
    nova_ports,
    parse_cidr,
    rule_exists,
)


def test_cidr():
    assert parse_cidr(None) == parse_cidr("") == "0.0.0.0/0"
    assert parse_cidr("10.0.0.0%2F8") == "10.0.0.0/8"
    for bad in ("10.0.0.1", "10.0.0.300/24", "nope/8", 5, ["10.0.0.0/8"]):
        with pytest.raises(BadRequest, match="is not a valid IP network"):
            parse_cidr(bad)
    check_prefix("0.0.0.0/0")
    check_prefix("::/0")
    with pytest.raises(BadRequest, match="Bad prefix for network in cidr 10.1.0.0/0"):
        check_prefix("10.1.0.0/0")


def test_new_rule_from_a_cidr_needs_protocol_and_ports():
    assert new_ingress_rule("tcp", 22, "23", cidr="10.0.0.0/8") == {
        "cidr": "10.0.0.0/8", "protocol": "tcp", "from_port": 22, "to_port": 23}
    assert new_ingress_rule("tcp", None, None, cidr="10.0.0.0/8") is None
    assert new_ingress_rule(None, 1, 2, cidr="10.0.0.0/8") is None


def test_new_rule_from_a_group_opens_every_port():
    assert new_ingress_rule("TCP", None, None, group_id="g") == {
        "group_id": "g", "protocol": "TCP", "from_port": 1, "to_port": 65535}
    assert new_ingress_rule("icmp", None, None, group_id="g")["from_port"] == -1
    assert new_ingress_rule(None, None, None, group_id="g") == {"group_id": "g"}


@pytest.mark.parametrize(("protocol", "low", "high", "message"), [
    ("tcp", "a", 2, "To and From ports must be integers"),
    ("icmp", [1], 2, "Type and Code must be integers for ICMP protocol type"),
    ("gre", 1, 2, "Invalid IP protocol gre."),
    ("udp", 9, 8, "Invalid port range 9:8. Former value cannot be greater than the later"),
    ("tcp", 0, 8, "Invalid port range 0:8. Valid TCP ports should be between 1-65535"),
    ("icmp", -1, 256, "Invalid port range -1:256. For ICMP, the type:code must be valid"),
])
def test_nova_s_refusals(protocol, low, high, message):
    with pytest.raises(BadRequest) as err:
        new_ingress_rule(protocol, low, high, cidr="0.0.0.0/0")
    assert message in err.value.message


def test_duplicates_as_nova_compares_them():
    have = [{"direction": "ingress", "protocol": "tcp", "port_range_min": None,
             "port_range_max": None, "remote_ip_prefix": None, "remote_group_id": None},
            {"direction": "egress", "protocol": "udp", "port_range_min": 53,
             "port_range_max": 53, "remote_ip_prefix": None, "remote_group_id": None}]
    assert rule_exists(have, new_ingress_rule("tcp", 1, 65535, cidr="0.0.0.0/0"))
    assert not rule_exists(have, new_ingress_rule("udp", 53, 53, cidr="0.0.0.0/0"))
    assert nova_ports(have[0]) == (1, 65535)


def test_the_neutron_rule():
    assert neutron_rule("p", new_ingress_rule("icmp", -1, -1, cidr="::/0")) == {
        "direction": "ingress", "protocol": "icmp", "ethertype": "IPv6",
        "remote_ip_prefix": "::/0", "security_group_id": "p", "remote_group_id": None}
    body = neutron_rule("p", new_ingress_rule("tcp", None, None, group_id="g"))
    assert (body["ethertype"], body["remote_group_id"], body["port_range_min"],
            body["port_range_max"]) == ("IPv4", "g", 1, 65535)
