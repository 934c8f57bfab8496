"""Activities that talk to Temporal itself (e.g. wait for another workflow)."""

from __future__ import annotations

import asyncio

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from activities.types.instances import WaitClosedInput


class TemporalActivities:
    """Operations on other workflows, with the worker's own client."""

    def __init__(self, client: Client):
        self.client = client

    @activity.defn(name="wait_workflow_closed")
    async def wait_workflow_closed(self, inp: WaitClosedInput) -> str:
        """Wait until the workflow is closed; returns its final status name."""
        handle = self.client.get_workflow_handle(inp.workflow_id)
        while True:
            try:
                desc = await handle.describe()
            except RPCError:
                return "NOT_FOUND"
            if desc.status != WorkflowExecutionStatus.RUNNING:
                return desc.status.name if desc.status else "UNKNOWN"
            activity.heartbeat()
            await asyncio.sleep(0.2)  # polling a remote state; bounded by the activity timeout

    @activity.defn(name="running_workflows")
    async def running_workflows(self, workflow_ids: list[str]) -> list[str]:
        """Of these workflows, the ones still running (for the audit)."""
        async def running(wf_id: str) -> bool:
            try:
                desc = await self.client.get_workflow_handle(wf_id).describe()
            except RPCError:
                return False
            return desc.status == WorkflowExecutionStatus.RUNNING
        states = await asyncio.gather(*(running(w) for w in workflow_ids))
        return [w for w, up in zip(workflow_ids, states, strict=True) if up]
