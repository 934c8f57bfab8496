"""Driving servers through the Compute API in tests: boot, show, and wait for
a status or for deletion, each wait on a condition with a deadline."""

from __future__ import annotations

import httpx
from stack import wait_for


def mv(version: str) -> dict[str, str]:
    """Headers asking for a compute microversion."""
    return {"OpenStack-API-Version": f"compute {version}"}


def boot(client: httpx.Client, ids: dict[str, str], name: str, flavor: str = "1",
         headers: dict | None = None, **extra) -> str:
    """POST /servers with the catalog's image and network; returns the server id."""
    body = {"server": {"name": name, "flavorRef": flavor, "imageRef": ids["image"],
                       "networks": [{"uuid": ids["network"]}], **extra}}
    resp = client.post("/v2.1/servers", json=body, headers=headers or {})
    assert resp.status_code == 202, resp.text
    return resp.json()["server"]["id"]


def server(client: httpx.Client, server_id: str, version: str = "2.1") -> dict:
    resp = client.get(f"/v2.1/servers/{server_id}", headers=mv(version))
    assert resp.status_code == 200, resp.text
    return resp.json()["server"]


def wait_status(client: httpx.Client, server_id: str, statuses: set[str],
                timeout: float = 60) -> dict:
    def check():
        s = server(client, server_id)
        return s if s["status"] in statuses else None
    return wait_for(check, timeout, what=f"server {server_id} to reach {statuses}")


def wait_gone(client: httpx.Client, server_id: str, timeout: float = 60) -> None:
    wait_for(lambda: client.get(f"/v2.1/servers/{server_id}").status_code == 404, timeout,
             what=f"server {server_id} to be deleted")


def port_hosts(admin: httpx.Client, server_id: str) -> list[str]:
    """The ``binding:host_id`` of each of the server's ports, as the network
    API shows them to an admin ("" : unbound)."""
    resp = admin.get("/networking/v2.0/ports", params={"device_id": server_id})
    assert resp.status_code == 200, resp.text
    return [p["binding:host_id"] for p in resp.json()["ports"]]
