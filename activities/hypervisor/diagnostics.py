"""Reads a running domain's diagnostics from libvirt, as Nova's libvirt driver
does (``get_diagnostics``, ``get_instance_diagnostics``): vCPU times, the
block and interface counters of every disk and interface target in the live
XML, the memory balloon's statistics.  A counter the hypervisor cannot give
(libvirt raises) is left out, never an error: the test driver has no memory
statistics, a QEMU guest without a balloon neither."""

from __future__ import annotations

import contextlib
from xml.etree import ElementTree

import libvirt

from activities.types.diagnostics import CpuStats, DiskStats, GuestDiagnostics, NicStats


def read_diagnostics(dom: libvirt.virDomain, power_state: int) -> GuestDiagnostics:
    """The counters of ``dom``; ``power_state`` is its state in Nova's numbering."""
    xml = dom.XMLDesc(0)
    root = ElementTree.fromstring(xml)
    _state, max_kib, used_kib, _ncpu, _cpu_time = dom.info()
    diags = GuestDiagnostics(
        power_state=power_state, hypervisor=root.get("type") or "",
        max_memory_kib=max_kib, used_memory_kib=used_kib,
        config_drive=root.find("./devices/disk[@device='cdrom']") is not None)
    with contextlib.suppress(libvirt.libvirtError):
        info, _maps = dom.vcpus()
        diags.cpus = [CpuStats(id=num, time=cpu_time) for num, _st, cpu_time, _real in info]
    for disk in root.findall("./devices/disk"):
        target = disk.find("target")
        dev = target.get("dev") if target is not None else None
        if not dev:
            continue
        with contextlib.suppress(libvirt.libvirtError):
            rd_req, rd_bytes, wr_req, wr_bytes, errs = dom.blockStats(dev)
            diags.disks.append(DiskStats(dev, rd_req, rd_bytes, wr_req, wr_bytes, errs))
    for iface in root.findall("./devices/interface"):
        mac = iface.find("mac")
        nic = NicStats(mac_address=mac.get("address") if mac is not None else None)
        target = iface.find("target")
        nic.dev = target.get("dev") if target is not None else None
        if nic.dev:
            try:
                (nic.rx_octets, nic.rx_packets, nic.rx_errors, nic.rx_drop, nic.tx_octets,
                 nic.tx_packets, nic.tx_errors, nic.tx_drop) = dom.interfaceStats(nic.dev)
            except libvirt.libvirtError:
                continue  # Nova leaves out an interface whose counters fail
        diags.nics.append(nic)
    with contextlib.suppress(libvirt.libvirtError, AttributeError):
        diags.memory_stats = {str(k): int(v) for k, v in dom.memoryStats().items()}
    return diags
