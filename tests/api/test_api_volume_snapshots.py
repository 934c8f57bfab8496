"""The Cinder stand-in's snapshots: create, list, show and delete in
Cinder's shapes (checked against tempest's schemas by the client hooks), an
in-use volume only with force, and a volume with snapshots kept."""

from __future__ import annotations

import uuid

from api_support import cinder_url


def _error(resp, code: int, text: str) -> None:
    assert resp.status_code == code, resp.text
    body = resp.json()
    assert text in next(iter(body.values()))["message"], body


def _in_use(client, vol_id: str) -> str:
    """Attach the volume through Cinder's attachments API; its attachment id."""
    base = cinder_url(client)
    made = client.post(f"{base}/attachments", json={"attachment": {
        "volume_uuid": vol_id, "instance_uuid": str(uuid.uuid4()),
        "connector": {"host": "h", "mountpoint": "/dev/vdb"}}})
    assert made.status_code == 200, made.text
    att = made.json()["attachment"]["id"]
    done = client.post(f"{base}/attachments/{att}/action", json={"os-complete": None})
    assert done.status_code == 204, done.text
    return att


def test_snapshot_lifecycle(demo, admin):
    base = cinder_url(demo)
    vol = demo.post(f"{base}/volumes", json={"volume": {"size": 2, "name": "src"}})
    vol_id = vol.json()["volume"]["id"]
    made = demo.post(f"{base}/snapshots", json={"snapshot": {
        "volume_id": vol_id, "name": "snap1", "description": "first",
        "metadata": {"k": "v"}}})
    assert made.status_code == 202, made.text
    snap = made.json()["snapshot"]
    assert (snap["volume_id"], snap["size"], snap["status"], snap["name"],
            snap["metadata"]) == (vol_id, 2, "available", "snap1", {"k": "v"})
    sid = snap["id"]
    try:
        limits = demo.get(f"{base}/limits").json()["limits"]["absolute"]
        assert limits["totalSnapshotsUsed"] >= 1
        listed = demo.get(f"{base}/snapshots").json()["snapshots"]
        assert sid in {s["id"] for s in listed}
        detail = demo.get(f"{base}/snapshots/detail", params={"volume_id": vol_id})
        assert [s["id"] for s in detail.json()["snapshots"]] == [sid]
        shown = demo.get(f"{base}/snapshots/{sid}").json()["snapshot"]
        assert shown["os-extended-snapshot-attributes:project_id"] == \
            demo.keystone.project_id
        # Another project does not see it; the volume with a snapshot stays.
        _error(admin.get(f"{cinder_url(admin)}/snapshots/{uuid.uuid4()}"), 404,
               "could not be found")
        assert sid not in {s["id"] for s in
                           admin.get(f"{cinder_url(admin)}/snapshots").json()["snapshots"]}
        _error(demo.delete(f"{base}/volumes/{vol_id}"), 400, "have snapshots")
        _error(demo.post(f"{base}/snapshots", json={"snapshot": {
            "volume_id": str(uuid.uuid4())}}), 404, "could not be found")
        _error(demo.post(f"{base}/snapshots", json={"snapshot": {"name": "x"}}), 400, "")
    finally:
        assert demo.delete(f"{base}/snapshots/{sid}").status_code == 202
    _error(demo.get(f"{base}/snapshots/{sid}"), 404, f"Snapshot {sid} could not be found.")
    assert demo.delete(f"{base}/volumes/{vol_id}").status_code == 202


def test_in_use_volume_needs_force(demo):
    base = cinder_url(demo)
    vol_id = demo.post(f"{base}/volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
    att = _in_use(demo, vol_id)
    _error(demo.post(f"{base}/snapshots", json={"snapshot": {"volume_id": vol_id}}), 400,
           f"Invalid volume: Volume {vol_id} status must be available, but current "
           "status is: in-use.")
    made = demo.post(f"{base}/snapshots", json={"snapshot": {"volume_id": vol_id,
                                                             "force": True}})
    assert made.status_code == 202, made.text
    assert demo.delete(f"{base}/snapshots/{made.json()['snapshot']['id']}").status_code == 202
    assert demo.delete(f"{base}/attachments/{att}").status_code == 200
    assert demo.delete(f"{base}/volumes/{vol_id}").status_code == 202


def test_os_snapshots_proxy(demo):
    """Nova's os-snapshots (< 2.36) over the Cinder stand-in's snapshots."""
    base = cinder_url(demo)
    vol_id = demo.post(f"{base}/volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
    att = _in_use(demo, vol_id)
    bad = demo.post("/v2.1/os-snapshots", json={"snapshot": {"volume_id": vol_id}})
    _error(bad, 400, "status must be available")
    _error(demo.post("/v2.1/os-snapshots", json={"snapshot": {"volume_id": vol_id,
                                                              "size": 1}}), 400, "")
    made = demo.post("/v2.1/os-snapshots", json={"snapshot": {
        "volume_id": vol_id, "force": "true", "display_name": "nova-snap",
        "display_description": "through nova"}})
    assert made.status_code == 200, made.text
    snap = made.json()["snapshot"]
    assert (snap["volumeId"], snap["size"], snap["displayName"], snap["displayDescription"]) \
        == (vol_id, 1, "nova-snap", "through nova")
    sid = snap["id"]
    try:
        for path in ("/v2.1/os-snapshots", "/v2.1/os-snapshots/detail"):
            assert sid in {s["id"] for s in demo.get(path).json()["snapshots"]}
        assert demo.get(f"/v2.1/os-snapshots/{sid}").json()["snapshot"]["status"] == \
            "available"
        # Removed at 2.36, as Nova.
        gone = demo.get(f"/v2.1/os-snapshots/{sid}",
                        headers={"OpenStack-API-Version": "compute 2.36"})
        assert gone.status_code == 404
    finally:
        assert demo.delete(f"/v2.1/os-snapshots/{sid}").status_code == 202
    _error(demo.get(f"/v2.1/os-snapshots/{sid}"), 404, f"Snapshot {sid} could not be found.")
    _error(demo.delete(f"/v2.1/os-snapshots/{sid}"), 404, "could not be found")
    assert demo.delete(f"{base}/attachments/{att}").status_code == 200
    assert demo.delete(f"{base}/volumes/{vol_id}").status_code == 202
