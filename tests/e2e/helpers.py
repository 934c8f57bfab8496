"""Helpers for end-to-end tests: booting through the API and reading the
database and the hosts' libvirt state to check what really happened."""

from __future__ import annotations

import httpx
from sqlmodel import select

from schema.models import Allocation, ComputeNode, Port
from stack import StackThread, wait_for


def boot(client: httpx.Client, ids: dict[str, str], name: str, flavor: str = "1",
         **extra) -> str:
    body = {"server": {"name": name, "flavorRef": flavor, "imageRef": ids["image"],
                       "networks": [{"uuid": ids["network"]}], **extra}}
    resp = client.post("/v2.1/servers", json=body)
    assert resp.status_code == 202, resp.text
    return resp.json()["server"]["id"]


def server(client: httpx.Client, server_id: str) -> dict:
    resp = client.get(f"/v2.1/servers/{server_id}")
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


def allocations(stack: StackThread, consumer_id: str) -> list[tuple[str, int, int, int]]:
    with stack.db.reader() as s:
        rows = s.exec(select(Allocation, ComputeNode.host)
                      .join(ComputeNode, ComputeNode.uuid == Allocation.node_uuid)
                      .where(Allocation.consumer_id == consumer_id)).all()
        return [(host, a.vcpus, a.memory_mb, a.disk_gb) for a, host in rows]


def ports(stack: StackThread, server_id: str) -> list[str]:
    with stack.db.reader() as s:
        return [p.ip_address for p in s.exec(select(Port).where(Port.device_id == server_id))]


def domain(stack: StackThread, host: str, server_id: str):  # noqa: ANN201
    """The DomainInfo the host's libvirt connection holds, or None."""
    from activities.hypervisor.driver import DomainNotFound

    driver = stack.stack.running_hosts[host].driver
    try:
        return driver.get_domain(server_id)
    except DomainNotFound:
        return None
