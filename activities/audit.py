"""The consistency audit: the database against itself, the hypervisors and
Temporal (Nova's ``nova-manage placement audit`` and its periodic checks,
in one place).

It compares:
- allocations with live servers and unfinished migrations (an allocation
  whose consumer is gone is an orphan; one that does not match its server's
  flavor is wrong);
- libvirt domains with servers (a domain no server knows, a deleted server's
  domain, a live server's domain on a host it does not live on, a running
  server without a domain);
- ports (the network API's) and volume attachments (Cinder's), both
  through openstacksdk, with servers (held for a server that is gone);
- task states with Temporal (an instance whose operation is no longer
  running, yet its task_state says one is).

``fix`` heals what is safe to heal: orphan allocations, ports and attachments
are freed; leftover domains are destroyed on their host (by the workflow);
everything else is only reported.
"""

from __future__ import annotations

from sqlmodel import select
from temporalio import activity

from activities.base import ControlActivities
from activities.block_storage import CinderAttachments, server_ids
from activities.types.audit import AuditInput, AuditResult, AuditScope, Discrepancy
from novaflow import logs
from novaflow.rules import FINAL_MIGRATION_STATUSES
from novaflow.states import VmState
from schema.models import Allocation, ComputeNode, Instance, Migration

log = logs.get_logger("novaflow.audit")

# Resting vm_states whose server must have a domain on its host.
_NEEDS_DOMAIN = (VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED,
                 VmState.RESIZED)


