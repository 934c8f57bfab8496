"""Reads of a server's consoles on its host: ConsoleOutputWorkflow (Nova's
``os-getConsoleOutput``) and RemoteConsoleWorkflow (where its VNC or serial
console listens, for a remote console's token).

The console log lives on the server's host, so the API cannot read it; this
short workflow runs the host's ``get_console_output`` activity on the host's
own queue and returns the text.  It changes nothing and records no instance
action (Nova records none for it either).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.hypervisor.activities import HostActivities
    from activities.hypervisor.console import ConsoleOutputInput, ConsoleOutputResult
    from activities.types.consoles import ConsoleEndpoint, ConsoleEndpointInput
    from novaflow.queues import host_queue

# A dead host should answer "not available" quickly, not after retries.
_ONCE = RetryPolicy(maximum_attempts=1)


@dataclass
class ConsoleOutputWorkflowInput:
    server_id: str
    host: str
    length: int | None = None
    schedule_to_start_s: float = 10.0


@workflow.defn
class ConsoleOutputWorkflow:
    @workflow.run
    async def run(self, inp: ConsoleOutputWorkflowInput) -> ConsoleOutputResult:
        return await workflow.execute_activity_method(
            HostActivities.get_console_output,
            ConsoleOutputInput(server_id=inp.server_id, length=inp.length),
            task_queue=host_queue(inp.host),
            schedule_to_start_timeout=timedelta(seconds=inp.schedule_to_start_s),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=_ONCE, summary=f"get_console_output on {inp.host}")


@dataclass
class RemoteConsoleWorkflowInput:
    server_id: str
    host: str
    protocol: str  # "vnc" or "serial"
    schedule_to_start_s: float = 10.0


@workflow.defn
class RemoteConsoleWorkflow:
    """Where the server's VNC or serial console listens, asked of its host
    (Nova's ``get_vnc_console`` / ``get_serial_console`` RPC to the compute
    host); the API issues the token from the answer."""

    @workflow.run
    async def run(self, inp: RemoteConsoleWorkflowInput) -> ConsoleEndpoint:
        return await workflow.execute_activity_method(
            HostActivities.get_console_endpoint,
            ConsoleEndpointInput(server_id=inp.server_id, protocol=inp.protocol),
            task_queue=host_queue(inp.host),
            schedule_to_start_timeout=timedelta(seconds=inp.schedule_to_start_s),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=_ONCE, summary=f"get_console_endpoint on {inp.host}")
