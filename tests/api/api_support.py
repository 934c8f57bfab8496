"""Helpers for the API tests: microversion headers, booting over HTTP,
Nova's error body, and running the real ``openstack`` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
from server_api import boot, mv, port_hosts, server, wait_gone, wait_status  # noqa: F401

OPENSTACK = Path(sys.executable).parent / "openstack"


def delete_all(client: httpx.Client, server_ids: list[str]) -> None:
    """Delete servers and wait until they are gone (tests share one cloud)."""
    for sid in server_ids:
        client.delete(f"/v2.1/servers/{sid}")
    for sid in server_ids:
        wait_gone(client, sid)


def assert_nova_error(resp: httpx.Response, status: int, key: str,
                      message: str | None = None) -> str:
    """The response is Nova's error body for ``status``, with both request ids."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert list(body) == [key], body
    assert body[key]["code"] == status
    assert isinstance(body[key]["message"], str) and body[key]["message"]
    assert "Traceback" not in resp.text and "detail" not in body
    assert resp.headers["x-openstack-request-id"].startswith("req-")
    assert resp.headers["x-compute-request-id"] == resp.headers["x-openstack-request-id"]
    if message is not None:
        assert message in body[key]["message"], body[key]["message"]
    return body[key]["message"]


class OpenStackCLI:
    """The real ``openstack`` command against a clouds.yaml, in a subprocess."""

    def __init__(self, clouds_file: Path):
        self.clouds_file = clouds_file
        self.calls = 0

    def __call__(self, *args: str, cloud: str = "novaflow", timeout: float = 120,
                 check: bool = True) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update(OS_CLIENT_CONFIG_FILE=str(self.clouds_file), OS_CLOUD=cloud)
        self.calls += 1
        proc = subprocess.run([str(OPENSTACK), *args], env=env, capture_output=True, check=False,
                              text=True, timeout=timeout)
        if check:
            assert proc.returncode == 0, (f"openstack {' '.join(args)} failed "
                                          f"({proc.returncode}):\n{proc.stderr}{proc.stdout}")
        return proc

    def json(self, *args: str, cloud: str = "novaflow", timeout: float = 120):
        return json.loads(self(*args, "-f", "json", cloud=cloud, timeout=timeout).stdout)


def cli_port_hosts(osc: OpenStackCLI, admin: httpx.Client, server_id: str) -> list[str]:
    """``binding_host_id`` of each of the server's ports, as ``openstack port
    show`` prints it to an admin."""
    ids = [p["id"] for p in admin.get("/networking/v2.0/ports",
                                      params={"device_id": server_id}).json()["ports"]]
    return [osc.json("port", "show", i, cloud="novaflow-admin")["binding_host_id"] or ""
            for i in ids]


def ssh_public_key() -> str:
    """A fresh OpenSSH public key, as ``ssh-keygen`` would print it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).decode() + " tester@novaflow"


def cinder_url(client: httpx.Client) -> str:
    """The Cinder stand-in's base URL for the client's project."""
    return f"/volume/v3/{client.keystone.project_id}"
