"""``novaflow up`` as an operator runs it: the API, the control worker and
the hosts in child processes it supervises (workers/children.py).

One stack for the module, started from the command line on free ports: a
server boots through the API child, a host child killed behind its back is
restarted and its hosts report again, and Ctrl-C stops every child.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from identity import Login, issue_token
from stack import free_port, wait_for

from api.metadata_service import sign

REPO = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    state = tmp_path_factory.mktemp("up") / "state"
    ports = {name: free_port()
             for name in ("api", "temporal", "ui", "keystone", "glance", "codec", "metadata",
                          "consoles")}
    log = (state.parent / "up.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "up", "--state-dir", str(state),
         "--api-port", str(ports["api"]), "--temporal-port", str(ports["temporal"]),
         "--ui-port", str(ports["ui"]), "--keystone-port", str(ports["keystone"]),
         "--glance-port", str(ports["glance"]),
         "--codec-port", str(ports["codec"]), "--metadata-port", str(ports["metadata"]),
         "--console-proxy-port", str(ports["consoles"]),
         "--hosts", "2"],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    out = state.parent / "up.log"
    try:
        wait_for(lambda: "novaflow is up" in out.read_text(errors="replace")
                 or proc.poll() is not None, 180, what="novaflow up to start")
        assert proc.poll() is None, out.read_text()[-3000:]
        yield proc, state, ports
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


def children(state: Path) -> dict[str, int]:
    return {p.stem: int(p.read_text()) for p in (state / "run").glob("*.ready")}


def test_a_server_boots_through_the_child_processes(up):
    proc, state, ports = up
    pids = children(state)
    assert set(pids) == {"api", "control", "hosts", "metadata", "console-proxy"}
    assert len(set(pids.values()) | {proc.pid}) == len(pids) + 1
    assert all(_alive(p) for p in pids.values())
    password = json.loads((state / "passwords.json").read_text())["demo"]
    token, _ = issue_token(f"http://127.0.0.1:{ports['keystone']}/v3",
                           Login("demo", password, "demo"))
    api = f"http://127.0.0.1:{ports['api']}"
    with httpx.Client(base_url=api, headers={"X-Auth-Token": token}, timeout=30) as http:
        image = httpx.get(f"http://127.0.0.1:{ports['glance']}/v2/images",
                          params={"name": "cirros"}, headers={"X-Auth-Token": token},
                          timeout=30).json()["images"][0]
        net = http.get("/networking/v2.0/networks", params={"name": "private"}).json()
        resp = http.post("/v2.1/servers", json={"server": {
            "name": "up-vm", "flavorRef": "1", "imageRef": image["id"],
            "networks": [{"uuid": net["networks"][0]["id"]}]}})
        assert resp.status_code == 202, resp.text
        sid = resp.json()["server"]["id"]
        wait_for(lambda: http.get(f"/v2.1/servers/{sid}").json()["server"]["status"]
                 in ("ACTIVE", "ERROR"), 60, what="the server to boot")
        shown = http.get(f"/v2.1/servers/{sid}").json()["server"]
        assert shown["status"] == "ACTIVE"
        # The metadata child tells the guest its port, read from the network
        # service as the service user (Neutron's metadata proxy signs the id).
        secret = json.loads((state / "metadata-secret.json").read_text())["secret"]
        md = httpx.get(f"http://127.0.0.1:{ports['metadata']}/openstack/latest/"
                       "network_data.json", timeout=30, headers={
                           "X-Instance-ID": sid, "X-Tenant-ID": shown["tenant_id"],
                           "X-Instance-ID-Signature": sign(secret, sid)})
        assert md.status_code == 200, md.text
        addr = shown["addresses"]["private"][0]
        assert md.json()["networks"][0]["ip_address"] == addr["addr"]
        assert http.delete(f"/v2.1/servers/{sid}").status_code == 204
        wait_for(lambda: http.get(f"/v2.1/servers/{sid}").status_code == 404, 60,
                 what="the server to go")


def test_the_console_proxy_child_checks_tokens(up):
    _, state, ports = up
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    secret = "s3cret-console-token"
    with connect(f"ws://127.0.0.1:{ports['consoles']}/?token={secret}", open_timeout=10) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd.code == 1008
    log = state / "logs" / "console-proxy.log"
    wait_for(lambda: "console connection refused" in log.read_text(), 10,
             what="the proxy to log the refusal")
    assert secret not in log.read_text()  # uvicorn's "WebSocket /?token=..." line is masked


def test_a_killed_child_is_restarted(up):
    _, state, _ = up
    old = children(state)["hosts"]
    (state / "run" / "hosts.ready").unlink()
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: (state / "run" / "hosts.ready").exists(), 60,
             what="the hosts child to come back")
    new = children(state)["hosts"]
    assert new != old and _alive(new) and not _alive(old)
    assert "child exited; restarting it" in (state.parent / "up.log").read_text()


def test_ctrl_c_stops_every_child(up):
    proc, state, _ = up
    pids = children(state)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 0
    wait_for(lambda: not any(_alive(p) for p in pids.values()), 30,
             what="every child to exit")
    print(f"stopped in {time.monotonic() - started:.1f}s")
