"""Security groups as Nova shows them (os-security-groups) and Neutron checks
a rule's protocol and ports: the conversions, without a network service."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from api.errors import BadRequest
from api.routes.neutron_security_group_rules import _ports, _protocol
from api.routes.server_security_groups import nova_group, nova_rule
from api.schemas.server_actions import ServerActionRequest


def rule(**fields) -> dict:
    return {"id": "r", "security_group_id": "g", "direction": "ingress", "protocol": None,
            "port_range_min": None, "port_range_max": None, "remote_ip_prefix": None,
            "remote_group_id": None, **fields}


@pytest.mark.parametrize(("fields", "ports"), [
    ({"protocol": "tcp"}, (1, 65535)),  # Nova fills a port-less TCP/UDP rule in
    ({"protocol": "udp"}, (1, 65535)),
    ({"protocol": "icmp"}, (-1, -1)),
    ({"protocol": "tcp", "port_range_min": 22, "port_range_max": 22}, (22, 22)),
    ({}, (None, None)),
])
def test_nova_rule_ports(fields, ports):
    shown = nova_rule(rule(**fields), None)
    assert (shown["from_port"], shown["to_port"]) == ports
    assert shown["ip_range"] == {"cidr": "0.0.0.0/0"} and shown["group"] == {}


def test_nova_group_shows_ingress_rules_and_remote_groups_by_name():
    remote = SimpleNamespace(id="web", name="web", project_id="p2")
    group = SimpleNamespace(id="g", name="db", description=None, project_id="p1",
                            security_group_rules=[
                                rule(direction="egress"),
                                rule(id="from-web", remote_group_id="web"),
                                rule(id="from-gone", remote_group_id="gone"),
                                rule(id="net", remote_ip_prefix="10.0.0.0/8")])
    shown = nova_group(group, {"web": remote})
    assert (shown["description"], shown["tenant_id"]) == ("", "p1")
    assert [(r["id"], r["group"], r["ip_range"]) for r in shown["rules"]] == [
        ("from-web", {"name": "web", "tenant_id": "p2"}, {}),
        ("net", {}, {"cidr": "10.0.0.0/8"})]


@pytest.mark.parametrize(("value", "stored"), [
    (None, None), ("TCP", "tcp"), ("6", "6"), (17, "17"), ("icmpv6", "icmpv6")])
def test_protocols_neutron_takes(value, stored):
    assert _protocol(value)[0] == stored


@pytest.mark.parametrize(("protocol", "low", "high", "message"), [
    ("bogus", None, None, "not supported"),
    ("256", None, None, "not supported"),
    (None, 22, None, "Must also specify protocol"),
    ("tcp", 0, 10, "Invalid value for port 0"),
    ("tcp", 90, 80, "port_range_min must be <= port_range_max"),
    ("icmp", 300, None, "Invalid value for ICMP type"),
    ("icmp", None, 3, "ICMP code (port-range-max) 3 is provided"),
])
def test_rules_neutron_refuses(protocol, low, high, message):
    with pytest.raises(BadRequest, match=message.replace("(", r"\(").replace(")", r"\)")):
        _ports(_protocol(protocol)[1], low, high)


def test_the_actions_are_declared_in_the_openapi_body():
    for action in ("addSecurityGroup", "removeSecurityGroup"):
        ServerActionRequest.model_validate({action: {"name": "web"}})
        with pytest.raises(ValueError):
            ServerActionRequest.model_validate({action: {"name": ""}})
