"""lock / unlock through the API and the openstack CLI: a locked server
refuses every other action (and delete) from its non-admin owner with Nova's
409, admins pass, who locked it decides who may unlock it, and 2.9 / 2.73
show ``locked`` / ``locked_reason`` and filter the list on ``locked``."""

from __future__ import annotations

import pytest
from api_support import assert_nova_error, boot, delete_all, mv, server, wait_status


@pytest.fixture(scope="module")
def active_server(demo, catalog_ids):
    sid = boot(demo, catalog_ids, "lockme")
    wait_status(demo, sid, {"ACTIVE"})
    yield sid
    demo.post(f"/v2.1/servers/{sid}/action", json={"unlock": None})
    delete_all(demo, [sid])


def _action(client, sid, body, version="2.1"):
    return client.post(f"/v2.1/servers/{sid}/action", json=body, headers=mv(version))


def _actions(client, sid) -> list[str]:
    acts = client.get(f"/v2.1/servers/{sid}/os-instance-actions").json()["instanceActions"]
    return [a["action"] for a in acts]


def test_owner_lock_refuses_the_owners_actions_and_delete(demo, admin, active_server):
    sid = active_server
    assert _action(demo, sid, {"lock": {"locked_reason": "maintenance"}}, "2.73"
                   ).status_code == 202
    shown = server(demo, sid, "2.73")
    assert shown["locked"] is True and shown["locked_reason"] == "maintenance"
    assert "locked" not in server(demo, sid, "2.8")
    for body in ({"os-stop": None}, {"reboot": {"type": "HARD"}}, {"pause": None}):
        assert_nova_error(_action(demo, sid, body), 409, "conflictingRequest",
                          f"Instance {sid} is locked")
    assert_nova_error(demo.delete(f"/v2.1/servers/{sid}"), 409, "conflictingRequest",
                      f"Instance {sid} is locked")
    # Locking again is allowed while locked; the server is untouched.
    assert _action(demo, sid, {"lock": None}).status_code == 202
    assert server(demo, sid)["status"] == "ACTIVE"
    # The owner's lock: the owner may lift it.
    assert _action(demo, sid, {"unlock": None}).status_code == 202
    shown = server(demo, sid, "2.73")
    assert shown["locked"] is False and shown["locked_reason"] is None
    assert _actions(demo, sid)[:2] == ["unlock", "lock"]


def test_admin_passes_a_lock_and_only_admin_lifts_its_own(demo, admin, active_server):
    sid = active_server
    assert _action(admin, sid, {"lock": None}).status_code == 202
    assert_nova_error(_action(demo, sid, {"unlock": None}), 403, "forbidden",
                      "os-lock-server:unlock:unlock_override")
    # An admin is not held by the lock.
    assert _action(admin, sid, {"os-stop": None}).status_code == 202
    wait_status(demo, sid, {"SHUTOFF"})
    assert _action(admin, sid, {"os-start": None}).status_code == 202
    wait_status(demo, sid, {"ACTIVE"})
    assert _action(admin, sid, {"unlock": None}).status_code == 202
    assert server(demo, sid, "2.9")["locked"] is False


def test_lock_body_is_checked_at_2_73(demo, active_server):
    sid = active_server
    assert_nova_error(_action(demo, sid, {"lock": {"reason": "x"}}, "2.73"), 400, "badRequest",
                      "Additional properties are not allowed")
    assert_nova_error(_action(demo, sid, {"lock": {"locked_reason": "x" * 256}}, "2.73"),
                      400, "badRequest")
    assert server(demo, sid, "2.9")["locked"] is False


def test_list_filters_on_locked_at_2_73(demo, active_server):
    sid = active_server
    assert _action(demo, sid, {"lock": None}).status_code == 202
    try:
        def ids(query: str, version: str = "2.73") -> set[str]:
            resp = demo.get(f"/v2.1/servers/detail?{query}", headers=mv(version))
            assert resp.status_code == 200, resp.text
            return {s["id"] for s in resp.json()["servers"]}
        assert sid in ids("locked=true") and sid not in ids("locked=False")
        assert sid in ids("locked=false", "2.72")  # not a filter before 2.73
        assert_nova_error(demo.get("/v2.1/servers?locked=maybe", headers=mv("2.73")), 400,
                          "badRequest", "Unrecognized value 'maybe'")
    finally:
        _action(demo, sid, {"unlock": None})


def test_lock_and_unlock_with_the_cli(osc, demo, active_server):
    sid = active_server
    osc("--os-compute-api-version", "2.73", "server", "lock", "--reason", "cli says so", sid)
    shown = server(demo, sid, "2.73")
    assert shown["locked"] is True and shown["locked_reason"] == "cli says so"
    listed = osc.json("--os-compute-api-version", "2.73", "server", "list", "--locked")
    assert sid in {s["ID"] for s in listed}
    refused = osc("server", "stop", sid, check=False)
    assert refused.returncode != 0 and f"Instance {sid} is locked" in refused.stderr
    osc("server", "unlock", sid)
    assert server(demo, sid, "2.9")["locked"] is False
