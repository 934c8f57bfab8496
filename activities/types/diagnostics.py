"""A guest's diagnostics as its host reads them from libvirt (Nova's
``get_diagnostics`` / ``get_instance_diagnostics``): the raw counters, which
the API shapes into Nova's two formats (api/diagnostics_view.py).

One dataclass per call, ids and small values only: workflows import this.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DiagnosticsInput:
    server_id: str


@dataclass
class CpuStats:
    id: int
    time: int  # nanoseconds of CPU time (libvirt's vcpu info)


@dataclass
class DiskStats:
    """libvirt's ``blockStats`` of one disk target."""

    dev: str
    read_requests: int
    read_bytes: int
    write_requests: int
    write_bytes: int
    errors: int


@dataclass
class NicStats:
    """One interface: its MAC and, when it has a host-side target device,
    libvirt's ``interfaceStats`` (None without one, as Nova leaves them)."""

    mac_address: str | None
    dev: str | None = None
    rx_octets: int | None = None
    rx_packets: int | None = None
    rx_errors: int | None = None
    rx_drop: int | None = None
    tx_octets: int | None = None
    tx_packets: int | None = None
    tx_errors: int | None = None
    tx_drop: int | None = None


@dataclass
class GuestDiagnostics:
    power_state: int                 # Nova's numbering (novaflow.states.PowerState)
    hypervisor: str                  # the domain type: kvm, qemu, test
    max_memory_kib: int
    used_memory_kib: int
    config_drive: bool
    cpus: list[CpuStats] = field(default_factory=list)
    disks: list[DiskStats] = field(default_factory=list)
    nics: list[NicStats] = field(default_factory=list)
    memory_stats: dict[str, int] = field(default_factory=dict)  # libvirt's memoryStats
