"""HostMonitorWorkflow: one per compute host, for as long as the host exists.

Workflow id ``host-monitor-<hostname>``, started (or, if running, woken with
the ``report_now`` signal) by the host worker when it starts.  Every
``report_interval`` seconds it asks the host for a report on the host's own
queue (inventory and every domain's power state) and records it through a
control activity: inventory changes, the service heartbeat, power-state sync.
It then destroys on the host whatever the control plane says must go (domains
of servers deleted while the host was down; unknown domains when reaping).

A host that does not pick the report up within the interval simply misses
its heartbeat: once the last one is older than ``service_down_time`` the
scheduler and os-services treat it as down.  The wait between reports is a
durable timer; the workflow continues as new every ``iterations_per_run``
reports so its history stays short.  It ends when the host's service is
deleted.
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
    from activities.hypervisor.power import HostPowerActivities
    from activities.types.hosts import (
        HostCleanupDoneInput,
        HostReport,
        HostReportInput,
        RecordHostReportInput,
        RecordHostReportResult,
    )
    from activities.types.hypervisor import DestroyInput
    from novaflow.queues import host_queue

from workflows.common import HOST_NO_RETRY, OpTimeouts, control, failure_message, on_host
from workflows.steps import StepTracking


@dataclass
class HostMonitorInput:
    hostname: str
    # Until the control plane's first answer says otherwise (settings.report_interval).
    report_interval_s: float = 10.0
    iterations_per_run: int = 200
    reports: int = 0  # carried across continue-as-new, for the query


@dataclass
class HostMonitorStatus:
    """What the last report found (the ``status`` query)."""

    hostname: str
    reports: int = 0
    missed: int = 0
    last_error: str | None = None
    unknown_domains: list[str] = field(default_factory=list)
    destroyed: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)


@workflow.defn(name="HostMonitorWorkflow")
class HostMonitorWorkflow(StepTracking):
    def __init__(self) -> None:
        super().__init__()
        self._wake = False
        self._status: HostMonitorStatus | None = None

    @workflow.query
    def status(self) -> HostMonitorStatus | None:
        return self._status

    @workflow.signal
    def report_now(self) -> None:
        """Report at once (the host worker just (re)started)."""
        self._wake = True

    @workflow.run
    async def run(self, inp: HostMonitorInput) -> str:
        host = inp.hostname
        self._status = HostMonitorStatus(hostname=host, reports=inp.reports)
        interval = inp.report_interval_s
        for _ in range(inp.iterations_per_run):
            self._wake = False
            result = await self._report_once(host, interval)
            if result is not None:
                interval = max(result.report_interval_s, 0.1)
                if not result.registered:
                    self.steps.at("host removed")
                    return f"{host}'s service was deleted"
            self.steps.at(f"next report in {interval:g}s")
            try:
                # A durable timer that the report_now signal can cut short.
                await workflow.wait_condition(lambda: self._wake,
                                              timeout=timedelta(seconds=interval))
            except TimeoutError:
                pass
            if workflow.info().is_continue_as_new_suggested():
                break
        self.steps.at("continuing as new")
        workflow.continue_as_new(HostMonitorInput(
            hostname=host, report_interval_s=interval,
            iterations_per_run=inp.iterations_per_run, reports=self._status.reports))

    async def _report_once(self, host: str, interval: float) -> RecordHostReportResult | None:
        status = self._status
        started = workflow.now()
        self.steps.at(f"report_host on {host}")
        try:
            report: HostReport = await workflow.execute_activity_method(
                HostPowerActivities.report_host, HostReportInput(hostname=host),
                task_queue=host_queue(host),
                # A host that cannot pick its report up within one interval missed it.
                schedule_to_start_timeout=timedelta(seconds=max(interval, 1.0)),
                # Listing domains takes well under a second; a report lost on the way
                # (a worker stopping as it was handed the task) must not stall us long.
                start_to_close_timeout=timedelta(seconds=max(5.0, 2 * interval)),
                retry_policy=HOST_NO_RETRY, summary=f"report_host {host}")
        except ActivityError as exc:
            status.missed += 1
            status.last_error = f"report_host: {failure_message(exc)}"
            return None
        self.steps.at("record_host_report")
        try:
            result: RecordHostReportResult = await control(
                HostStateActivities.record_host_report,
                RecordHostReportInput(report=report, started_at=started),
                summary=f"record_host_report {host} ({len(report.domains)} domains)")
        except ActivityError as exc:
            status.last_error = f"record_host_report: {failure_message(exc)}"
            return None
        status.reports += 1
        status.last_error = None
        status.unknown_domains = result.unknown
        status.changes = result.changes
        if result.destroy:
            await self._destroy(host, result.destroy, interval)
        return result

    async def _destroy(self, host: str, server_ids: list[str], interval: float) -> None:
        self.steps.at(f"destroying {len(server_ids)} leftover domain(s) on {host}")
        timeouts = OpTimeouts(host_schedule_to_start_s=max(interval, 1.0), host_step_s=60.0)
        done = await asyncio.gather(*(
            on_host(HostActivities.destroy_domain, DestroyInput(server_id=sid), host, timeouts,
                    summary=f"destroy leftover domain {sid}")
            for sid in server_ids), return_exceptions=True)
        destroyed = [sid for sid, r in zip(server_ids, done, strict=True)
                     if not isinstance(r, BaseException)]
        self._status.destroyed = (self._status.destroyed + destroyed)[-50:]
        if destroyed:
            try:
                await control(HostStateActivities.complete_host_cleanups,
                              HostCleanupDoneInput(hostname=host, server_ids=destroyed),
                              summary=f"complete_host_cleanups {host}")
            except ActivityError as exc:
                self._status.last_error = f"complete_host_cleanups: {failure_message(exc)}"
