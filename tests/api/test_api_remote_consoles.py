"""Remote consoles: ``POST /servers/{id}/remote-consoles`` (2.6+), the legacy
``os-getVNCConsole`` / ``os-getSerialConsole`` actions, ``os-console-auth-
tokens`` and the console proxy.

On libvirt's test driver a guest has no console: Nova's answer for a guest
without one, 400 "Unavailable console type vnc.".  The happy path runs on a
host whose driver reports a plain TCP server this test starts as the
guest's console port (a real socket; the proxy relays real WebSocket frames
to it), with every other part real: the API, the host's activity, the token
in the database, the proxy.
"""

from __future__ import annotations

import hashlib
import socket
import socketserver
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from api_support import assert_nova_error, boot, delete_all, mv, server, wait_status
from doubles import restart_host_with
from sqlmodel import select
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from activities.hypervisor.libvirt_driver import LibvirtDriver
from activities.types.consoles import ConsoleEndpoint
from schema import console_tokens
from schema.models import ConsoleAuthToken

PROMPT = b"\r\nnovaflow-guest login: "


def _console(client, sid, protocol, kind, version="2.6"):
    return client.post(f"/v2.1/servers/{sid}/remote-consoles",
                       json={"remote_console": {"protocol": protocol, "type": kind}},
                       headers=mv(version))


def _legacy(client, sid, name, body, version="2.1"):
    return client.post(f"/v2.1/servers/{sid}/action", json={name: body}, headers=mv(version))


def _token_info(client, token, version="2.31"):
    return client.get(f"/v2.1/os-console-auth-tokens/{token}", headers=mv(version))


class _GuestConsole(socketserver.BaseRequestHandler):
    """A guest's serial port: prints a login prompt, echoes what it is sent."""

    def handle(self):
        self.request.sendall(PROMPT)
        while data := self.request.recv(4096):
            self.request.sendall(b"echo:" + data)


@pytest.fixture(scope="module")
def guest_port():
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _GuestConsole)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


class ConsoleOnTcpDriver(LibvirtDriver):
    """A test-driver host whose guests' consoles listen on the test's TCP port."""

    port = 0

    def console_endpoint(self, server_id: str, protocol: str) -> ConsoleEndpoint:
        with self._lock:
            self._lookup(server_id)
        return ConsoleEndpoint(host="127.0.0.1", port=type(self).port)


def _ws(url: str):
    return connect(url, open_timeout=10, close_timeout=5)


def _recv_until(ws, wanted: bytes, timeout: float = 10) -> bytes:
    got = b""
    deadline = time.monotonic() + timeout
    while wanted not in got:
        got += ws.recv(timeout=max(0.1, deadline - time.monotonic()))
    return got


def _refused(url: str) -> ConnectionClosed:
    with _ws(url) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=10)
    return closed.value


def test_test_driver_guests_have_no_console(demo, other, reader, catalog_ids):
    sid = boot(demo, catalog_ids, "console-none")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        for protocol, kind in (("vnc", "novnc"), ("serial", "serial")):
            assert_nova_error(_console(demo, sid, protocol, kind), 400, "badRequest",
                              f"Unavailable console type {protocol}.")
        assert_nova_error(_console(demo, sid, "vnc", "serial"), 400, "badRequest",
                          "Invalid console type serial.")
        assert_nova_error(_console(demo, sid, "serial", "novnc"), 400, "badRequest",
                          "Invalid console type novnc.")
        assert_nova_error(_console(demo, sid, "spice", "spice-html5"), 400, "badRequest",
                          "Unavailable console type spice-html5.")
        assert_nova_error(_console(demo, sid, "mks", "webmks"), 400, "badRequest")  # < 2.8
        assert_nova_error(_console(demo, sid, "mks", "webmks", "2.8"), 400, "badRequest",
                          "Unavailable console type webmks.")
        for bad in ({"protocol": "telnet", "type": "serial"}, {"protocol": "vnc"},
                    {"protocol": "vnc", "type": "novnc", "extra": 1}, "vnc"):
            resp = demo.post(f"/v2.1/servers/{sid}/remote-consoles",
                             json={"remote_console": bad}, headers=mv("2.6"))
            assert_nova_error(resp, 400, "badRequest")
        # Microversions: the route from 2.6, the legacy actions before it.
        assert_nova_error(_console(demo, sid, "vnc", "novnc", "2.5"), 404, "itemNotFound")
        assert_nova_error(_legacy(demo, sid, "os-getVNCConsole", {"type": "novnc"}), 400,
                          "badRequest", "Unavailable console type vnc.")
        assert_nova_error(_legacy(demo, sid, "os-getSerialConsole", {"type": "serial"}), 400,
                          "badRequest", "Unavailable console type serial.")
        assert_nova_error(_legacy(demo, sid, "os-getVNCConsole", {"type": "serial"}), 400,
                          "badRequest")
        assert_nova_error(_legacy(demo, sid, "os-getVNCConsole", {"type": "novnc"}, "2.6"),
                          404, "itemNotFound")
        # Policy: another project's server is not found; a reader may not.
        assert_nova_error(_console(other, sid, "vnc", "novnc"), 404, "itemNotFound")
        assert_nova_error(_console(reader, sid, "vnc", "novnc"), 403, "forbidden",
                          "os_compute_api:os-remote-consoles")
        # A server that is not ACTIVE has no console to open.
        assert demo.post(f"/v2.1/servers/{sid}/action", json={"os-stop": None}
                         ).status_code == 202
        wait_status(demo, sid, {"SHUTOFF"})
        assert_nova_error(_console(demo, sid, "serial", "serial"), 409, "conflictingRequest",
                          f"Cannot 'get_serial_console' instance {sid} while it is in "
                          "vm_state stopped")
    finally:
        delete_all(demo, [sid])


