"""Nova's two shapes of a server's diagnostics, built from the counters its
host read (activities/types/diagnostics.py).

Before 2.48 Nova answers the virt driver's own flat dict; for libvirt that is
``cpu<N>_time``, ``<disk>_read_req`` / ``_read`` / ``_write_req`` / ``_write``
/ ``_errors``, ``<tap>_rx`` ... ``_tx_drop``, ``memory`` (KiB) and
``memory-<stat>`` (nova/virt/libvirt/driver.py ``get_diagnostics``).  From
2.48 it answers the driver-independent format of
nova/api/openstack/compute/views/server_diagnostics.py, with memory in MiB
as its API reference says; libvirt fills neither utilisation nor rates.
"""

from __future__ import annotations

from typing import Any

from activities.types.diagnostics import GuestDiagnostics

# Nova's power_state.STATE_MAP: the names of the numbered power states.
POWER_STATE_NAMES = {0: "pending", 1: "running", 3: "paused", 4: "shutdown",
                     6: "crashed", 7: "suspended"}

_NIC_KEYS = ("rx", "rx_packets", "rx_errors", "rx_drop",
             "tx", "tx_packets", "tx_errors", "tx_drop")


def driver_diagnostics(d: GuestDiagnostics) -> dict[str, Any]:
    """The libvirt driver's flat dict (microversions before 2.48)."""
    out: dict[str, Any] = {f"cpu{c.id}_time": c.time for c in d.cpus}
    for disk in d.disks:
        out |= {f"{disk.dev}_read_req": disk.read_requests, f"{disk.dev}_read": disk.read_bytes,
                f"{disk.dev}_write_req": disk.write_requests,
                f"{disk.dev}_write": disk.write_bytes, f"{disk.dev}_errors": disk.errors}
    for nic in d.nics:
        if not nic.dev:
            continue
        values = (nic.rx_octets, nic.rx_packets, nic.rx_errors, nic.rx_drop,
                  nic.tx_octets, nic.tx_packets, nic.tx_errors, nic.tx_drop)
        out |= {f"{nic.dev}_{key}": value for key, value in zip(_NIC_KEYS, values, strict=True)}
    out["memory"] = d.max_memory_kib
    out |= {f"memory-{key}": value for key, value in d.memory_stats.items()}
    return out


def instance_diagnostics(d: GuestDiagnostics, uptime: int | None) -> dict[str, Any]:
    """The standard format (2.48+); ``uptime``: seconds since the server was launched."""
    return {
        "state": POWER_STATE_NAMES.get(d.power_state, "pending"),
        "driver": "libvirt",
        "hypervisor": d.hypervisor or None,
        "hypervisor_os": "linux",
        "uptime": uptime,
        "config_drive": d.config_drive,
        "num_cpus": len(d.cpus),
        "num_nics": len(d.nics),
        "num_disks": len(d.disks),
        "cpu_details": [{"id": c.id, "time": c.time, "utilisation": None} for c in d.cpus],
        "nic_details": [
            {"mac_address": n.mac_address, "rx_octets": n.rx_octets, "rx_errors": n.rx_errors,
             "rx_drop": n.rx_drop, "rx_packets": n.rx_packets, "rx_rate": None,
             "tx_octets": n.tx_octets, "tx_errors": n.tx_errors, "tx_drop": n.tx_drop,
             "tx_packets": n.tx_packets, "tx_rate": None}
            for n in d.nics],
        "disk_details": [
            {"read_bytes": k.read_bytes, "read_requests": k.read_requests,
             "write_bytes": k.write_bytes, "write_requests": k.write_requests,
             "errors_count": k.errors}
            for k in d.disks],
        "memory_details": {"maximum": d.max_memory_kib // 1024,
                           "used": d.used_memory_kib // 1024},
    }
