"""Aborting a live migration while it prepares, with the openstack CLI
(``server migration abort``): the migration ends ``cancelled``, the server
keeps running on its source with no fault, and the destination keeps no
domain and no claim.  Forcing one to complete during its switch-over
(``server migration force complete``) reaches the source host."""

from __future__ import annotations

import sys
import threading
import uuid
from pathlib import Path

from helpers import allocations, boot, domain, extra_host, server, wait_status
from stack import wait_for

from activities.hypervisor.libvirt_driver import LibvirtDriver

sys.path.insert(0, str(Path(__file__).parent.parent / "api"))
from api_support import OpenStackCLI

from novaflow.clouds import write_clouds_yaml


class HoldingCheckDriver(LibvirtDriver):
    """A destination whose pre-check waits until the test releases it."""

    def __init__(self, *args, **kwargs):
        self.holding, self.release = threading.Event(), threading.Event()
        super().__init__(*args, **kwargs)

    def check_can_live_migrate_destination(self, *args, **kwargs):
        self.holding.set()
        self.release.wait(60)
        return super().check_can_live_migrate_destination(*args, **kwargs)


class HoldingSwitchOverDriver(LibvirtDriver):
    """A source whose switch-over waits (outside the driver lock, as a real
    migrateToURI3 does) until the test releases it; records force_complete."""

    def __init__(self, *args, **kwargs):
        self.holding, self.release = threading.Event(), threading.Event()
        self.forced: list[str] = []
        super().__init__(*args, **kwargs)

    def live_migrate_to(self, server_id, dest, data):
        self.holding.set()
        self.release.wait(60)
        return super().live_migrate_to(server_id, dest, data)

    def live_migration_force_complete(self, server_id: str) -> None:
        self.forced.append(server_id)
        super().live_migration_force_complete(server_id)


def _migrations(admin, sid: str) -> list[dict]:
    resp = admin.get(f"/v2.1/servers/{sid}/migrations",
                     headers={"OpenStack-API-Version": "compute 2.65"})
    assert resp.status_code == 200, resp.text
    return resp.json()["migrations"]


def live_migrate_forced(admin, catalog_ids, name: str, src: str, dst: str) -> str:
    """Boot a server on ``src`` and live-migrate it to ``dst`` (forced, 2.30)."""
    sid = boot(admin, catalog_ids, name, availability_zone=f"nova:{src}")
    wait_status(admin, sid, {"ACTIVE"})
    resp = admin.post(f"/v2.1/servers/{sid}/action",
                      json={"os-migrateLive": {"host": dst, "block_migration": "auto",
                                               "force": True}},
                      headers={"OpenStack-API-Version": "compute 2.30"})
    assert resp.status_code == 202, resp.text
    return sid


def test_abort_a_preparing_live_migration_with_the_cli(stack, demo, admin, catalog_ids,
                                                      tmp_path):
    src, dst = (f"lm{k}-{uuid.uuid4().hex[:6]}" for k in "ab")
    osc = OpenStackCLI(write_clouds_yaml(tmp_path, stack.auth_url, stack.passwords))
    with extra_host(stack, admin, src), \
            extra_host(stack, admin, dst, driver_cls=HoldingCheckDriver) as dest:
        sid = live_migrate_forced(admin, catalog_ids, "lm-abort", src, dst)
        assert dest.holding.wait(20), "the pre-check never reached the destination"
        (mig,) = _migrations(admin, sid)
        assert mig["status"] == "preparing"
        url = f"/v2.1/servers/{sid}/migrations/{mig['id']}"
        assert demo.delete(url, headers={"OpenStack-API-Version": "compute 2.65"}
                           ).status_code in (403, 404)
        assert admin.delete(url, headers={"OpenStack-API-Version": "compute 2.64"}
                            ).status_code == 400  # only a running one before 2.65
        osc("--os-compute-api-version", "2.65", "server", "migration", "abort", sid,
            str(mig["id"]), cloud="novaflow-admin")
        dest.release.set()
        wait_for(lambda: server(admin, sid)["OS-EXT-STS:task_state"] is None, 30,
                 what="the abort to roll back")
        shown = server(admin, sid)
        assert shown["status"] == "ACTIVE" and shown["OS-EXT-SRV-ATTR:host"] == src
        assert "fault" not in shown
        listed = admin.get("/v2.1/os-migrations", params={"instance_uuid": sid},
                           headers={"OpenStack-API-Version": "compute 2.23"}).json()
        assert [m["status"] for m in listed["migrations"]] == ["cancelled"]
        assert [a[0] for a in allocations(stack, sid)] == [src]
        assert domain(stack, dst, sid) is None and domain(stack, src, sid) is not None


def test_force_complete_a_running_live_migration_with_the_cli(stack, admin, catalog_ids,
                                                             tmp_path):
    src, dst = (f"fc{k}-{uuid.uuid4().hex[:6]}" for k in "ab")
    osc = OpenStackCLI(write_clouds_yaml(tmp_path, stack.auth_url, stack.passwords))
    with extra_host(stack, admin, src, driver_cls=HoldingSwitchOverDriver) as source, \
            extra_host(stack, admin, dst):
        sid = live_migrate_forced(admin, catalog_ids, "lm-force", src, dst)
        assert source.holding.wait(20), "the switch-over never began"
        (mig,) = _migrations(admin, sid)
        assert mig["status"] == "running"
        osc("--os-compute-api-version", "2.22", "server", "migration", "force", "complete",
            sid, str(mig["id"]), cloud="novaflow-admin")
        assert source.forced == [sid]
        # Too late to abort now.
        refused = admin.delete(f"/v2.1/servers/{sid}/migrations/{mig['id']}",
                               headers={"OpenStack-API-Version": "compute 2.65"})
        assert refused.status_code == 400, refused.text
        source.release.set()
        wait_for(lambda: server(admin, sid)["OS-EXT-STS:task_state"] is None, 30,
                 what="the migration to finish")
        assert server(admin, sid)["OS-EXT-SRV-ATTR:host"] == dst
