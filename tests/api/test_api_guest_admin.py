"""os-resetState (admin), trigger_crash_dump (2.17) and changePassword
through the API and the openstack CLI (``server set --state``, ``server dump
create``, ``server set --password``)."""

from __future__ import annotations

import pytest
from api_support import assert_nova_error, boot, delete_all, mv, server, wait_status
from stack import wait_for


@pytest.fixture(scope="module")
def active_server(demo, catalog_ids):
    sid = boot(demo, catalog_ids, "guest-admin")
    wait_status(demo, sid, {"ACTIVE"})
    yield sid
    delete_all(demo, [sid])


def _action(client, sid, body, version="2.1"):
    return client.post(f"/v2.1/servers/{sid}/action", json=body, headers=mv(version))


def _events(client, sid, action: str) -> list[dict]:
    acts = client.get(f"/v2.1/servers/{sid}/os-instance-actions").json()["instanceActions"]
    req = next(a["request_id"] for a in acts if a["action"] == action)
    detail = client.get(f"/v2.1/servers/{sid}/os-instance-actions/{req}",
                        headers=mv("2.51")).json()["instanceAction"]
    return detail.get("events", [])


def test_reset_state_is_for_admins_and_clears_the_task(stack, demo, admin, active_server):
    sid = active_server
    assert_nova_error(_action(demo, sid, {"os-resetState": {"state": "error"}}), 403,
                      "forbidden", "reset_state")
    assert_nova_error(_action(admin, sid, {"os-resetState": {"state": "paused"}}), 400,
                      "badRequest")
    assert _action(admin, sid, {"os-resetState": {"state": "error"}}).status_code == 202
    shown = server(demo, sid)
    assert shown["status"] == "ERROR" and shown["OS-EXT-STS:task_state"] is None
    assert _action(admin, sid, {"os-resetState": {"state": "active"}}).status_code == 202
    assert server(demo, sid)["status"] == "ACTIVE"
    acts = demo.get(f"/v2.1/servers/{sid}/os-instance-actions").json()["instanceActions"]
    assert [a["action"] for a in acts][:2] == ["resetState", "resetState"]


def test_crash_dump_injects_an_nmi_and_records_the_event(demo, active_server):
    sid = active_server
    assert_nova_error(_action(demo, sid, {"trigger_crash_dump": None}, "2.16"), 404,
                      "itemNotFound")
    assert _action(demo, sid, {"trigger_crash_dump": None}, "2.17").status_code == 202
    events = wait_for(lambda: _events(demo, sid, "trigger_crash_dump"), 15,
                      what="the crash dump's event")
    assert [(e["event"], e["result"]) for e in events] == [
        ("compute_trigger_crash_dump", "Success")]
    assert server(demo, sid)["status"] == "ACTIVE"


def test_crash_dump_answers_the_tables_409_on_a_stopped_server(demo, active_server):
    sid = active_server
    assert _action(demo, sid, {"os-stop": None}).status_code == 202
    wait_status(demo, sid, {"SHUTOFF"})
    try:
        assert_nova_error(_action(demo, sid, {"trigger_crash_dump": None}, "2.17"), 409,
                          "conflictingRequest",
                          f"Cannot 'trigger_crash_dump' instance {sid} while it is in "
                          "vm_state stopped")
    finally:
        assert _action(demo, sid, {"os-start": None}).status_code == 202
        wait_status(demo, sid, {"ACTIVE"})


def test_set_state_and_dump_create_with_the_cli(osc, demo, active_server):
    sid = active_server
    osc("server", "set", "--auto-approve", "--state", "error", sid, cloud="novaflow-admin")
    assert server(demo, sid)["status"] == "ERROR"
    osc("server", "set", "--auto-approve", "--state", "active", sid,
        cloud="novaflow-admin")
    assert server(demo, sid)["status"] == "ACTIVE"
    osc("--os-compute-api-version", "2.17", "server", "dump", "create", sid)
    wait_for(lambda: len([a for a in demo.get(f"/v2.1/servers/{sid}/os-instance-actions")
                          .json()["instanceActions"]
                          if a["action"] == "trigger_crash_dump"]) >= 1, 15,
             what="a trigger_crash_dump action")


def test_change_password_answers_novas_409_where_the_driver_cannot(stack, demo, osc,
                                                                  active_server):
    sid = active_server
    assert_nova_error(_action(demo, sid, {"changePassword": {}}), 400, "badRequest",
                      "'adminPass' is a required property")
    # libvirt's test driver is no kvm/qemu host: Nova's SetAdminPasswdNotSupported.
    assert_nova_error(_action(demo, sid, {"changePassword": {"adminPass": "n3w"}}), 409,
                      "conflictingRequest", "Set admin password is not supported")
    refused = osc("server", "set", "--password", "n3w", sid, check=False)
    assert refused.returncode != 0 and "Set admin password is not supported" in refused.stderr
    assert server(demo, sid)["status"] == "ACTIVE"
