"""AuditWorkflow: compare the database with the hypervisors and Temporal,
and optionally heal what is safe (activities/audit.py says what).

Workflow id ``audit-<uuid>`` (``novaflow audit``), or started periodically by
the control monitor.  Steps: the scope (hosts, operations that should be
running); every host's domains, from its own queue, in parallel (a host that
does not answer is reported, not guessed at); which operations really run;
the comparison (and database fixes); with ``fix``, leftover domains are
destroyed on their hosts.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.audit import AuditActivities
    from activities.hypervisor.activities import HostActivities
    from activities.hypervisor.power import HostPowerActivities
    from activities.temporal_ops import TemporalActivities
    from activities.types.audit import AuditInput, AuditResult, HostDomains
    from activities.types.hosts import HostReport, HostReportInput
    from activities.types.hypervisor import DestroyInput
    from novaflow.queues import host_queue

from workflows.common import CONTROL_RETRY, HOST_NO_RETRY, OpTimeouts, control, on_host
from workflows.steps import StepTracking


@dataclass
class AuditWorkflowInput:
    fix: bool = False
    host_timeout_s: float = 10.0


@workflow.defn(name="AuditWorkflow")
class AuditWorkflow(StepTracking):
    @workflow.run
    async def run(self, inp: AuditWorkflowInput) -> AuditResult:
        self.steps.at("audit_scope")
        scope = await control(AuditActivities.audit_scope, 0, summary="audit_scope")
        self.steps.at(f"asking {len(scope.hosts)} host(s) for their domains")
        domains = await asyncio.gather(*(self._domains(h, inp) for h in scope.hosts))
        self.steps.at("running_workflows")
        running = await workflow.execute_activity_method(
            TemporalActivities.running_workflows, scope.workflow_ids,
            task_queue=workflow.info().task_queue, retry_policy=CONTROL_RETRY,
            start_to_close_timeout=timedelta(seconds=60), summary="running_workflows")
        self.steps.at("audit")
        result: AuditResult = await control(
            AuditActivities.audit, AuditInput(domains=list(domains),
                                              running_workflows=running, fix=inp.fix),
            summary="audit" + (" --fix" if inp.fix else ""))
        if result.destroy:
            self.steps.at(f"destroying {len(result.destroy)} leftover domain(s)")
            timeouts = OpTimeouts(host_schedule_to_start_s=inp.host_timeout_s, host_step_s=60.0)
            done = await asyncio.gather(*(
                on_host(HostActivities.destroy_domain, DestroyInput(server_id=d.subject),
                        d.host, timeouts, summary=f"destroy {d.kind} {d.subject}")
                for d in result.destroy), return_exceptions=True)
            for d, outcome in zip(result.destroy, done, strict=True):
                d.fixed = not isinstance(outcome, BaseException)
            fixed = {(d.subject, d.host): d.fixed for d in result.destroy}
            for d in result.discrepancies:
                d.fixed = fixed.get((d.subject, d.host), d.fixed)
        self.steps.at("done")
        return result

    async def _domains(self, host: str, inp: AuditWorkflowInput) -> HostDomains:
        try:
            report: HostReport = await workflow.execute_activity_method(
                HostPowerActivities.report_host, HostReportInput(hostname=host),
                task_queue=host_queue(host),
                schedule_to_start_timeout=timedelta(seconds=inp.host_timeout_s),
                start_to_close_timeout=timedelta(seconds=inp.host_timeout_s),
                retry_policy=HOST_NO_RETRY, summary=f"report_host {host}")
        except ActivityError:
            return HostDomains(host=host, server_ids=[], reachable=False)
        return HostDomains(host=host, server_ids=[d.server_id for d in report.domains])
