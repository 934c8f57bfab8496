"""Cold and live migration end to end over HTTP against the real stack: to a
named host or where the scheduler says, the server kept running through a
live migration, migration records as Nova shows them, and a failure
injected at each live-migration step (helpers from test_resize.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from helpers import boot, domain, port_hosts, server, wait_status
from stack import wait_for
from test_resize import (
    TINY,
    FaultyDriver,
    act,
    all_allocations,
    boot_on,
    delete_all,
    failed_events,
    fault,
    fault_hosts,
    host_of,
    migration,
    resize,
    settled,
)

from novaflow.states import PowerState

V = {f"v{v}": {"OpenStack-API-Version": f"compute 2.{v}"} for v in (1, 22, 23, 25, 56, 59, 80)}
LIVE = {"os-migrateLive": {"host": None, "block_migration": "auto"}}


def other_nova_host(host: str) -> str:
    return {"host-1": "host-2", "host-2": "host-1"}[host]


# -- cold migration ---------------------------------------------------------------------


def test_cold_migrate_to_a_named_host(stack, demo, admin, catalog_ids):
    sid = boot(demo, catalog_ids, "mg-named", flavor="1", availability_zone="nova")
    wait_status(demo, sid, {"ACTIVE"})
    source = host_of(admin, sid)
    target = other_nova_host(source)
    req = act(admin, sid, {"migrate": {"host": target}}, headers=V["v56"]).headers[
        "x-openstack-request-id"]
    s = settled(demo, sid, {"VERIFY_RESIZE", "ACTIVE", "ERROR"})
    assert s["status"] == "VERIFY_RESIZE" and s["flavor"]["id"] == "1"  # same flavor
    assert host_of(admin, sid) == target
    assert domain(stack, target, sid).power_state == PowerState.RUNNING
    assert domain(stack, source, sid).power_state == PowerState.SHUTDOWN
    listed = admin.get("/v2.1/os-migrations", params={"instance_uuid": sid},
                       headers=V["v59"]).json()["migrations"]
    assert len(listed) == 1
    mig = listed[0]
    assert (mig["migration_type"], mig["status"]) == ("migration", "finished")
    assert (mig["source_compute"], mig["dest_compute"]) == (source, target)
    assert mig["old_instance_type_id"] == mig["new_instance_type_id"] is not None
    assert port_hosts(admin, sid) == [target]
    actions = admin.get(f"/v2.1/servers/{sid}/os-instance-actions").json()["instanceActions"]
    assert any(a["action"] == "migrate" and a["request_id"] == req for a in actions)

    act(demo, sid, {"confirmResize": None}, expect=204)
    assert settled(demo, sid, {"ACTIVE", "ERROR"})["status"] == "ACTIVE"
    assert host_of(admin, sid) == target and domain(stack, source, sid) is None
    assert all_allocations(stack, sid) == {"instance": [(target, *TINY)], "migration": []}
    assert port_hosts(admin, sid) == [target]
    delete_all(demo, sid)


def test_migrate_requests_nova_refuses_and_what_members_may_do(stack, demo, admin,
                                                               catalog_ids):
    sid = boot(demo, catalog_ids, "mg-policy", flavor="1", availability_zone="nova")
    wait_status(demo, sid, {"ACTIVE"})
    source = host_of(admin, sid)
    url = f"/v2.1/servers/{sid}/action"
    # Naming a host is for admins.
    resp = demo.post(url, json={"migrate": {"host": other_nova_host(source)}}, headers=V["v56"])
    assert resp.status_code == 403 and "forbidden" in resp.json()
    resp = demo.post(url, json={"os-migrateLive": {"host": other_nova_host(source),
                                                   "block_migration": "auto"}},
                     headers=V["v25"])
    assert resp.status_code == 403
    # Before 2.56 migrate takes no body; unknown and current hosts are refused.
    assert admin.post(url, json={"migrate": {"host": "host-1"}}).status_code == 400
    resp = admin.post(url, json={"migrate": {"host": "no-such-host"}}, headers=V["v56"])
    assert resp.status_code == 400
    assert resp.json()["badRequest"]["message"] == "Compute host no-such-host could not be found."
    resp = admin.post(url, json={"migrate": {"host": source}}, headers=V["v56"])
    assert resp.status_code == 400 and "to current host" in resp.json()["badRequest"]["message"]
    # os-migrateLive's body per microversion.
    for body, headers in (
            ({"os-migrateLive": {"host": None}}, V["v25"]),  # block_migration required
            ({"os-migrateLive": {"host": None, "block_migration": "maybe"}}, V["v25"]),
            ({"os-migrateLive": {"host": None, "block_migration": "auto"}}, V["v1"]),
            ({"os-migrateLive": {"host": None, "block_migration": True, "force": True}},
             V["v25"]),
            ({"os-migrateLive": None}, V["v25"])):
        resp = admin.post(url, json=body, headers=headers)
        assert resp.status_code == 400, (body, resp.text)
    assert migration(stack, sid) is None  # nothing was started

    # A member may move their server when the scheduler chooses where.
    act(demo, sid, {"migrate": None})
    assert settled(demo, sid, {"VERIFY_RESIZE", "ACTIVE", "ERROR"})["status"] == "VERIFY_RESIZE"
    assert host_of(admin, sid) == other_nova_host(source)
    act(demo, sid, {"revertResize": None})
    assert settled(demo, sid, {"ACTIVE", "ERROR"})["status"] == "ACTIVE"
    assert host_of(admin, sid) == source
    delete_all(demo, sid)


# -- live migration -------------------------------------------------------------------


def test_live_migration_moves_the_domain_and_keeps_the_server_running(
        stack, demo, admin, catalog_ids):
    sid = boot(demo, catalog_ids, "lm-run", flavor="1", availability_zone="nova")
    wait_status(demo, sid, {"ACTIVE"})
    source = host_of(admin, sid)
    act(demo, sid, LIVE, headers=V["v25"])
    seen: set[tuple[str, int]] = set()

    def done():
        s = server(admin, sid)
        seen.add((s["status"], s["OS-EXT-STS:power_state"]))
        return s if s["OS-EXT-STS:task_state"] is None else None

    s = wait_for(done, 30, what="the live migration to end")
    assert s["status"] == "ACTIVE"
    assert {power for _status, power in seen} == {PowerState.RUNNING}  # never stopped
    dest = host_of(admin, sid)
    assert dest == other_nova_host(source)
    assert domain(stack, dest, sid).power_state == PowerState.RUNNING
    assert domain(stack, source, sid) is None
    assert all_allocations(stack, sid) == {"instance": [(dest, *TINY)], "migration": []}
    assert port_hosts(admin, sid) == [dest]  # Neutron: bound where the guest runs
    mig = migration(stack, sid)
    assert (mig.migration_type, mig.status) == ("live-migration", "completed")
    # Nothing in progress any more.
    assert admin.get(f"/v2.1/servers/{sid}/migrations",
                     headers=V["v23"]).json() == {"migrations": []}
    delete_all(demo, sid)


def test_live_migrating_a_paused_server_keeps_it_paused(stack, demo, admin, catalog_ids):
    sid = boot(demo, catalog_ids, "lm-paused", flavor="1", availability_zone="nova")
    wait_status(demo, sid, {"ACTIVE"})
    source = host_of(admin, sid)
    act(demo, sid, {"pause": None})
    settled(demo, sid, {"PAUSED"})
    act(demo, sid, LIVE, headers=V["v25"])
    s = settled(demo, sid, {"PAUSED", "ACTIVE", "ERROR"})
    assert s["status"] == "PAUSED" and s["OS-EXT-STS:power_state"] == PowerState.PAUSED
    dest = host_of(admin, sid)
    assert dest == other_nova_host(source)
    assert domain(stack, dest, sid).power_state == PowerState.PAUSED
    assert domain(stack, source, sid) is None
    assert migration(stack, sid).status == "completed"
    act(demo, sid, {"unpause": None})
    assert settled(demo, sid, {"ACTIVE", "ERROR"})["status"] == "ACTIVE"
    assert domain(stack, dest, sid).power_state == PowerState.RUNNING
    delete_all(demo, sid)


@pytest.fixture(scope="module")
def lm(stack, admin) -> Iterator[dict[str, FaultyDriver]]:
    """lm-a (sources), lm-b (the preferred destination: larger), lm-c, in zone lm."""
    with fault_hosts(stack, admin, "lm", {"lm-a": (16, 32768), "lm-b": (32, 65536),
                                          "lm-c": (16, 32768)}) as drivers:
        yield drivers


def live_to(admin, sid: str, host: str | None, block: object = "auto") -> str:
    resp = act(admin, sid, {"os-migrateLive": {"host": host, "block_migration": block}},
               headers=V["v25"])
    return resp.headers["x-openstack-request-id"]


def test_a_live_migration_in_progress_shows_in_the_server_migrations(
        stack, admin, demo, catalog_ids, lm):
    sid = boot_on(admin, catalog_ids, "lm-progress", "lm-a", "lm")
    url = f"/v2.1/servers/{sid}/migrations"
    gate = threading.Event()
    lm["lm-a"].hold = {"live_migrate_to": gate}  # the switch-over waits
    try:
        live_to(admin, sid, "lm-b", block=False)  # shared storage: no block migration
        wait_for(lambda: (migration(stack, sid) or None) and migration(
            stack, sid).status == "running", 30, what="the migration to run")
        s = server(admin, sid)
        assert (s["status"], s["OS-EXT-STS:power_state"]) == ("MIGRATING", PowerState.RUNNING)
        listed = admin.get(url, headers=V["v80"]).json()["migrations"]
        assert len(listed) == 1
        mig = listed[0]
        assert (mig["status"], mig["source_compute"], mig["dest_compute"],
                mig["server_uuid"]) == ("running", "lm-a", "lm-b", sid)
        assert mig["uuid"] and mig["project_id"] == admin.keystone.project_id
        shown = admin.get(f"{url}/{mig['id']}", headers=V["v80"])
        assert shown.status_code == 200 and shown.json()["migration"] == mig
        row = admin.get("/v2.1/os-migrations", params={"instance_uuid": sid},
                        headers=V["v23"]).json()["migrations"][0]
        assert row["links"][0]["href"].endswith(f"/v2.1/servers/{sid}/migrations/{mig['id']}")
        # Still running on the source; the destination holds the incoming domain.
        assert domain(stack, "lm-a", sid).power_state == PowerState.RUNNING
        assert domain(stack, "lm-b", sid) is not None
        for body in ({"resize": {"flavorRef": "2"}}, {"migrate": None}, LIVE):
            resp = admin.post(f"/v2.1/servers/{sid}/action", json=body, headers=V["v25"])
            assert resp.status_code == 409, resp.text
            assert "task_state migrating" in resp.json()["conflictingRequest"]["message"]
        assert admin.get(url, headers=V["v22"]).status_code == 404  # 2.23 and later
        assert admin.get(url, headers={"X-Auth-Token": demo.keystone.token(), **V["v23"]}
                         ).status_code in (403, 404)
    finally:
        gate.set()
        lm["lm-a"].hold = {}
    s = settled(admin, sid, {"ACTIVE", "ERROR"})
    assert s["status"] == "ACTIVE" and host_of(admin, sid) == "lm-b"
    assert domain(stack, "lm-b", sid).power_state == PowerState.RUNNING
    assert domain(stack, "lm-a", sid) is None
    assert admin.get(url, headers=V["v23"]).json() == {"migrations": []}
    resp = admin.get(f"{url}/{migration(stack, sid).id}", headers=V["v23"])
    assert resp.status_code == 404 and "is not in progress" in resp.text
    delete_all(admin, sid)


def test_block_migration_over_shared_storage_is_refused_by_the_source_check(
        stack, admin, catalog_ids, lm):
    sid = boot_on(admin, catalog_ids, "lm-block", "lm-a", "lm")
    req = live_to(admin, sid, "lm-b", block=True)
    wait_for(lambda: migration(stack, sid).status == "error", 30, what="migration error")
    s = settled(admin, sid, {"ACTIVE", "ERROR"})
    assert s["status"] == "ACTIVE" and host_of(admin, sid) == "lm-a"
    assert domain(stack, "lm-a", sid).power_state == PowerState.RUNNING
    assert "Block migration can not be used with shared storage." in fault(
        stack, sid)["message"]
    assert failed_events(admin, sid, req)[0][:2] == ("check_can_live_migrate_source", "lm-a")
    assert all_allocations(stack, sid) == {"instance": [("lm-a", *TINY)], "migration": []}
    delete_all(admin, sid)


LIVE_FAILURES = [
    # (driver step, the host it breaks, the workflow step)
    ("check_can_live_migrate_destination", "lm-b", "check_can_live_migrate_destination"),
    ("check_can_live_migrate_source", "lm-a", "check_can_live_migrate_source"),
    ("pre_live_migration", "lm-b", "pre_live_migration"),
    ("live_migrate_to", "lm-a", "live_migration"),
]


@pytest.mark.parametrize("driver_step,broken,step", LIVE_FAILURES,
                         ids=[f[0] for f in LIVE_FAILURES])
def test_a_failed_live_migration_step_leaves_the_server_running_on_its_source(
        stack, admin, catalog_ids, lm, driver_step, broken, step):
    sid = boot_on(admin, catalog_ids, f"lm-{step}", "lm-a", "lm")
    lm[broken].fail = {driver_step}
    try:
        req = live_to(admin, sid, "lm-b")
        wait_for(lambda: migration(stack, sid).status == "error", 30, what="migration error")
        s = settled(admin, sid, {"ACTIVE", "ERROR"})
    finally:
        lm[broken].fail = set()
    assert s["status"] == "ACTIVE" and s["OS-EXT-STS:power_state"] == PowerState.RUNNING
    assert host_of(admin, sid) == "lm-a"
    assert domain(stack, "lm-a", sid).power_state == PowerState.RUNNING
    assert domain(stack, "lm-b", sid) is None  # rolled back at the destination
    assert all_allocations(stack, sid) == {"instance": [("lm-a", *TINY)], "migration": []}
    assert port_hosts(admin, sid) == ["lm-a"]  # the roll-back keeps the source's binding
    assert f"injected failure in {driver_step}" in migration(stack, sid).error
    assert f"{step} on {broken} failed" in fault(stack, sid)["message"]
    assert failed_events(admin, sid, req)[0][:2] == (step, broken)
    delete_all(admin, sid)


def test_a_failure_after_the_switch_over_is_not_hidden(stack, admin, catalog_ids, lm):
    # The guest already runs on the destination: no going back, but say so.
    sid = boot_on(admin, catalog_ids, "lm-post-dest", "lm-a", "lm")
    lm["lm-b"].fail = {"post_live_migration_at_destination"}
    try:
        live_to(admin, sid, "lm-b")
        wait_for(lambda: migration(stack, sid).status == "error", 30, what="migration error")
        s = settled(admin, sid, {"ACTIVE", "ERROR"})
    finally:
        lm["lm-b"].fail = set()
    assert s["status"] == "ERROR"
    assert "post_live_migration_at_destination on lm-b failed" in s["fault"]["message"]
    assert host_of(admin, sid) == "lm-b" and domain(stack, "lm-a", sid) is None
    assert all_allocations(stack, sid) == {"instance": [("lm-b", *TINY)], "migration": []}
    delete_all(admin, sid)
    assert domain(stack, "lm-b", sid) is None

    # A source that cannot be cleaned afterwards: the server runs on the
    # destination, the migration says what is left behind where.
    sid = boot_on(admin, catalog_ids, "lm-post-src", "lm-a", "lm")
    lm["lm-a"].fail = {"post_live_migration"}
    try:
        req = live_to(admin, sid, "lm-b")
        wait_for(lambda: migration(stack, sid).status == "error", 30, what="migration error")
        s = settled(admin, sid, {"ACTIVE", "ERROR"})
    finally:
        lm["lm-a"].fail = set()
    assert s["status"] == "ACTIVE" and host_of(admin, sid) == "lm-b"
    assert domain(stack, "lm-b", sid).power_state == PowerState.RUNNING
    assert "post_live_migration on lm-a failed" in migration(stack, sid).error
    assert failed_events(admin, sid, req)[0][:2] == ("post_live_migration", "lm-a")
    assert all_allocations(stack, sid) == {"instance": [("lm-b", *TINY)], "migration": []}
    delete_all(admin, sid)


def test_a_failed_destination_check_tries_the_next_host(stack, admin, catalog_ids, lm):
    sid = boot_on(admin, catalog_ids, "lm-resched", "lm-a", "lm")
    lm["lm-b"].fail = {"check_can_live_migrate_destination"}
    try:
        req = live_to(admin, sid, None)  # the scheduler chooses: lm-b first, the larger
        s = settled(admin, sid, {"ACTIVE", "ERROR"})
    finally:
        lm["lm-b"].fail = set()
    assert s["status"] == "ACTIVE" and host_of(admin, sid) == "lm-c"
    assert migration(stack, sid).status == "completed"
    assert [e[:2] for e in failed_events(admin, sid, req)] == [
        ("check_can_live_migrate_destination", "lm-b")]
    assert all_allocations(stack, sid) == {"instance": [("lm-c", *TINY)], "migration": []}
    delete_all(admin, sid)


def test_live_migration_to_a_host_that_does_not_answer(stack, admin, catalog_ids, lm):
    sid = boot_on(admin, catalog_ids, "lm-dead", "lm-a", "lm")
    st = stack.stack
    running = st.running_hosts["lm-b"]
    stack.call(st.stop_host("lm-b"))  # its worker is gone; its service not yet down
    try:
        req = live_to(admin, sid, "lm-b")
        wait_for(lambda: migration(stack, sid).status == "error", 30, what="migration error")
        s = settled(admin, sid, {"ACTIVE", "ERROR"})
    finally:
        drv = FaultyDriver(running.driver.uri, "lm-b", local_gb=200,
                           persist_path=running.driver._persist_path,
                           images_dir=running.driver._images_dir)
        stack.call(st.start_host(running.host, driver=drv))
        lm["lm-b"] = drv
    assert s["status"] == "ACTIVE" and host_of(admin, sid) == "lm-a"
    assert domain(stack, "lm-a", sid).power_state == PowerState.RUNNING
    message = fault(stack, sid)["message"]
    assert "check_can_live_migrate_destination on lm-b failed: the host did not respond" \
        in message
    assert failed_events(admin, sid, req)[0][:2] == ("check_can_live_migrate_destination",
                                                     "lm-b")
    assert all_allocations(stack, sid) == {"instance": [("lm-a", *TINY)], "migration": []}
    delete_all(admin, sid)


# -- migration records ------------------------------------------------------------------


def test_os_migrations_in_novas_shapes(stack, demo, admin, catalog_ids):
    sid = boot(demo, catalog_ids, "mg-records", flavor="1", availability_zone="nova")
    wait_status(demo, sid, {"ACTIVE"})
    resize(demo, sid, "2")
    assert settled(demo, sid, {"VERIFY_RESIZE", "ACTIVE", "ERROR"})["status"] == "VERIFY_RESIZE"
    q = {"instance_uuid": sid}
    assert demo.get("/v2.1/os-migrations", params=q).status_code == 403  # admins only

    base = {"id", "instance_uuid", "status", "source_compute", "source_node", "dest_compute",
            "dest_node", "dest_host", "old_instance_type_id", "new_instance_type_id",
            "created_at", "updated_at"}
    shapes = {"v1": base, "v23": base | {"migration_type"},
              "v59": base | {"migration_type", "uuid"},
              "v80": base | {"migration_type", "uuid", "user_id", "project_id"}}
    for version, keys in shapes.items():
        rows = admin.get("/v2.1/os-migrations", params=q, headers=V[version]).json()[
            "migrations"]
        assert len(rows) == 1
        assert set(rows[0]) == keys, version
    row = rows[0]
    assert (row["status"], row["migration_type"]) == ("finished", "resize")
    assert row["old_instance_type_id"] != row["new_instance_type_id"]
    assert (row["user_id"], row["project_id"]) == (demo.keystone.user_id,
                                                   demo.keystone.project_id)
    # The move's workflow: the Novaflow-Workflow header of its instance action.
    actions = admin.get(f"/v2.1/servers/{sid}/os-instance-actions").json()["instanceActions"]
    rid = next(a["request_id"] for a in actions if a["action"] == "resize")
    shown = admin.get(f"/v2.1/servers/{sid}/os-instance-actions/{rid}")
    assert shown.headers["Novaflow-Workflow"].startswith(f"resize-{sid}-")
    assert "links" not in row  # links are for live migrations in progress only
    # Filters and paging (2.59).
    assert admin.get("/v2.1/os-migrations", params={**q, "migration_type": "live-migration"},
                     headers=V["v23"]).json()["migrations"] == []
    assert admin.get("/v2.1/os-migrations", params={**q, "status": "finished"},
                     headers=V["v23"]).json()["migrations"][0]["id"] == row["id"]
    act(demo, sid, {"revertResize": None})
    assert settled(demo, sid, {"ACTIVE", "ERROR"})["status"] == "ACTIVE"
    resize(demo, sid, "2")  # a second record, newest first
    assert settled(demo, sid, {"VERIFY_RESIZE", "ACTIVE", "ERROR"})["status"] == "VERIFY_RESIZE"
    page = admin.get("/v2.1/os-migrations", params={**q, "limit": 1}, headers=V["v59"]).json()
    assert len(page["migrations"]) == 1 and "marker=" in page["migrations_links"][0]["href"]
    assert page["migrations"][0]["status"] == "finished"
    nxt = admin.get("/v2.1/os-migrations",
                    params={**q, "limit": 1, "marker": page["migrations"][0]["uuid"]},
                    headers=V["v59"]).json()["migrations"]
    assert [m["uuid"] for m in nxt] == [row["uuid"]]
    assert nxt[0]["status"] == "reverted"
    assert admin.get("/v2.1/os-migrations", params={"marker": "nope"},
                     headers=V["v59"]).status_code == 400
    act(demo, sid, {"revertResize": None})
    assert settled(demo, sid, {"ACTIVE", "ERROR"})["status"] == "ACTIVE"
    assert all_allocations(stack, sid)["instance"] == [(host_of(admin, sid), *TINY)]
    delete_all(demo, sid)

