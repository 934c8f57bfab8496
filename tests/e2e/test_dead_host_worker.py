"""A host worker that dies with a step in flight is noticed in seconds: host
steps heartbeat, so the operation does not wait out the step's start-to-close
timeout.  The worker runs in a process of its own and is killed for real."""

from __future__ import annotations

import signal
import time

import pytest
from host_workers import start_host_process, step_in_flight
from server_api import boot, wait_gone, wait_status
from sqlmodel import select
from stack import wait_for

from schema.models import Instance, PendingHostCleanup


@pytest.fixture
def held_host(stack, tmp_path):
    """A host worker process in zone ``held`` whose destroy_domain never returns."""
    proc = start_host_process(stack, tmp_path, "held-1", "held", "--stall", "destroy")
    yield proc
    proc.kill()
    proc.wait(10)


def test_a_delete_does_not_wait_for_a_worker_that_died_mid_destroy(stack, demo, catalog_ids,
                                                                   held_host):
    sid = boot(demo, catalog_ids, "doomed-host", availability_zone="held")
    wait_status(demo, sid, {"ACTIVE"})
    assert demo.delete(f"/v2.1/servers/{sid}").status_code == 204
    wait_for(lambda: step_in_flight(stack, f"delete-{sid}", "destroy_domain"), 30,
             what="destroy_domain running on held-1")
    held_host.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    wait_gone(demo, sid, timeout=30)
    took = time.monotonic() - killed
    print(f"dead host worker: the delete finished {took:.1f}s after the kill")
    assert took < 30, took
    with stack.db.reader() as s:
        # The domain is destroyed when held-1 reports again.
        assert s.exec(select(PendingHostCleanup).where(
            PendingHostCleanup.host == "held-1",
            PendingHostCleanup.instance_uuid == sid)).first() is not None
        assert s.exec(select(Instance).where(Instance.uuid == sid)).one().deleted
