"""ControlMonitorWorkflow: the control plane's own heartbeat.

Workflow id ``control-monitor``, started by every control worker (the first
start wins; later ones find it running).  Every ``report_interval_s`` it
records a tick through a local activity; a gap between ticks means Temporal or
the control plane was away, and host silence counts only from the tick that
ended it (novaflow/rules.py ``service_is_up``).  It continues as new every
``iterations_per_run`` ticks so its history stays short.  Every
``audit_every`` ticks it starts an AuditWorkflow (report only), whose
activity logs what it found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.control_clock import ControlClockActivities

from workflows.audit import AuditWorkflow, AuditWorkflowInput
from workflows.common import control
from workflows.steps import StepTracking


@dataclass
class ControlMonitorInput:
    report_interval_s: float = 10.0
    iterations_per_run: int = 500
    audit_every: int = 0  # ticks between periodic audits (0: none)
    ticks: int = 0  # carried across continue-as-new


@workflow.defn(name="ControlMonitorWorkflow")
class ControlMonitorWorkflow(StepTracking):
    @workflow.run
    async def run(self, inp: ControlMonitorInput) -> None:
        for _ in range(inp.iterations_per_run):
            inp.ticks += 1
            if inp.audit_every and inp.ticks % inp.audit_every == 0:
                # The audit logs what it finds (a log line with the count).
                await workflow.start_child_workflow(
                    AuditWorkflow.run, AuditWorkflowInput(),
                    id=f"audit-periodic-{workflow.uuid4()}",
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON)
            self.steps.at("record_control_tick")
            try:
                await control(ControlClockActivities.record_control_tick,
                              inp.report_interval_s, summary="tick")
            except ActivityError:
                pass  # the database is away: the next tick tries again
            self.steps.at(f"next tick in {inp.report_interval_s:g}s")
            await workflow.sleep(timedelta(seconds=inp.report_interval_s))
        workflow.continue_as_new(inp)
