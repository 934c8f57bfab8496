"""HostGroupMonitorWorkflow: the host reports of one process serving many hosts, batched.

Why not one HostMonitorWorkflow per host: each report is a timer, an
activity on the host's queue and a local activity, three to four workflow
tasks; at 1,000 hosts every 10 s that is 300-400 tasks/s, more than the
Temporal dev server sustains on two shared cores (the per-host design fell
behind: reports lagged past service_down_time and hosts looked down).  Here
one workflow per host-worker process (id ``host-group-monitor-<group>``)
asks the process for every host's report in one activity on the group's
queue and records them in one local activity: the same heartbeat,
inventory and power-state rules per host (record_host_report), a thousand
times fewer tasks.  Leftover domains are destroyed on each host's own queue,
as the per-host monitor does.  A host whose service was deleted is dropped
from the group; the workflow continues as new every ``iterations_per_run``
rounds.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.host_reports import HostStateActivities
    from activities.hypervisor.activities import HostActivities
    from activities.hypervisor.group import HostGroupActivities
    from activities.types.hosts import (
        HostCleanupDoneInput,
        HostGroupReport,
        HostGroupReportInput,
        RecordHostReportsInput,
        RecordHostReportsResult,
    )
    from activities.types.hypervisor import DestroyInput

from workflows.common import HOST_NO_RETRY, OpTimeouts, control, failure_message, on_host


@dataclass
class HostGroupMonitorInput:
    group: str
    queue: str  # the group's task queue (novaflow.queues.host_group_queue)
    hostnames: list[str] = field(default_factory=list)
    report_interval_s: float = 10.0
    iterations_per_run: int = 200
    rounds: int = 0  # carried across continue-as-new, for the query


@dataclass
class HostGroupMonitorStatus:
    """What the last round found (the ``status`` query)."""

    group: str
    hosts: int = 0
    rounds: int = 0
    missed: int = 0
    last_error: str | None = None
    missing: list[str] = field(default_factory=list)


@workflow.defn(name="HostGroupMonitorWorkflow")
class HostGroupMonitorWorkflow:
    def __init__(self) -> None:
        self._status: HostGroupMonitorStatus | None = None
        self._wake = False

    @workflow.query
    def status(self) -> HostGroupMonitorStatus | None:
        return self._status

    @workflow.signal
    def report_now(self) -> None:
        """Report at once (the process just (re)started)."""
        self._wake = True

    @workflow.run
    async def run(self, inp: HostGroupMonitorInput) -> str:
        hosts = list(inp.hostnames)
        self._status = HostGroupMonitorStatus(group=inp.group, hosts=len(hosts),
                                              rounds=inp.rounds)
        interval = inp.report_interval_s
        for _ in range(inp.iterations_per_run):
            self._wake = False
            began = workflow.now()
            result = await self._round(inp.queue, hosts, interval)
            if result is not None:
                interval = max(result.report_interval_s, 0.1)
                gone = {h for h, r in result.results.items() if not r.registered}
                hosts = [h for h in hosts if h not in gone]
                self._status.hosts = len(hosts)
                if not hosts:
                    return f"every host of group {inp.group} was deleted"
            # Rounds start every interval: a thousand hosts' round takes seconds itself.
            left = interval - (workflow.now() - began).total_seconds()
            try:
                await workflow.wait_condition(lambda: self._wake,
                                              timeout=timedelta(seconds=max(left, 0.1)))
            except TimeoutError:
                pass
            if workflow.info().is_continue_as_new_suggested():
                break
        workflow.continue_as_new(HostGroupMonitorInput(
            group=inp.group, queue=inp.queue, hostnames=hosts, report_interval_s=interval,
            iterations_per_run=inp.iterations_per_run, rounds=self._status.rounds))

    async def _round(self, queue: str, hosts: list[str],
                     interval: float) -> RecordHostReportsResult | None:
        status = self._status
        started = workflow.now()
        try:
            batch: HostGroupReport = await workflow.execute_activity_method(
                HostGroupActivities.report_hosts, HostGroupReportInput(hostnames=hosts),
                task_queue=queue,
                schedule_to_start_timeout=timedelta(seconds=max(interval, 1.0)),
                start_to_close_timeout=timedelta(seconds=max(30.0, 2 * interval)),
                retry_policy=HOST_NO_RETRY, summary=f"report_hosts ({len(hosts)} hosts)")
        except ActivityError as exc:
            status.missed += 1
            status.last_error = f"report_hosts: {failure_message(exc)}"
            return None
        status.missing = batch.missing
        try:
            result: RecordHostReportsResult = await control(
                HostStateActivities.record_host_reports,
                RecordHostReportsInput(reports=batch.reports, started_at=started),
                summary=f"record_host_reports ({len(batch.reports)} hosts)")
        except ActivityError as exc:
            status.last_error = f"record_host_reports: {failure_message(exc)}"
            return None
        status.rounds += 1
        status.last_error = None
        await asyncio.gather(*(self._destroy(host, r.destroy, interval)
                               for host, r in result.results.items() if r.destroy))
        return result

    async def _destroy(self, host: str, server_ids: list[str], interval: float) -> None:
        timeouts = OpTimeouts(host_schedule_to_start_s=max(interval, 1.0), host_step_s=60.0)
        done = await asyncio.gather(*(
            on_host(HostActivities.destroy_domain, DestroyInput(server_id=sid), host, timeouts,
                    summary=f"destroy leftover domain {sid}")
            for sid in server_ids), return_exceptions=True)
        destroyed = [sid for sid, r in zip(server_ids, done, strict=True)
                     if not isinstance(r, BaseException)]
        if destroyed:
            try:
                await control(HostStateActivities.complete_host_cleanups,
                              HostCleanupDoneInput(hostname=host, server_ids=destroyed),
                              summary=f"complete_host_cleanups {host}")
            except ActivityError as exc:
                self._status.last_error = f"complete_host_cleanups: {failure_message(exc)}"
