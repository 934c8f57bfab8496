"""``POST /v2.1/os-server-external-events`` and the build's wait for
``network-vif-plugged``: the Neutron stand-in sends the event through that
API when a port is bound, the boot workflow waits for it before ACTIVE;
with Neutron's notifications off the wait runs out, and
``vif_plugging_is_fatal`` decides between ERROR (ports cleaned up) and
ACTIVE."""

from __future__ import annotations

import contextlib
import uuid

from api_support import assert_nova_error, boot, delete_all, mv, server, wait_status

URL = "/v2.1/os-server-external-events"


def _events(client, sid) -> list[dict]:
    acts = client.get(f"/v2.1/servers/{sid}/os-instance-actions").json()["instanceActions"]
    req = next(a["request_id"] for a in acts if a["action"] == "create")
    detail = client.get(f"/v2.1/servers/{sid}/os-instance-actions/{req}",
                        headers=mv("2.84")).json()["instanceAction"]
    return detail.get("events", [])


def _ports(admin, sid) -> list[dict]:
    return admin.get("/networking/v2.0/ports", params={"device_id": sid}).json()["ports"]


@contextlib.contextmanager
def overridden(settings, **values):
    """The stack's settings changed for one test (the API reads them per request)."""
    old = {k: getattr(settings, k) for k in values}
    for k, v in values.items():
        setattr(settings, k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            setattr(settings, k, v)


def test_a_build_waits_for_the_vif_plugged_neutron_sends(demo, admin, catalog_ids):
    sid = boot(demo, catalog_ids, "vif-wait")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        (port,) = _ports(admin, sid)
        (wait,) = [e for e in _events(admin, sid) if e["event"].startswith("wait_vif_plugged")]
        assert wait["result"] == "Success", wait
        assert wait["details"] == f"plugged: {port['id']}"
    finally:
        delete_all(demo, [sid])


def test_the_events_api_answers_each_event(demo, admin, catalog_ids, stack):
    event = {"name": "network-changed", "server_uuid": str(uuid.uuid4())}
    assert_nova_error(demo.post(URL, json={"events": [event]}), 403, "forbidden")
    assert_nova_error(admin.post(URL, json={"events": [event]}), 404, "itemNotFound",
                      "No instances found for any event")
    assert_nova_error(admin.post(URL, json={"events": [{**event, "name": "power-update"}]}),
                      400, "badRequest")
    sid = boot(demo, catalog_ids, "vif-events")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        resp = admin.post(URL, json={"events": [
            {"name": "network-changed", "server_uuid": sid, "tag": "p-1"}, event]})
        assert resp.status_code == 207, resp.text
        assert [e["code"] for e in resp.json()["events"]] == [200, 404]
        assert resp.json()["events"][0] == {"name": "network-changed", "server_uuid": sid,
                                            "tag": "p-1", "status": "completed", "code": 200}
        # The control plane's service user (role service) may send them too.
        with stack.client("novaflow") as service:
            ok = service.post(URL, json={"events": [{"name": "network-vif-plugged",
                                                     "server_uuid": sid}]})
        assert ok.status_code == 200, ok.text
    finally:
        delete_all(demo, [sid])


def test_vif_plugging_timeout_fatal_fails_and_cleans_up(demo, admin, catalog_ids, stack):
    settings = stack.stack.settings
    with overridden(settings, notify_nova_on_port_status_changes=False,
                    vif_plugging_timeout=2, vif_plugging_is_fatal=True), \
            overridden(settings.scheduler, max_attempts=1):
        sid = boot(demo, catalog_ids, "vif-fatal")
        try:
            s = wait_status(demo, sid, {"ACTIVE", "ERROR"})
            assert s["status"] == "ERROR", s
            assert _ports(admin, sid) == []
            (wait,) = [e for e in _events(admin, sid)
                       if e["event"].startswith("wait_vif_plugged")]
            assert wait["result"] == "Error", wait
            assert "Virtual Interface creation failed (not plugged within 2s" in wait["details"]
        finally:
            delete_all(demo, [sid])


def test_vif_plugging_timeout_not_fatal_goes_active(demo, admin, catalog_ids, stack):
    with overridden(stack.stack.settings, notify_nova_on_port_status_changes=False,
                    vif_plugging_timeout=2, vif_plugging_is_fatal=False):
        sid = boot(demo, catalog_ids, "vif-not-fatal")
        try:
            assert wait_status(demo, sid, {"ACTIVE", "ERROR"})["status"] == "ACTIVE"
            assert server(admin, sid)["OS-EXT-SRV-ATTR:host"]
            assert len(_ports(admin, sid)) == 1
            (wait,) = [e for e in _events(admin, sid)
                       if e["event"].startswith("wait_vif_plugged")]
            assert wait["details"].startswith("not plugged within 2s")
        finally:
            delete_all(demo, [sid])