def test_console_session_through_the_proxy(stack, demo, admin, osc, catalog_ids, guest_port):
    sid = boot(demo, catalog_ids, "console-tcp")
    host = None
    try:
        wait_status(demo, sid, {"ACTIVE"})
        host = server(admin, sid)["OS-EXT-SRV-ATTR:host"]
        ConsoleOnTcpDriver.port = guest_port
        restart_host_with(stack, host, ConsoleOnTcpDriver)

        resp = _console(demo, sid, "serial", "serial")
        assert resp.status_code == 200, resp.text
        body = resp.json()["remote_console"]
        assert (body["protocol"], body["type"]) == ("serial", "serial")
        proxy = stack.stack.settings.console_proxy_base().replace("http://", "ws://")
        assert body["url"].startswith(f"{proxy}/?token=")
        token = parse_qs(urlsplit(body["url"]).query)["token"][0]

        # noVNC's URL form, the legacy action's shape.
        vnc = _console(demo, sid, "vnc", "novnc").json()["remote_console"]["url"]
        assert vnc.startswith(f"{stack.stack.settings.console_proxy_base()}/vnc_auto.html"
                              "?path=%3Ftoken%3D")
        legacy = _legacy(demo, sid, "os-getSerialConsole", {"type": "serial"})
        assert legacy.status_code == 200, legacy.text
        assert set(legacy.json()["console"]) == {"type", "url"}

        # Only the token's SHA-256 is stored.
        with stack.db.reader() as s:
            rows = s.exec(select(ConsoleAuthToken)
                          .where(ConsoleAuthToken.instance_uuid == sid)).all()
        assert len(rows) == 3
        assert hashlib.sha256(token.encode()).hexdigest() in {r.token_hash for r in rows}
        assert not any(token in str(r.model_dump()) for r in rows)

        # consoleauth: admins only; every console type from 2.31.
        info = _token_info(admin, token)
        assert info.status_code == 200, info.text
        assert info.json() == {"console": {"instance_uuid": sid, "host": "127.0.0.1",
                                           "port": guest_port, "internal_access_path": None}}
        assert_nova_error(_token_info(admin, token, "2.30"), 401, "unauthorized")
        assert_nova_error(_token_info(demo, token), 403, "forbidden",
                          "os_compute_api:os-console-auth-tokens")

        # The session: the guest's prompt arrives, keystrokes reach the guest.
        with _ws(body["url"]) as ws:
            assert PROMPT in _recv_until(ws, PROMPT)
            ws.send(b"root\n")
            assert b"echo:root\n" in _recv_until(ws, b"echo:root\n")
        # One use: the token is gone.
        closed = _refused(body["url"])
        assert closed.rcvd.code == 1008 and "invalid or has expired" in closed.rcvd.reason
        assert_nova_error(_token_info(admin, token), 404, "itemNotFound", "Token not found")

        # The openstack CLI's `console url show` (remote-consoles at 2.6).
        shown = osc.json("--os-compute-api-version", "2.6", "console", "url", "show",
                         "--serial", sid)
        assert shown["type"] == "serial" and shown["url"].startswith(f"{proxy}/?token=")
        with _ws(shown["url"]) as ws:
            assert PROMPT in _recv_until(ws, PROMPT)
    finally:
        if host is not None:
            restart_host_with(stack, host, LibvirtDriver)
        delete_all(demo, [sid])


def test_expired_unknown_and_orphaned_tokens_are_refused(stack, demo, admin, catalog_ids,
                                                         guest_port):
    proxy = stack.stack.settings.console_proxy_base().replace("http://", "ws://")
    sid = boot(demo, catalog_ids, "console-expired")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        with stack.db.writer() as s:
            expired = console_tokens.issue(
                s, instance_uuid=sid, console_type="serial", host="127.0.0.1",
                port=guest_port, internal_access_path=None,
                ttl=stack.stack.settings.console_token_ttl, now=time.time() - 601)
        assert_nova_error(_token_info(admin, expired), 404, "itemNotFound")
        assert _refused(f"{proxy}/?token={expired}").rcvd.code == 1008
        assert _refused(f"{proxy}/?token=nonsense").rcvd.code == 1008
        assert _refused(f"{proxy}/").rcvd.code == 1008
        with stack.db.writer() as s:
            orphan = console_tokens.issue(
                s, instance_uuid=sid, console_type="serial", host="127.0.0.1",
                port=guest_port, internal_access_path=None, ttl=600)
    finally:
        delete_all(demo, [sid])
    # The server is gone: its live token opens nothing.
    assert_nova_error(_token_info(admin, orphan), 404, "itemNotFound")
    assert _refused(f"{proxy}/?token={orphan}").rcvd.code == 1008


def test_proxy_reports_an_unreachable_console(stack, demo, catalog_ids):
    proxy = stack.stack.settings.console_proxy_base().replace("http://", "ws://")
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    sid = boot(demo, catalog_ids, "console-dead")
    try:
        wait_status(demo, sid, {"ACTIVE"})
        with stack.db.writer() as s:
            token = console_tokens.issue(
                s, instance_uuid=sid, console_type="serial", host="127.0.0.1",
                port=dead_port, internal_access_path=None, ttl=600)
        closed = _refused(f"{proxy}/?token={token}")
        assert closed.rcvd.code == 1011
    finally:
        delete_all(demo, [sid])
