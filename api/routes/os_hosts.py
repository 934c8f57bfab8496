"""/v2.1/os-hosts: Nova's host API, kept up to microversion 2.42 (404 from
2.43, where os-services and os-hypervisors replace it).  Admin only.

List: every service's host with its service (topic) and zone (compute
hosts in their availability zone, the rest "internal").  Show: the compute
node's totals, what is claimed now, and the sum and per-project split of
its servers' flavors.  Update (enable/disable, maintenance mode) and the
power actions reach the virt driver in Nova; the libvirt driver implements
none of them, so Nova answers 501 and so do we, after the same checks (a
valid body, a known host).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlmodel import Session, select

from api.deps import Ctx, Handles, RequestContext
from api.errors import NotFound, NotImplementedByDriver
from api.microversion import APIVersion
from api.routes.hypervisors import _Usage
from api.schemas.hosts import HostUpdateRequest
from schema.models import ComputeNode, Instance, Service

router = APIRouter(prefix="/v2.1/os-hosts", tags=["hosts (< 2.43)"])

_NOT_SUPPORTED = "The requested functionality is not supported."


def _check_version(ctx: RequestContext) -> None:
    if ctx.version > APIVersion(2, 42):
        raise NotFound("The resource could not be found.")


def _compute_node(s: Session, host: str) -> ComputeNode:
    node = s.exec(select(ComputeNode).where(ComputeNode.host == host)).first()
    if node is None:
        raise NotFound(f"Compute host {host} could not be found.")
    return node


@router.get("")
def list_hosts(request: Request, ctx: Ctx, h: Handles) -> dict:
    ctx.require_admin("os_compute_api:os-hosts:list")
    _check_version(ctx)
    zone = request.query_params.get("zone")
    with h.db.reader() as s:
        zones = {n.host: n.availability_zone for n in s.exec(select(ComputeNode)).all()}
        services = s.exec(select(Service).where(Service.disabled.is_(False))
                          .order_by(Service.id)).all()
        hosts = [{"host_name": v.host, "service": v.topic,
                  "zone": zones.get(v.host, "nova") if v.binary == "nova-compute"
                  else "internal"} for v in services]
    if zone:
        hosts = [x for x in hosts if x["zone"] == zone]
    return {"hosts": hosts}


@router.get("/{host_name}")
def show_host(host_name: str, ctx: Ctx, h: Handles) -> dict:
    ctx.require_admin("os_compute_api:os-hosts:show")
    _check_version(ctx)
    with h.db.reader() as s:
        node = _compute_node(s, host_name)
        vcpus, mem, disk = _Usage(s).alloc.get(node.uuid, (0, 0, 0))
        servers = s.exec(select(Instance).where(Instance.host == host_name,
                                                Instance.deleted.is_(False))).all()

    def resource(project: str, cpu: int, memory_mb: int, disk_gb: int) -> dict:
        return {"resource": {"host": host_name, "project": project, "cpu": cpu,
                             "memory_mb": memory_mb, "disk_gb": disk_gb}}

    per_project: dict[str, list[int]] = {}
    for inst in servers:
        f = inst.flavor or {}
        sums = per_project.setdefault(inst.project_id, [0, 0, 0])
        sums[0] += f.get("vcpus", 0)
        sums[1] += f.get("memory_mb", 0)
        sums[2] += f.get("root_gb", 0) + f.get("ephemeral_gb", 0)
    used_max = [sum(v[i] for v in per_project.values()) for i in range(3)]
    return {"host": [
        resource("(total)", node.vcpus, node.memory_mb, node.local_gb),
        resource("(used_now)", vcpus, mem + node.reserved_host_memory_mb,
                 disk + node.reserved_host_disk_mb // 1024),
        resource("(used_max)", *used_max),
        *(resource(p, *v) for p, v in per_project.items())]}


@router.put("/{host_name}")
def update_host(host_name: str, payload: HostUpdateRequest, ctx: Ctx, h: Handles) -> dict:
    """Nova's schema first, then the host; the driver call itself is not
    supported by libvirt."""
    ctx.require_admin("os_compute_api:os-hosts:update")
    _check_version(ctx)
    with h.db.reader() as s:
        _compute_node(s, host_name)
    raise NotImplementedByDriver(_NOT_SUPPORTED)


def _power_action(ctx: RequestContext, h, host_name: str, action: str) -> dict:
    ctx.require_admin(f"os_compute_api:os-hosts:{action}")
    _check_version(ctx)
    with h.db.reader() as s:
        _compute_node(s, host_name)
    raise NotImplementedByDriver(_NOT_SUPPORTED)


@router.get("/{host_name}/startup")
def startup_host(host_name: str, ctx: Ctx, h: Handles) -> dict:
    return _power_action(ctx, h, host_name, "start")


@router.get("/{host_name}/shutdown")
def shutdown_host(host_name: str, ctx: Ctx, h: Handles) -> dict:
    return _power_action(ctx, h, host_name, "shutdown")


@router.get("/{host_name}/reboot")
def reboot_host(host_name: str, ctx: Ctx, h: Handles) -> dict:
    return _power_action(ctx, h, host_name, "reboot")
