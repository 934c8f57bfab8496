"""Helpers for end-to-end tests: booting through the API and reading the
database and the hosts' libvirt state to check what really happened."""

from __future__ import annotations

from contextlib import contextmanager

import httpx
from server_api import boot, mv, port_hosts, server, wait_gone, wait_status  # noqa: F401
from sqlmodel import select
from stack import StackThread

from schema.models import Allocation, ComputeNode, Port


def allocations(stack: StackThread, consumer_id: str) -> list[tuple[str, int, int, int]]:
    with stack.db.reader() as s:
        rows = s.exec(select(Allocation, ComputeNode.host)
                      .join(ComputeNode, ComputeNode.uuid == Allocation.node_uuid)
                      .where(Allocation.consumer_id == consumer_id)).all()
        return [(host, a.vcpus, a.memory_mb, a.disk_gb) for a, host in rows]


def ports(stack: StackThread, server_id: str) -> list[str]:
    with stack.db.reader() as s:
        return [p.ip_address for p in s.exec(select(Port).where(Port.device_id == server_id))]


def domain(stack: StackThread, host: str, server_id: str):
    """The DomainInfo the host's libvirt connection holds, or None."""
    from activities.hypervisor.driver import DomainNotFound

    driver = stack.stack.running_hosts[host].driver
    try:
        return driver.get_domain(server_id)
    except DomainNotFound:
        return None


ADMIN_2_53 = {"OpenStack-API-Version": "compute 2.53"}


def service_of(client: httpx.Client, host: str) -> dict | None:
    """The host's nova-compute service as os-services shows it (2.53 shapes)."""
    resp = client.get("/v2.1/os-services", params={"host": host}, headers=ADMIN_2_53)
    assert resp.status_code == 200, resp.text
    return next(iter(resp.json()["services"]), None)


@contextmanager
def extra_host(stack: StackThread, admin: httpx.Client, name: str, driver_cls=None,
               disabled: bool = True, vcpus: int = 4, memory_mb: int = 8192, **driver_kwargs):
    """A compute host that exists only for one test: started (it registers
    itself), disabled unless asked (other tests' boots keep away; forcing a
    host still reaches it), and at the end its servers deleted, its worker
    stopped and its service deleted.  Yields its driver."""
    from activities.hypervisor.libvirt_driver import LibvirtDriver
    from workers import sim_hosts

    st = stack.stack
    host = sim_hosts.SimHost(name=name, vcpus=vcpus, memory_mb=memory_mb, local_gb=100,
                             availability_zone="nova")
    (st.state_dir / "hosts" / f"{name}.xml").write_text(host.node_xml())
    driver = (driver_cls or LibvirtDriver)(
        sim_hosts.libvirt_uri(st.state_dir, host), name, local_gb=host.local_gb,
        persist_path=sim_hosts.domains_file(st.state_dir, host),
        images_dir=str((st.state_dir / "instances").resolve()), **driver_kwargs)
    stack.call(st.start_host(host, driver=driver))
    if disabled:
        svc = service_of(admin, name)
        assert admin.put(f"/v2.1/os-services/{svc['id']}", headers=ADMIN_2_53,
                         json={"status": "disabled", "disabled_reason": "test host"}
                         ).status_code == 200
    try:
        yield driver
    finally:
        listed = admin.get("/v2.1/servers", params={"all_tenants": 1, "host": name})
        for s in listed.json().get("servers", []):
            admin.delete(f"/v2.1/servers/{s['id']}")
        for s in listed.json().get("servers", []):
            wait_gone(admin, s["id"])
        if name in st.running_hosts:
            stack.call(st.stop_host(name))
        svc = service_of(admin, name)
        if svc is not None:
            admin.delete(f"/v2.1/os-services/{svc['id']}", headers=ADMIN_2_53)
