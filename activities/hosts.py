"""Compute host registration: a host worker's node and service rows.

A host worker announces itself when it starts (no manual discover step);
re-registering updates the inventory and keeps the node's uuid, its
allocations and its operator-set state (disabled, allocation ratios).
"""

from __future__ import annotations

from sqlmodel import select
from temporalio import activity

from activities.base import ControlActivities
from activities.types.hosts import RegisterHostInput, RegisterHostResult, RegisterHostsInput
from schema.models import ComputeNode, Service, utcnow


class HostRegistryActivities(ControlActivities):
    """Writes compute_nodes and services rows for host workers."""

    @activity.defn(name="register_host")
    def register_host(self, inp: RegisterHostInput) -> RegisterHostResult:
        with self.db.writer() as s:
            return self._register(s, inp, utcnow())

    def _register(self, s, inp: RegisterHostInput, now) -> RegisterHostResult:
        inv = inp.inventory
        node = s.exec(select(ComputeNode).where(ComputeNode.host == inp.hostname)).first()
        created = node is None
        if node is None:
            node = ComputeNode(
                host=inp.hostname,
                hypervisor_hostname=inp.hostname,
                vcpus=inv.vcpus,
                memory_mb=inv.memory_mb,
                local_gb=inv.local_gb,
                cpu_allocation_ratio=self.settings.initial_cpu_allocation_ratio,
                ram_allocation_ratio=self.settings.initial_ram_allocation_ratio,
                disk_allocation_ratio=self.settings.initial_disk_allocation_ratio,
                reserved_host_memory_mb=self.settings.reserved_host_memory_mb,
                reserved_host_cpus=self.settings.reserved_host_cpus,
                reserved_host_disk_mb=self.settings.reserved_host_disk_mb,
            )
        node.vcpus, node.memory_mb, node.local_gb = inv.vcpus, inv.memory_mb, inv.local_gb
        node.cpu_arch = inv.cpu_arch
        node.hypervisor_type = inv.hypervisor_type
        node.hypervisor_version = inv.hypervisor_version
        node.availability_zone = inp.availability_zone
        node.libvirt_uri = inp.libvirt_uri
        node.cpu_info = inv.cpu_info
        node.updated_at = now
        if not created:
            node.generation += 1  # inventory changed under any in-flight claim
        s.add(node)
        svc = s.exec(select(Service).where(Service.host == inp.hostname,
                                           Service.binary == "nova-compute")).first()
        if svc is None:
            svc = Service(host=inp.hostname)
        svc.last_seen_up = now
        svc.updated_at = now
        svc.report_count += 1
        s.add(svc)
        s.flush()
        return RegisterHostResult(node_uuid=node.uuid, service_id=svc.uuid, created=created)

    @activity.defn(name="register_hosts")
    def register_hosts(self, inp: RegisterHostsInput) -> list[RegisterHostResult]:
        """register_host for each of many hosts (a process serving many simulated hosts),
        in one transaction: one per host took longer than a workflow task may."""
        now = utcnow()
        with self.db.writer() as s:
            return [self._register(s, h, now) for h in inp.hosts]
