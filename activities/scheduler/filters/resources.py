"""Capacity filters: RAM, vCPU and disk with allocation ratios, instance and I/O counts.

Usable capacity is `total * allocation_ratio - reserved - used`.  Besides
that, one instance may never be larger than the host's physical total: a
host overcommits across instances, never against a single one.
"""

from __future__ import annotations

import numpy as np

from activities.scheduler import host_table as ht
from activities.scheduler.filters.base import BaseFilter, fmt
from activities.scheduler.host_table import HostTable
from activities.scheduler.types import HostState, RequestSpec


class RamFilter(BaseFilter):
    """Passes hosts with enough allocatable RAM for the flavor."""

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        want = spec.flavor.memory_mb
        if want > host.memory_mb:
            return self.reject(f"{want} MB requested > {host.memory_mb} MB physical RAM")
        usable = ht.ram_usable_mb(host)
        if usable < want:
            return self.reject(f"{fmt(usable)} MB usable RAM < {want} MB requested")
        return None

    def batch(self, table: HostTable, spec: RequestSpec, alive: np.ndarray) -> np.ndarray:
        want = spec.flavor.memory_mb
        return (table.memory_mb >= want) & (table.ram_usable_mb() >= want)


class CoreFilter(BaseFilter):
    """Passes hosts with enough allocatable vCPUs for the flavor."""

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        want = spec.flavor.vcpus
        if want > host.vcpus:
            return self.reject(f"{want} vCPUs requested > {host.vcpus} physical vCPUs")
        usable = ht.vcpus_usable(host)
        if usable < want:
            return self.reject(f"{fmt(usable)} usable vCPUs < {want} requested")
        return None

    def batch(self, table: HostTable, spec: RequestSpec, alive: np.ndarray) -> np.ndarray:
        want = spec.flavor.vcpus
        return (table.vcpus >= want) & (table.vcpus_usable() >= want)


class DiskFilter(BaseFilter):
    """Passes hosts with enough allocatable local disk for root, ephemeral and swap."""

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        want = ht.requested_disk_mb(spec)
        if want > host.local_gb * 1024:
            return self.reject(f"{want} MB requested > {host.local_gb * 1024} MB physical disk")
        usable = ht.disk_usable_mb(host)
        if usable < want:
            return self.reject(f"{fmt(usable)} MB usable disk < {want} MB requested")
        return None

    def batch(self, table: HostTable, spec: RequestSpec, alive: np.ndarray) -> np.ndarray:
        want = ht.requested_disk_mb(spec)
        return (table.local_gb * 1024 >= want) & (table.disk_usable_mb() >= want)


class NumInstancesFilter(BaseFilter):
    """Passes hosts running fewer than max_instances_per_host instances."""

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        limit = self.settings.max_instances_per_host
        if host.num_instances >= limit:
            return self.reject(f"{host.num_instances} instances >= limit {limit}")
        return None

    def batch(self, table: HostTable, spec: RequestSpec, alive: np.ndarray) -> np.ndarray:
        return table.num_instances < self.settings.max_instances_per_host


class IoOpsFilter(BaseFilter):
    """Passes hosts with fewer than max_io_ops_per_host I/O-heavy tasks in flight."""

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        limit = self.settings.max_io_ops_per_host
        if host.num_io_ops >= limit:
            return self.reject(f"{host.num_io_ops} I/O operations >= limit {limit}")
        return None

    def batch(self, table: HostTable, spec: RequestSpec, alive: np.ndarray) -> np.ndarray:
        return table.num_io_ops < self.settings.max_io_ops_per_host
