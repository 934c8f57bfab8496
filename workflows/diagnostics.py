"""ServerDiagnosticsWorkflow: a server's diagnostics (Nova's
``GET /servers/{id}/diagnostics``), read on its host.

Like the console log (workflows/console.py), the counters live on the
server's host: this short workflow runs the host's ``get_diagnostics``
activity on the host's own queue and returns libvirt's numbers; the API
shapes them.  It changes nothing and records no instance action (Nova
records none either).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.hypervisor.activities import HostActivities
    from activities.types.diagnostics import DiagnosticsInput, GuestDiagnostics
    from novaflow.queues import host_queue

# A dead host should answer quickly, not after retries.
_ONCE = RetryPolicy(maximum_attempts=1)


@dataclass
class ServerDiagnosticsWorkflowInput:
    server_id: str
    host: str
    schedule_to_start_s: float = 10.0


@workflow.defn
class ServerDiagnosticsWorkflow:
    @workflow.run
    async def run(self, inp: ServerDiagnosticsWorkflowInput) -> GuestDiagnostics:
        return await workflow.execute_activity_method(
            HostActivities.get_diagnostics, DiagnosticsInput(server_id=inp.server_id),
            task_queue=host_queue(inp.host),
            schedule_to_start_timeout=timedelta(seconds=inp.schedule_to_start_s),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=_ONCE, summary=f"get_diagnostics on {inp.host}")