class AuditActivities(ControlActivities):
    """The database side of the audit."""

    def __init__(self, db, settings, cinder: CinderAttachments | None = None):
        super().__init__(db, settings)
        self.cinder = cinder or CinderAttachments(lambda: self.cloud)

    @activity.defn(name="audit_scope")
    def audit_scope(self, _unused: int = 0) -> AuditScope:
        with self.db.reader() as s:
            hosts = list(s.exec(select(ComputeNode.host).order_by(ComputeNode.host)).all())
            busy = s.exec(select(Instance.workflow_id).where(
                Instance.deleted.is_(False), Instance.task_state.is_not(None),
                Instance.workflow_id.is_not(None))).all()
        return AuditScope(hosts=hosts, workflow_ids=sorted(set(busy)))

    @activity.defn(name="audit")
    def audit(self, inp: AuditInput) -> AuditResult:
        out = AuditResult()
        with self.db.writer() as s:
            instances = {i.uuid: i for i in s.exec(select(Instance)).all()}
            live = {u: i for u, i in instances.items() if not i.deleted}
            moving = {m.uuid: m for m in s.exec(select(Migration).where(
                Migration.status.not_in(FINAL_MIGRATION_STATUSES))).all()}
            nodes = {n.uuid: n.host for n in s.exec(select(ComputeNode)).all()}
            self._allocations(s, live, moving, nodes, inp.fix, out)
            self._domains(live, instances, moving, inp, out)
            self._ports(live, inp.fix, out)
            self._task_states(s, live, inp, out)
        # Outside the transaction: Cinder's stand-in writes the same database.
        self._volumes(live, inp.fix, out)
        log.info("audit", discrepancies=len(out.discrepancies),
                 fixed=sum(d.fixed for d in out.discrepancies))
        return out

    @staticmethod
    def _allocations(s, live, moving, nodes, fix: bool, out: AuditResult) -> None:
        for alloc in s.exec(select(Allocation)).all():
            host = nodes.get(alloc.node_uuid)
            inst = live.get(alloc.consumer_id)
            if inst is None and alloc.consumer_id not in moving:
                out.discrepancies.append(Discrepancy(
                    "orphan_allocation", alloc.consumer_id, host,
                    f"{alloc.vcpus} VCPU, {alloc.memory_mb} MB held for a consumer that is "
                    "neither a live server nor an unfinished migration", fixable=True,
                    fixed=fix))
                if fix:
                    s.delete(alloc)
                continue
            if inst is None or inst.task_state is not None:
                continue  # a migration's, or an operation in flight owns it
            flavor = inst.flavor or {}
            want = (int(flavor.get("vcpus", 0)), int(flavor.get("memory_mb", 0)))
            if (alloc.vcpus, alloc.memory_mb) != want:
                out.discrepancies.append(Discrepancy(
                    "wrong_allocation", inst.uuid, host,
                    f"allocation {alloc.vcpus} VCPU, {alloc.memory_mb} MB; flavor "
                    f"{flavor.get('name')} wants {want[0]} VCPU, {want[1]} MB"))

    @staticmethod
    def _domains(live, instances, moving, inp: AuditInput, out: AuditResult) -> None:
        involved = {(m.instance_uuid, h) for m in moving.values()
                    for h in (m.source_compute, m.dest_compute) if h}
        seen: set[tuple[str, str]] = set()
        for hd in inp.domains:
            if not hd.reachable:
                out.discrepancies.append(Discrepancy(
                    "host_unreachable", hd.host, hd.host, "the host did not report its "
                    "domains; they were not compared"))
                continue
            for sid in hd.server_ids:
                seen.add((sid, hd.host))
                inst = instances.get(sid)
                kind = None
                if inst is None:
                    kind, detail = "unknown_domain", "no server record knows this domain"
                elif inst.deleted:
                    kind, detail = "leftover_domain", "the server was deleted"
                elif (inst.host != hd.host and inst.task_state is None
                      and (sid, hd.host) not in involved):
                    kind, detail = "stray_domain", f"the server lives on {inst.host}"
                if kind:
                    d = Discrepancy(kind, sid, hd.host, detail, fixable=True, fixed=inp.fix)
                    out.discrepancies.append(d)
                    if inp.fix:
                        out.destroy.append(d)
        reachable = {hd.host for hd in inp.domains if hd.reachable}
        for inst in live.values():
            if (inst.host in reachable and inst.task_state is None
                    and inst.vm_state in _NEEDS_DOMAIN and (inst.uuid, inst.host) not in seen):
                out.discrepancies.append(Discrepancy(
                    "missing_domain", inst.uuid, inst.host,
                    f"the server is {inst.vm_state} but its host has no domain for it"))

    def _ports(self, live, fix: bool, out: AuditResult) -> None:
        """Compute ports (the network API's) held for servers that are gone."""
        net = self.cloud.network
        for port in net.ports():
            if not (port.device_id and (port.device_owner or "").startswith("compute:")):
                continue
            if port.device_id not in live:
                ip = (port.fixed_ips or [{}])[0].get("ip_address", "")
                out.discrepancies.append(Discrepancy(
                    "orphan_port", port.id, None,
                    f"port {ip} is held for server {port.device_id}, which is "
                    "gone", fixable=True, fixed=fix))
                if fix:
                    net.delete_port(port.id, ignore_missing=True)

    def _volumes(self, live, fix: bool, out: AuditResult) -> None:
        """Volumes (Cinder's, every project's) attached to servers that are gone."""
        for vol in self.cinder.volumes():
            for server_id in sorted(server_ids(vol) - set(live)):
                out.discrepancies.append(Discrepancy(
                    "orphan_attachment", vol["id"], None,
                    f"volume {vol.get('name') or vol['id']} is attached to server "
                    f"{server_id}, which is gone", fixable=True, fixed=fix))
                if fix:
                    found = self.cinder.attachments(vol["id"], server_id)
                    for att in found:
                        self.cinder.delete(att["id"])
                    if not found:  # attached without an attachment record
                        self.cinder.detach(vol["id"])

    @staticmethod
    def _task_states(s, live, inp: AuditInput, out: AuditResult) -> None:
        running = set(inp.running_workflows)
        for inst in live.values():
            if inst.task_state is not None and inst.workflow_id not in running:
                out.discrepancies.append(Discrepancy(
                    "stuck_task_state", inst.uuid, inst.host,
                    f"task_state {inst.task_state}, but its operation {inst.workflow_id} "
                    "is not running (reset it with os-resetState)"))

    def all(self) -> list:
        return [self.audit_scope, self.audit]
