"""Host workers in processes of their own (tests/e2e/host_process.py), for
tests that kill or freeze them, and a check for a host step in flight."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from stack import wait_for
from temporalio.api.enums.v1 import PendingActivityState

HOST_PROCESS = Path(__file__).parent / "e2e" / "host_process.py"


def start_host_process(stack, state: Path, name: str, zone: str,
                       *args: str) -> subprocess.Popen:
    """A host worker process; its output (logs included) goes to STATE/NAME.log."""
    log = state / f"{name}.log"
    proc = subprocess.Popen(
        [sys.executable, str(HOST_PROCESS), str(state), name, zone,
         stack.stack.settings.temporal_address, str(stack.stack.state_dir), *args],
        stdout=log.open("w"), stderr=subprocess.STDOUT)
    wait_for(lambda: "ready" in log.read_text() or proc.poll() is not None, 60,
             what=f"{name} to start")
    assert proc.poll() is None, log.read_text()[-2000:]
    return proc


def step_in_flight(stack, workflow_id: str, activity_type: str) -> bool:
    """True while ``activity_type`` has been picked up by a worker and not finished."""
    async def check() -> bool:
        desc = await stack.stack.client.get_workflow_handle(workflow_id).describe()
        return any(a.activity_type.name == activity_type
                   and a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
                   for a in desc.raw_description.pending_activities)
    try:
        return stack.call(check())
    except Exception:
        return False
