"""One libvirt network per Neutron network a host's guests use: an isolated
bridge (no DHCP, no NAT) named after the network, created on first use and
removed when the last domain on it goes (the reference count is the number
of defined domains whose interfaces name it, so it survives restarts and is
shared by simulated hosts on one libvirtd).  Guests take their fixed IP from
the config drive's network_data.json."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET

import libvirt

from activities.hypervisor.driver import DriverError

_lock = threading.Lock()  # hosts of one process share libvirtd


def network_name(network_id: str) -> str:
    return f"novaflow-{network_id}"


def bridge_name(network_id: str) -> str:
    return f"nfbr-{network_id.replace('-', '')[:10]}"  # Linux caps names at 15 chars


def ensure(conn: libvirt.virConnect, network_id: str) -> str:
    """The libvirt network of ``network_id``, defined and active; returns its name."""
    name = network_name(network_id)
    with _lock:
        try:
            net = conn.networkLookupByName(name)
        except libvirt.libvirtError:
            xml = (f"<network><name>{name}</name>"
                   f"<bridge name='{bridge_name(network_id)}' stp='off' delay='0'/></network>")
            try:
                net = conn.networkDefineXML(xml)
            except libvirt.libvirtError as exc:
                raise DriverError(f"defining network {name} failed: {exc}") from exc
        try:
            if not net.isActive():
                net.create()
        except libvirt.libvirtError as exc:
            raise DriverError(f"starting network {name} failed: {exc}") from exc
    return name


def _networks_in_use(conn: libvirt.virConnect) -> set[str]:
    used = set()
    for dom in conn.listAllDomains():
        try:
            root = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        except libvirt.libvirtError:
            continue  # undefined meanwhile (another host's delete)
        for src in root.findall("./devices/interface[@type='network']/source"):
            used.add(src.get("network", ""))
    return used


def release_unused(conn: libvirt.virConnect, network_ids: list[str]) -> list[str]:
    """Remove the networks among ``network_ids`` no domain uses any more."""
    removed = []
    with _lock:
        used = _networks_in_use(conn)
        for network_id in network_ids:
            name = network_name(network_id)
            if name in used:
                continue
            try:
                net = conn.networkLookupByName(name)
            except libvirt.libvirtError:
                continue
            try:
                if net.isActive():
                    net.destroy()
                net.undefine()
                removed.append(name)
            except libvirt.libvirtError:
                pass  # another host took it meanwhile; it will release it later
    return removed
