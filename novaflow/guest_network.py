"""What a guest is told about its network: its ports as the network service
has them (Neutron's ports of the server and their subnets, read through
openstacksdk) and Nova's ``network_data.json`` built from them.  One
definition for the config drive a host writes and the metadata service the
guest calls, as Nova serves both from one InstanceMetadata."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SubnetInfo:
    cidr: str
    gateway_ip: str | None = None
    dns_nameservers: list[str] = field(default_factory=list)


@dataclass
class GuestPort:
    """One NIC as the guest should configure it."""

    port_id: str
    network_id: str
    mac_address: str
    ip_address: str
    subnet: SubnetInfo | None = None
    mtu: int = 1500


def guest_port(conn: Any, port_id: str, network_id: str, mac_address: str,
               ip_address: str) -> GuestPort:
    """One port with its network's first IPv4 subnet (Neutron's subnets API)."""
    subnet = None
    for sn in conn.network.subnets(network_id=network_id):
        if sn.network_id == network_id and sn.ip_version == 4:
            subnet = SubnetInfo(cidr=sn.cidr, gateway_ip=sn.gateway_ip,
                                dns_nameservers=list(sn.dns_nameservers or []))
            break
    return GuestPort(port_id=port_id, network_id=network_id, mac_address=mac_address,
                     ip_address=ip_address, subnet=subnet)


def server_ports(conn: Any, server_id: str) -> list[GuestPort]:
    """The server's ports, oldest first (``GET /v2.0/ports?device_id=``)."""
    ports = sorted(conn.network.ports(device_id=server_id),
                   key=lambda p: (p.created_at or "", p.id))
    return [guest_port(conn, p.id, p.network_id, p.mac_address,
                       (p.fixed_ips or [{}])[0].get("ip_address", "")) for p in ports]


def network_data(ports: list[GuestPort]) -> dict:
    """Nova's network_data.json: one link and one static IPv4 network per port."""
    links, networks, services = [], [], []
    for i, p in enumerate(ports):
        link_id = f"tap{p.port_id[:11]}"
        links.append({"id": link_id, "vif_id": p.port_id, "type": "phy",
                      "mtu": p.mtu, "ethernet_mac_address": p.mac_address})
        net = {"id": f"network{i}", "type": "ipv4", "link": link_id,
               "ip_address": p.ip_address, "network_id": p.network_id}
        if p.subnet is not None:
            iface = ipaddress.ip_interface(f"{p.ip_address}/{p.subnet.cidr.split('/')[1]}")
            net["netmask"] = str(iface.netmask)  # before the routes' own netmasks
        net["routes"] = []
        if p.subnet is not None:
            if p.subnet.gateway_ip:
                net["routes"].append({"network": "0.0.0.0", "netmask": "0.0.0.0",
                                      "gateway": p.subnet.gateway_ip})
            dns = [{"type": "dns", "address": a} for a in p.subnet.dns_nameservers]
            net["services"] = dns
            services.extend(d for d in dns if d not in services)
        networks.append(net)
    return {"links": links, "networks": networks, "services": services}
