"""Security group rules as Nova's proxy reads and writes them (its
``security_group_api``): the rule a POST /os-security-group-rules asks for,
checked in Nova's words; Nova's test for a rule the group already has; the
Neutron rule it becomes; and the ports Nova shows for a Neutron rule.

Pure functions: no network, no database.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from typing import Any

from api.errors import BadRequest

_PORT_PROTOCOLS = ("TCP", "UDP")


def nova_ports(rule: dict) -> tuple[int | None, int | None]:
    """A Neutron rule's (from_port, to_port) as Nova shows them: a protocol
    without ports is every port (TCP/UDP) or every type and code (-1)."""
    protocol = rule.get("protocol")
    low, high = rule.get("port_range_min"), rule.get("port_range_max")
    if protocol and low is None and high is None:
        return (1, 65535) if str(protocol).upper() in _PORT_PROTOCOLS else (-1, -1)
    return low, high


def parse_cidr(cidr: Any) -> str:
    """Nova's ``parse_cidr``: no cidr is 0.0.0.0/0, else a valid network (a
    prefix length is required)."""
    if not cidr:
        return "0.0.0.0/0"
    try:
        text = urllib.parse.unquote(cidr)
        address, prefix = text.split("/", 1)
        ipaddress.ip_network(text, strict=False)
        if not address or not prefix:
            raise ValueError(text)
    except (TypeError, ValueError, AttributeError):
        raise BadRequest(f"{str(cidr)[:100]} is not a valid IP network.") from None
    return text


def check_prefix(cidr: str) -> None:
    """Nova refuses a /0 of any network but 0.0.0.0 and ::."""
    iface = ipaddress.ip_interface(cidr)
    if str(iface.ip) not in ("0.0.0.0", "::") and iface.network.prefixlen == 0:
        raise BadRequest(f"Bad prefix for network in cidr {cidr}")


def _port_range(low: Any, high: Any, why: str) -> BadRequest:
    return BadRequest(f"Invalid port range {low}:{high}. {why}")


def new_ingress_rule(ip_protocol: Any, from_port: Any, to_port: Any,
                     group_id: str | None = None, cidr: str | None = None) -> dict | None:
    """Nova's ``_new_ingress_rule``: the rule's values, or None when a cidr
    rule lacks its protocol or ports (Nova's "Not enough parameters")."""
    values: dict[str, Any] = {}
    if group_id:
        values["group_id"] = group_id
        # From a group, no ports open every port (or every ICMP type and code).
        upper = str(ip_protocol).upper() if ip_protocol else ""
        if from_port is None and to_port is None:
            if upper == "ICMP":
                from_port = to_port = -1
            elif upper in _PORT_PROTOCOLS:
                from_port, to_port = 1, 65535
    elif cidr:
        values["cidr"] = cidr

    if not (ip_protocol and from_port is not None and to_port is not None):
        return None if cidr else values

    protocol = str(ip_protocol)
    upper = protocol.upper()
    try:
        low, high = int(from_port), int(to_port)
    except (TypeError, ValueError):
        if upper == "ICMP":
            raise BadRequest("Invalid input received: Type and Code must be integers for "
                             "ICMP protocol type") from None
        raise BadRequest("Invalid input received: To and From ports must be "
                         "integers") from None
    if upper not in ("TCP", "UDP", "ICMP"):
        raise BadRequest(f"Invalid IP protocol {protocol[:50]}.")
    if upper in _PORT_PROTOCOLS and low > high:
        raise _port_range(low, high, "Former value cannot be greater than the later")
    if upper in _PORT_PROTOCOLS and (low < 1 or high > 65535):
        raise _port_range(low, high, f"Valid {upper} ports should be between 1-65535")
    if upper == "ICMP" and not (-1 <= low <= 255 and -1 <= high <= 255):
        raise _port_range(low, high, "For ICMP, the type:code must be valid")
    values.update(protocol=protocol, from_port=low, to_port=high)
    return values


def _as_nova(rule: dict) -> dict:
    low, high = nova_ports(rule)
    return {"group_id": rule.get("remote_group_id"),
            "cidr": parse_cidr(rule.get("remote_ip_prefix")),
            "from_port": low, "to_port": high, "protocol": rule.get("protocol")}


def rule_exists(neutron_rules: list[dict], new: dict) -> bool:
    """Nova's ``_rule_exists``: an ingress rule of the group with the same
    remote group, cidr, ports and protocol."""
    keys = ("group_id", "cidr", "from_port", "to_port", "protocol")
    for rule in neutron_rules:
        if rule.get("direction") != "ingress":
            continue
        have = _as_nova(rule)
        if all(have.get(k) == new.get(k) for k in keys):
            return True
    return False


def neutron_rule(parent_group_id: str, new: dict) -> dict:
    """The Neutron rule Nova makes of ``new``: ingress, IPv4 unless the cidr
    is IPv6, no port bound for -1."""
    cidr = new.get("cidr")
    version = ipaddress.ip_network(cidr, strict=False).version if cidr else 4
    body = {"direction": "ingress", "protocol": new.get("protocol"),
            "ethertype": f"IPv{version}", "remote_ip_prefix": cidr,
            "security_group_id": parent_group_id, "remote_group_id": new.get("group_id")}
    if new.get("from_port", -1) != -1:
        body["port_range_min"] = new["from_port"]
    if new.get("to_port", -1) != -1:
        body["port_range_max"] = new["to_port"]
    return body
