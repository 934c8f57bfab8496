"""Plain data the scheduler works on: what a host offers and what a request asks.

These are built from the database by the scheduling activity (or synthesised
by the benchmark) and handed to the pure scheduling code; nothing here talks
to the database, Temporal or libvirt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Aggregate:
    """A host aggregate: a named set of hosts carrying metadata."""

    name: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class HostState:
    """One compute node as the scheduler sees it.

    Usage (`*_used`) is always derived from allocations, never from what the
    host reported about itself.
    """

    host: str
    nodename: str = ""
    node_uuid: str = ""
    availability_zone: str = "nova"
    hypervisor_type: str = "QEMU"
    hypervisor_version: int = 0
    cpu_arch: str = "x86_64"
    # (arch, hypervisor type, vm mode) triples the host can run.
    supported_instances: list[tuple[str, str, str]] = field(default_factory=list)
    vcpus: int = 0
    memory_mb: int = 0
    local_gb: int = 0
    vcpus_used: int = 0
    memory_mb_used: int = 0
    local_gb_used: int = 0
    reserved_host_cpus: int = 0
    reserved_host_memory_mb: int = 0
    reserved_host_disk_mb: int = 0
    cpu_allocation_ratio: float = 16.0
    ram_allocation_ratio: float = 1.5
    disk_allocation_ratio: float = 1.0
    service_disabled: bool = False
    service_up: bool = True
    num_instances: int = 0
    num_io_ops: int = 0
    instance_uuids: set[str] = field(default_factory=set)
    aggregates: list[Aggregate] = field(default_factory=list)
    # Free-form host capabilities for ComputeCapabilitiesFilter
    # (e.g. {"cpu_info": {...}, "hypervisor_type": "QEMU"}).
    capabilities: dict[str, Any] = field(default_factory=dict)
    failed_builds: int = 0
    generation: int = 0


@dataclass
class FlavorSpec:
    """The resources and extra specs of the flavor being placed."""

    name: str
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int = 0
    swap_mb: int = 0
    flavorid: str = ""
    extra_specs: dict[str, str] = field(default_factory=dict)

    @property
    def disk_gb(self) -> int:
        """Local disk the flavor consumes, swap rounded up to whole GB."""
        return self.root_gb + self.ephemeral_gb + (self.swap_mb + 1023) // 1024


@dataclass
class GroupSpec:
    """The server group an instance boots into, with where its members are."""

    uuid: str
    policy: str  # affinity | anti-affinity | soft-affinity | soft-anti-affinity
    hosts: list[str] = field(default_factory=list)  # one entry per member placed
    members: list[str] = field(default_factory=list)
    rules: dict[str, Any] = field(default_factory=dict)  # e.g. {"max_server_per_host": 2}


@dataclass
class RequestSpec:
    """What one scheduling request asks for."""

    instance_uuid: str
    flavor: FlavorSpec
    project_id: str = ""
    user_id: str = ""
    image_properties: dict[str, Any] = field(default_factory=dict)
    availability_zone: str | None = None
    force_host: str | None = None
    force_node: str | None = None
    requested_host: str | None = None  # requested destination (migrate)
    scheduler_hints: dict[str, Any] = field(default_factory=dict)
    ignore_hosts: list[str] = field(default_factory=list)  # retry exclusion
    instance_group: GroupSpec | None = None
    num_instances: int = 1
    is_admin: bool = False
