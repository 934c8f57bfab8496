"""No duplicate guests: a spawn that outlives its build attempt undoes itself,
and power sync reaps a domain of a server that lives on another host.

The frozen host is a worker process of its own, stopped with SIGSTOP while
its spawn is in flight and resumed after the build has gone ACTIVE
elsewhere."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from host_workers import start_host_process, step_in_flight
from server_api import boot, server, wait_gone, wait_status
from sqlmodel import select
from stack import wait_for

from activities.types.catalog import FlavorInfo, ImageInfo
from activities.types.hypervisor import SpawnInput
from schema.models import Instance


def domains(state: Path, name: str) -> list[str]:
    """The server ids with a domain on a host process's libvirt (its persisted state)."""
    path = state / "hosts" / f"{name}.domains.json"
    if not path.exists():
        return []
    return [d for d in json.loads(path.read_text())]


@pytest.fixture
def fence_hosts(stack, tmp_path):
    """fence-1 (chosen first: more free RAM) with a slow spawn, and fence-2."""
    procs = {"fence-1": start_host_process(stack, tmp_path, "fence-1", "fence", "--slow",
                                           "spawn", "--memory-mb", "65536"),
             "fence-2": start_host_process(stack, tmp_path, "fence-2", "fence")}
    yield tmp_path, procs
    for proc in procs.values():
        proc.send_signal(signal.SIGCONT)
        proc.kill()
        proc.wait(10)


def test_a_frozen_hosts_late_spawn_leaves_no_second_guest(stack, demo, admin, catalog_ids,
                                                          fence_hosts):
    state, procs = fence_hosts
    sid = boot(demo, catalog_ids, "fenced", availability_zone="fence")
    wait_for(lambda: step_in_flight(stack, f"boot-{sid}", "spawn"), 30, what="spawn on fence-1")
    procs["fence-1"].send_signal(signal.SIGSTOP)
    try:
        wait_status(demo, sid, {"ACTIVE"}, timeout=60)
        assert server(admin, sid)["OS-EXT-SRV-ATTR:host"] == "fence-2"
    finally:
        procs["fence-1"].send_signal(signal.SIGCONT)
    # The late spawn finishes its slow define on fence-1, then finds its attempt
    # superseded and destroys what it made: one guest, on fence-2.  (The
    # domain may live for less than a poll: the host's log says it was there.)
    # It was the host's own fence that caught it (the build's queued clean-up
    # for fence-1 is the second line of defence).
    wait_for(lambda: "spawn superseded" in (state / "fence-1.log").read_text(), 30,
             what="fence-1 to log the superseded spawn")
    wait_for(lambda: sid not in domains(state, "fence-1"), 15,
             what="the late spawn to undo itself")
    assert domains(state, "fence-2") == [sid]
    demo.delete(f"/v2.1/servers/{sid}")
    wait_gone(demo, sid)


def test_power_sync_reaps_a_domain_of_a_server_living_elsewhere(stack, demo, admin,
                                                                catalog_ids):
    sid = boot(demo, catalog_ids, "stray", availability_zone="nova")
    wait_status(demo, sid, {"ACTIVE"})
    home = server(admin, sid)["OS-EXT-SRV-ATTR:host"]
    other = next(h for h in ("host-1", "host-2") if h != home)
    # Plant a second domain of the server on another host, behind our back.
    driver = stack.stack.running_hosts[other].driver
    with stack.db.reader() as s:
        inst = s.exec(select(Instance).where(Instance.uuid == sid)).one()
    driver.spawn(SpawnInput(server_id=sid, name="stray", project_id=inst.project_id,
                            flavor=FlavorInfo(**{k: inst.flavor[k] for k in (
                                "flavorid", "name", "vcpus", "memory_mb", "root_gb")}),
                            image=ImageInfo(id=inst.image_ref, name="cirros"), ports=[]))
    settings = stack.stack.settings
    grace, settings.stray_domain_grace = settings.stray_domain_grace, 1
    try:
        wait_for(lambda: sid not in [d.server_id for d in driver.list_domains()], 30,
                 what=f"power sync on {other} to reap the stray domain")
    finally:
        settings.stray_domain_grace = grace
    home_driver = stack.stack.running_hosts[home].driver
    assert sid in [d.server_id for d in home_driver.list_domains()]
    assert server(demo, sid)["status"] == "ACTIVE"
    demo.delete(f"/v2.1/servers/{sid}")
    wait_gone(demo, sid)
