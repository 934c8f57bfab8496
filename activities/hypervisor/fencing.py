"""Fencing late spawns: a host creates a server only while it is still the
chosen host of the build attempt that asked.

A spawn can outlive its attempt: a worker frozen or cut off past the step's
heartbeat timeout resumes after the build has rescheduled elsewhere (or been
deleted).  Before creating the domain, and again right after, the host asks
the build's workflow (its ``claimed_host`` query, answered by the control
plane) which host and attempt are current; a spawn that is no longer current
undoes itself.  It asks only when the attempt can have been given up: once
it is older than half its heartbeat timeout, or cancelled
(``activities/hypervisor/activities._may_be_superseded``); a prompt spawn
skips both queries.  Hosts still never open the database: the question goes
through Temporal.  If the control plane cannot answer, the spawn proceeds;
power sync reaps any domain left on a host its server does not live on
(activities/host_reports.py), so that is the second line of defence.
"""

from __future__ import annotations

from temporalio.client import Client

from activities.types.hypervisor import ClaimedHost
from novaflow import logs

log = logs.get_logger("novaflow.host")

CLAIMED_HOST_QUERY = "claimed_host"


class Fence:
    """Asks a build's workflow whether a host is still its chosen one."""

    def __init__(self, client: Client, hostname: str):
        self.client = client
        self.hostname = hostname

    async def still_chosen(self, workflow_id: str, attempt: int) -> bool:
        """False only when the build says another host or attempt is current."""
        try:
            claimed = await self.client.get_workflow_handle(workflow_id).query(
                CLAIMED_HOST_QUERY, result_type=ClaimedHost)
        except Exception as exc:  # the control plane cannot answer: do not block the build
            log.warning("could not confirm the claim; spawning anyway",
                        workflow_id=workflow_id, error=str(exc))
            return True
        current = claimed.host == self.hostname and claimed.attempt == attempt
        if not current:
            log.warning("spawn superseded", workflow_id=workflow_id, attempt=attempt,
                        current_host=claimed.host, current_attempt=claimed.attempt)
        return current
