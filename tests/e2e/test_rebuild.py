"""Rebuild on a real host worker: a hypervisor that refuses the rebuild
leaves the server in ERROR holding only what it held before (its ports and
allocation, freed by the delete), and a delete while the host is rebuilding
cancels the rebuild and leaves nothing anywhere."""

from __future__ import annotations

import threading
import uuid

from helpers import allocations, boot, domain, extra_host, ports, server, wait_gone, wait_status
from stack import wait_for
from temporalio.client import WorkflowExecutionStatus

from activities.hypervisor.faults import FaultInjectingDriver
from activities.hypervisor.libvirt_driver import LibvirtDriver


class HoldingRebuildDriver(LibvirtDriver):
    """A host whose rebuild waits until the test releases it."""

    def __init__(self, *args, **kwargs):
        self.holding, self.release = threading.Event(), threading.Event()
        super().__init__(*args, **kwargs)

    def rebuild(self, inp, preserve_ephemeral=False, power_on=True):
        with self._lock:  # a libvirt call that takes its time
            self.holding.set()
            self.release.wait(60)
            return super().rebuild(inp, preserve_ephemeral, power_on)


def _rebuild(client, sid, image):
    resp = client.post(f"/v2.1/servers/{sid}/action", json={"rebuild": {"imageRef": image}})
    assert resp.status_code == 202, resp.text


def _workflow(stack, sid: str):
    with stack.db.reader() as s:
        from sqlmodel import select

        from schema.models import InstanceAction
        act = s.exec(select(InstanceAction).where(InstanceAction.instance_uuid == sid,
                                                  InstanceAction.action == "rebuild")).one()
    return stack.stack.client.get_workflow_handle(act.workflow_id)


def test_a_refused_rebuild_leaves_error_and_the_delete_frees_everything(stack, admin,
                                                                       catalog_ids):
    name = f"rbfail-{uuid.uuid4().hex[:6]}"
    with extra_host(stack, admin, name, driver_cls=FaultInjectingDriver,
                    faults={"rebuild"}):
        sid = boot(admin, catalog_ids, "rb-fail", availability_zone=f"nova:{name}")
        wait_status(admin, sid, {"ACTIVE"})
        held = (allocations(stack, sid), ports(stack, sid))
        _rebuild(admin, sid, catalog_ids["image"])
        failed = wait_status(admin, sid, {"ERROR"})
        assert "injected fault: rebuild refused" in failed["fault"]["message"]
        assert failed["OS-EXT-STS:task_state"] is None
        assert (allocations(stack, sid), ports(stack, sid)) == held  # nothing new, nothing lost
        assert admin.delete(f"/v2.1/servers/{sid}").status_code == 204
        wait_gone(admin, sid, timeout=30)
        assert domain(stack, name, sid) is None
        assert allocations(stack, sid) == [] and ports(stack, sid) == []


def test_delete_while_the_host_rebuilds(stack, admin, catalog_ids):
    name = f"rbhold-{uuid.uuid4().hex[:6]}"
    with extra_host(stack, admin, name, driver_cls=HoldingRebuildDriver) as driver:
        sid = boot(admin, catalog_ids, "rb-del", availability_zone=f"nova:{name}")
        wait_status(admin, sid, {"ACTIVE"})
        _rebuild(admin, sid, catalog_ids["image"])
        assert driver.holding.wait(20), "the rebuild never reached the host"
        assert server(admin, sid)["status"] == "REBUILD"
        assert admin.delete(f"/v2.1/servers/{sid}").status_code == 204
        handle = _workflow(stack, sid)
        wait_for(lambda: stack.call(handle.describe()).status
                 == WorkflowExecutionStatus.CANCELED, 20, what="the rebuild to be cancelled")
        driver.release.set()
        wait_gone(admin, sid, timeout=30)
        wait_for(lambda: domain(stack, name, sid) is None, 10, what="the domain to go")
        assert allocations(stack, sid) == [] and ports(stack, sid) == []
