"""What the control plane records about hosts and owes them.

- ``record_host_report``: a host's periodic report (workflows/host_monitor.py),
  or ``record_host_reports``: a whole host-worker process's, batched
  (workflows/host_group_monitor.py):
  inventory changes, the service heartbeat, and Nova's power-state sync
  (a domain found stopped under an ACTIVE server makes it SHUTOFF; a server
  whose domain vanished goes to ERROR; domains no server knows are reported).
- pending host cleanups: domains to destroy on a host that was down when its
  server was deleted, handed to the host monitor when the host reports again.
- ``get_delete_targets``: every host and allocation consumer a delete must undo.
- ``finish_power_action``: the end of a power action (workflows/power.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import delete, select
from temporalio import activity

from activities.base import ControlActivities
from activities.types.context import OpContext
from activities.types.hosts import (
    HostCleanupDoneInput,
    RecordHostReportInput,
    RecordHostReportResult,
    RecordHostReportsInput,
    RecordHostReportsResult,
)
from activities.types.instances import DeleteTargets, FinishPowerActionInput, QueueHostCleanupInput
from novaflow import logs
from novaflow.rules import FINAL_MIGRATION_STATUSES, service_is_up
from novaflow.states import PowerState, VmState
from schema.models import (
    Allocation,
    ComputeNode,
    ControlPlaneClock,
    Instance,
    InstanceAction,
    Migration,
    PendingHostCleanup,
    Service,
    utcnow,
)

log = logs.get_logger("novaflow.hosts")

# A server resting in one of these states must have a domain on its host.
_NEEDS_DOMAIN = {VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED,
                 VmState.RESIZED}
REPORT_CHUNK = 100  # host reports recorded per transaction
_INVENTORY = ("vcpus", "memory_mb", "local_gb", "cpu_arch", "hypervisor_type",
              "hypervisor_version")


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _fault(message: str) -> dict:
    return {"code": 500, "message": message, "details": "", "type": "PowerStateSync",
            "created": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")}


class HostStateActivities(ControlActivities):
    """Host reports, power sync, pending host cleanups, delete targets."""

    # -- host reports -----------------------------------------------------------

    @activity.defn(name="record_host_report")
    def record_host_report(self, inp: RecordHostReportInput) -> RecordHostReportResult:
        with self.db.writer() as s:
            result = self._record(s, inp.report, _aware(inp.started_at), utcnow())
        self._log(inp.report.hostname, result)
        return result

    @activity.defn(name="record_host_reports")
    def record_host_reports(self, inp: RecordHostReportsInput) -> RecordHostReportsResult:
        """A host-worker process's batched reports, each as record_host_report would.

        A transaction per REPORT_CHUNK hosts: one per host cost more than the
        reports themselves at 1,000 hosts; one for all would hold SQLite's
        write lock (and every claim) for seconds.
        """
        out = RecordHostReportsResult(report_interval_s=float(self.settings.report_interval))
        since, now = _aware(inp.started_at), utcnow()
        for i in range(0, len(inp.reports), REPORT_CHUNK):
            with self.db.writer() as s:
                for rep in inp.reports[i:i + REPORT_CHUNK]:
                    out.results[rep.hostname] = self._record(s, rep, since, now)
        for host, result in out.results.items():
            self._log(host, result)
        return out

    def _record(self, s, rep, since: datetime, now: datetime) -> RecordHostReportResult:
        result = RecordHostReportResult(registered=True,
                                        report_interval_s=float(self.settings.report_interval))
        svc = s.exec(select(Service).where(Service.host == rep.hostname,
                                           Service.binary == "nova-compute")).first()
        node = s.exec(select(ComputeNode).where(ComputeNode.host == rep.hostname)).first()
        if svc is None or node is None:
            result.registered = False  # deleted through os-services
            return result
        svc.last_seen_up, svc.updated_at = now, now
        svc.report_count += 1
        s.add(svc)
        inv = rep.inventory
        changed = [f for f in _INVENTORY if getattr(node, f) != getattr(inv, f)]
        if changed:
            for f in changed:
                result.changes.append(f"{f}: {getattr(node, f)} -> {getattr(inv, f)}")
                setattr(node, f, getattr(inv, f))
            node.generation += 1  # any claim computed on the old inventory must retry
            node.updated_at = now
            s.add(node)
        self._sync_power_states(s, rep, since, result)
        self._pending_cleanups(s, rep, result)
        return result

    def _log(self, host: str, result: RecordHostReportResult) -> None:
        if result.unknown:
            log.warning("domains with no server record", host=host,
                        server_ids=result.unknown, reaped=self.settings.reap_unknown_domains)
        if result.changes:
            log.info("host report", host=host, changes=result.changes)

    def _sync_power_states(self, s, rep, since: datetime,
                           result: RecordHostReportResult) -> None:
        """Nova's _sync_power_states for one host's report."""
        domains = {d.server_id: d for d in rep.domains}
        here = s.exec(select(Instance).where(Instance.host == rep.hostname,
                                             Instance.deleted.is_(False))).all()
        for inst in here:
            # An operation in flight owns the row; a row changed after the report
            # began is newer than what the report saw.
            if inst.task_state is not None or _aware(inst.updated_at) >= since:
                continue
            dom = domains.get(inst.uuid)
            if dom is None:
                if inst.vm_state in _NEEDS_DOMAIN:
                    self._to_error(s, inst, rep.hostname, result)
                continue
            self._sync_one(s, inst, dom.power_state, result)
        strays = set(domains) - {i.uuid for i in here}
        if not strays:
            return
        known = {i.uuid: i for i in s.exec(select(Instance).where(Instance.uuid.in_(strays)))}
        for server_id in sorted(strays):
            inst = known.get(server_id)
            if inst is None:
                result.unknown.append(server_id)
                if self.settings.reap_unknown_domains:
                    result.destroy.append(server_id)
            elif inst.deleted:
                # A deleted server's domain left behind: always destroyed (Nova's
                # running_deleted_instance_action=reap).
                result.destroy.append(server_id)
            elif self._stray(s, inst, rep.hostname):
                log.warning("stray domain of a server that lives elsewhere", server_id=inst.uuid,
                            host=rep.hostname, server_host=inst.host)
                result.changes.append(f"{inst.uuid}: stray domain (server on {inst.host})")
                result.destroy.append(server_id)

    def _stray(self, s, inst: Instance, host: str) -> bool:
        """A live server's domain on a host it does not live on, with nothing in
        flight that could explain it (a resize source, a build still choosing)."""
        if inst.task_state is not None or inst.host == host:
            return False
        settled = utcnow() - _aware(inst.updated_at)
        if settled < timedelta(seconds=self.settings.stray_domain_grace):
            return False
        moving = s.exec(select(Migration.id).where(
            Migration.instance_uuid == inst.uuid,
            Migration.status.not_in(FINAL_MIGRATION_STATUSES),
            (Migration.source_compute == host) | (Migration.dest_compute == host))).first()
        return moving is None

    def _sync_one(self, s, inst: Instance, power: int,
                  result: RecordHostReportResult) -> None:
        now = utcnow()
        changed = inst.power_state != power
        inst.power_state = power
        stopped = power in (PowerState.SHUTDOWN, PowerState.CRASHED)
        if (inst.vm_state == VmState.ACTIVE and (stopped or power == PowerState.SUSPENDED)) \
                or (inst.vm_state == VmState.PAUSED and stopped):
            result.changes.append(f"{inst.uuid}: {inst.vm_state} -> stopped (power {power})")
            inst.vm_state = VmState.STOPPED
            changed = True
            s.add(InstanceAction(action="stop", instance_uuid=inst.uuid, request_id="",
                                 project_id=inst.project_id, user_id="",
                                 message="found stopped by the power-state sync",
                                 start_time=now, finish_time=now))
        elif inst.vm_state == VmState.STOPPED and power == PowerState.RUNNING:
            # Nova force-stops such a domain; racing a user's start is worse, so
            # we only record what the hypervisor says.
            log.warning("stopped server's domain is running", server_id=inst.uuid,
                        host=inst.host)
        if changed:
            inst.updated_at = now
            s.add(inst)

    def _to_error(self, s, inst: Instance, host: str,
                  result: RecordHostReportResult) -> None:
        message = f"The domain of instance {inst.uuid} vanished from host {host}"
        result.changes.append(f"{inst.uuid}: {inst.vm_state} -> error (domain vanished)")
        log.warning("domain vanished", server_id=inst.uuid, host=host)
        inst.vm_state = VmState.ERROR
        inst.power_state = PowerState.NOSTATE
        inst.fault = _fault(message)
        inst.updated_at = utcnow()
        s.add(inst)

    def _pending_cleanups(self, s, rep, result: RecordHostReportResult) -> None:
        """Hand the host's queued domain destroys to the monitor."""
        rows = s.exec(select(PendingHostCleanup).where(
            PendingHostCleanup.host == rep.hostname)).all()
        present = {d.server_id for d in rep.domains}
        lives_here = set(s.exec(select(Instance.uuid).where(
            Instance.host == rep.hostname, Instance.deleted.is_(False),
            Instance.uuid.in_([r.instance_uuid for r in rows]))).all()) if rows else set()
        for row in rows:
            if row.instance_uuid not in present or row.instance_uuid in lives_here:
                # Nothing left on the host, or the server has since come to live
                # here for real (its domain is no leftover): done.
                s.delete(row)
            elif row.instance_uuid not in result.destroy:
                result.destroy.append(row.instance_uuid)

    @activity.defn(name="complete_host_cleanups")
    def complete_host_cleanups(self, inp: HostCleanupDoneInput) -> int:
        """Forget the pending cleanups whose domains the host has now destroyed."""
        if not inp.server_ids:
            return 0
        with self.db.writer() as s:
            return s.execute(delete(PendingHostCleanup).where(
                PendingHostCleanup.host == inp.hostname,
                PendingHostCleanup.instance_uuid.in_(inp.server_ids))).rowcount or 0

    # -- delete in any state ----------------------------------------------------

    @activity.defn(name="get_delete_targets")
    def get_delete_targets(self, ctx: OpContext) -> DeleteTargets:
        """Every host that may hold the server's domain, and every consumer to free."""
        with self.db.reader() as s:
            inst = s.exec(select(Instance).where(Instance.uuid == ctx.server_id)).first()
            migrations = s.exec(select(Migration).where(
                Migration.instance_uuid == ctx.server_id)).all()
            consumers = [ctx.server_id] + [m.uuid for m in migrations]
            hosts: list[str] = []
            if inst is not None and inst.host:
                hosts.append(inst.host)
            for m in migrations:
                if m.status not in FINAL_MIGRATION_STATUSES:
                    hosts += [h for h in (m.source_compute, m.dest_compute) if h]
            # A host the build's clean-up could not reach already has the domain
            # queued for cleanup: it is not waited for again.
            queued = set(s.exec(select(PendingHostCleanup.host).where(
                PendingHostCleanup.instance_uuid == ctx.server_id)))
            hosts += sorted(queued)
            hosts += list(s.exec(
                select(ComputeNode.host).join(Allocation,
                                              Allocation.node_uuid == ComputeNode.uuid)
                .where(Allocation.consumer_id.in_(consumers))).all())
            hosts = list(dict.fromkeys(hosts))
            known = {n for n in s.exec(select(ComputeNode.host).where(
                ComputeNode.host.in_(hosts)))} if hosts else set()
            services = {v.host: v for v in s.exec(select(Service).where(
                Service.host.in_(hosts), Service.binary == "nova-compute"))} if hosts else {}
            down_time = self.settings.scheduler.service_down_time
            hosts = [h for h in hosts if h in known]  # a removed host has nothing to clean
            clock = ControlPlaneClock.read(s)
            down = [h for h in hosts
                    if h in queued or not service_is_up(services.get(h), down_time, clock=clock)]
            workflows = [m.workflow_id for m in migrations
                         if m.workflow_id and m.status not in FINAL_MIGRATION_STATUSES]
        return DeleteTargets(hosts=hosts, down_hosts=down, consumer_ids=consumers,
                             workflow_ids=list(dict.fromkeys(workflows)))

    @activity.defn(name="queue_host_cleanup")
    def queue_host_cleanup(self, inp: QueueHostCleanupInput) -> None:
        """Remember to destroy the server's domain when its host reports again."""
        with self.db.writer() as s:
            existing = s.exec(select(PendingHostCleanup).where(
                PendingHostCleanup.host == inp.host,
                PendingHostCleanup.instance_uuid == inp.ctx.server_id)).first()
            if existing is None:
                s.add(PendingHostCleanup(host=inp.host, instance_uuid=inp.ctx.server_id,
                                         reason=inp.reason[:255]))
            self.add_event(s, inp.ctx, "queue_host_cleanup", host=inp.host, details=inp.reason)

    # -- power actions ------------------------------------------------------------

    @activity.defn(name="finish_power_action")
    def finish_power_action(self, inp: FinishPowerActionInput) -> bool:
        """Record a power action's outcome; False if a delete took the server over."""
        with self.db.writer() as s:
            inst = s.exec(select(Instance).where(Instance.uuid == inp.ctx.server_id)).first()
            self.add_events(s, inp.ctx, inp.events)
            if inst is None or inst.deleted or inst.task_state != inp.task_state:
                self.finish_action(s, inp.ctx, message=inp.error)
                return False
            if inp.vm_state is not None:
                inst.vm_state = inp.vm_state
            if inp.power_state is not None:
                inst.power_state = inp.power_state
            inst.task_state = None
            inst.updated_at = utcnow()
            s.add(inst)
            self.finish_action(s, inp.ctx, message=inp.error[:255] if inp.error else None)
            return True


    def all(self) -> list:
        return [self.record_host_report, self.record_host_reports, self.complete_host_cleanups,
                self.get_delete_targets, self.queue_host_cleanup, self.finish_power_action]
