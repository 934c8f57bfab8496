"""The ``openstack`` CLI's day-2 commands of volume and interface attach and
rescue against the embedded stack, on one server (each CLI call costs a
process start): ``server add/remove volume``, ``server add/remove port``,
``server rescue --image`` / ``unrescue``."""

from __future__ import annotations

from api_support import boot, cinder_url, delete_all, wait_status
from stack import wait_for


def _volume_status(client, vol_id: str) -> str | None:
    resp = client.get(f"{cinder_url(client)}/volumes/{vol_id}")
    return resp.json()["volume"]["status"] if resp.status_code == 200 else None


def _ports(client, sid: str) -> set[str]:
    got = client.get(f"/v2.1/servers/{sid}/os-interface").json()["interfaceAttachments"]
    return {i["port_id"] for i in got}


def _idle(client, sid: str) -> bool:
    return client.get(f"/v2.1/servers/{sid}").json()["server"][
        "OS-EXT-STS:task_state"] is None


def test_cli_attach_detach_and_rescue(osc, demo, catalog_ids):
    sid = boot(demo, catalog_ids, "cli-day2")
    vol = demo.post(f"{cinder_url(demo)}/volumes", json={"volume": {"size": 1, "name": "cli"}}
                    ).json()["volume"]["id"]
    port = demo.post("/networking/v2.0/ports", json={"port": {
        "network_id": catalog_ids["network"]}}).json()["port"]["id"]
    try:
        wait_status(demo, sid, {"ACTIVE"})
        osc("server", "add", "volume", sid, vol)
        wait_for(lambda: _volume_status(demo, vol) == "in-use", 30, what="the volume in use")
        osc("server", "remove", "volume", sid, vol)
        wait_for(lambda: _volume_status(demo, vol) == "available", 30,
                 what="the volume available")

        osc("server", "add", "port", sid, port)
        assert port in _ports(demo, sid)
        osc("server", "remove", "port", sid, port)
        wait_for(lambda: port not in _ports(demo, sid) and _idle(demo, sid), 30,
                 what="the port detached")

        osc("server", "rescue", "--image", catalog_ids["image"], sid)
        wait_status(demo, sid, {"RESCUE"})
        osc("server", "unrescue", sid)
        wait_status(demo, sid, {"ACTIVE"})
    finally:
        delete_all(demo, [sid])
        demo.delete(f"{cinder_url(demo)}/volumes/{vol}")
        demo.delete(f"/networking/v2.0/ports/{port}")
