"""A host worker that dies with a step in flight is noticed in seconds: host
steps heartbeat, so the operation does not wait out the step's start-to-close
timeout.  The worker runs in a process of its own and is killed for real."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from server_api import boot, wait_gone, wait_status
from sqlmodel import select
from stack import wait_for
from temporalio.api.enums.v1 import PendingActivityState

from schema.models import Instance, PendingHostCleanup

HERE = Path(__file__).parent


@pytest.fixture
def held_host(stack, tmp_path):
    """A host worker process in zone ``held`` whose destroy_domain never returns."""
    log = tmp_path / "held-1.log"
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "host_process.py"), str(tmp_path), "held-1", "held",
         stack.stack.settings.temporal_address, "--stall", "destroy"],
        stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "ready" in log.read_text() or proc.poll() is not None, 60,
                 what="held-1 to start")
        assert proc.poll() is None, log.read_text()[-2000:]
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


def destroy_in_flight(stack, workflow_id: str) -> bool:
    async def check() -> bool:
        desc = await stack.stack.client.get_workflow_handle(workflow_id).describe()
        return any(a.activity_type.name == "destroy_domain"
                   and a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
                   for a in desc.raw_description.pending_activities)
    try:
        return stack.call(check())
    except Exception:
        return False


def test_a_delete_does_not_wait_for_a_worker_that_died_mid_destroy(stack, demo, catalog_ids,
                                                                   held_host):
    sid = boot(demo, catalog_ids, "doomed-host", availability_zone="held")
    wait_status(demo, sid, {"ACTIVE"})
    assert demo.delete(f"/v2.1/servers/{sid}").status_code == 204
    wait_for(lambda: destroy_in_flight(stack, f"delete-{sid}"), 30,
             what="destroy_domain running on held-1")
    held_host.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    wait_gone(demo, sid, timeout=30)
    took = time.monotonic() - killed
    assert took < 30, took
    with stack.db.reader() as s:
        # The domain is destroyed when held-1 reports again.
        assert s.exec(select(PendingHostCleanup).where(
            PendingHostCleanup.host == "held-1",
            PendingHostCleanup.instance_uuid == sid)).first() is not None
        assert s.exec(select(Instance).where(Instance.uuid == sid)).one().deleted
