"""/v2.1/os-hypervisors: every compute node's inventory, usage, state and status.

Admin only.  Usage is summed from the allocations table (as Placement
would), so a claim shows up here the moment it is made.  From microversion
2.53 hypervisors and their services are addressed by uuid; from 2.88 the
inventory and usage fields are gone from the body (as in Nova) and
``/statistics`` answers 404.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import func
from sqlmodel import Session, select

from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest, NotFound, NotImplementedByDriver
from api.microversion import APIVersion
from api.routes.services import service_id, service_state
from api.schemas.common import database_id
from api.schemas.hypervisors import HypervisorListQuery, HypervisorShowQuery
from api.validation import is_uuid
from schema.models import Allocation, ComputeNode, Instance, Service

router = APIRouter(prefix="/v2.1/os-hypervisors", tags=["hypervisors"])


class _Usage:
    """Allocations, servers and busy servers per node, read once per request."""

    def __init__(self, s: Session):
        self.alloc = {row[0]: (int(row[1]), int(row[2]), int(row[3])) for row in s.exec(
            select(Allocation.node_uuid, func.sum(Allocation.vcpus),
                   func.sum(Allocation.memory_mb), func.sum(Allocation.disk_gb))
            .group_by(Allocation.node_uuid)).all()}
        live = s.exec(select(Instance.host, Instance.uuid, Instance.display_name,
                             Instance.task_state)
                      .where(Instance.deleted.is_(False), Instance.host.is_not(None))
                      ).all()
        self.servers: dict[str, list[dict]] = {}
        self.busy: Counter[str] = Counter()
        for host, uuid, name, task in live:
            self.servers.setdefault(host, []).append({"name": name, "uuid": uuid})
            if task is not None:
                self.busy[host] += 1
        self.services = {v.host: v for v in s.exec(
            select(Service).where(Service.binary == "nova-compute")).all()}


def _ident(ctx: RequestContext, node: ComputeNode) -> object:
    return node.uuid if ctx.version.at_least("2.53") else node.id


def _view(ctx: RequestContext, node: ComputeNode, u: _Usage, settings, detail: bool,
          with_servers: bool = False) -> dict:
    svc = u.services.get(node.host)
    body: dict = {
        "id": _ident(ctx, node),
        "hypervisor_hostname": node.hypervisor_hostname,
        "state": service_state(svc, settings) if svc else "down",
        "status": "disabled" if (svc is None or svc.disabled) else "enabled",
    }
    if detail:
        body.update({
            "hypervisor_type": node.hypervisor_type,
            "hypervisor_version": node.hypervisor_version,
            "host_ip": node.host_ip,
            "service": {"host": node.host, "id": service_id(ctx, svc) if svc else None,
                        "disabled_reason": svc.disabled_reason if svc else None},
        })
        if ctx.version.at_least("2.88"):
            body["uptime"] = None
        else:
            vcpus, mem, disk = u.alloc.get(node.uuid, (0, 0, 0))
            # Nova counts the host's reserved memory and disk as used.
            mem_used = mem + node.reserved_host_memory_mb
            disk_used = disk + node.reserved_host_disk_mb // 1024
            body.update({
                "vcpus": node.vcpus, "memory_mb": node.memory_mb, "local_gb": node.local_gb,
                "vcpus_used": vcpus, "memory_mb_used": mem_used, "local_gb_used": disk_used,
                "free_ram_mb": node.memory_mb - mem_used,
                "free_disk_gb": node.local_gb - disk_used,
                "current_workload": u.busy[node.host],
                "running_vms": len(u.servers.get(node.host, [])),
                "disk_available_least": node.local_gb - disk_used,
                "cpu_info": (dict(node.cpu_info or {}) if ctx.version.at_least("2.28")
                             else json.dumps(node.cpu_info or {})),
            })
    if with_servers and u.servers.get(node.host):
        body["servers"] = u.servers[node.host]
    return body


def _nodes(s: Session, request: Request, ctx: RequestContext) -> tuple[list[ComputeNode], bool]:
    q = request.query_params
    nodes = list(s.exec(select(ComputeNode).order_by(ComputeNode.id)).all())
    with_servers = q.get("with_servers", "false").lower() in ("1", "true", "yes")
    if "with_servers" in q and not ctx.version.at_least("2.53"):
        raise BadRequest("Query parameter with_servers requires microversion 2.53")
    pattern = q.get("hypervisor_hostname_pattern")
    if pattern is not None:
        if not ctx.version.at_least("2.53"):
            raise BadRequest("Query parameter hypervisor_hostname_pattern requires "
                             "microversion 2.53")
        nodes = [n for n in nodes if re.search(re.escape(pattern), n.hypervisor_hostname)]
        if not nodes:
            raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    return nodes, with_servers


@router.get("")
async def list_hypervisors(request: Request, ctx: Ctx, h: Handles,
                           _query: Annotated[HypervisorListQuery, Query()]) -> dict:
    ctx.require_admin("os_compute_api:os-hypervisors:list")
    with h.db.reader() as s:
        nodes, with_servers = _nodes(s, request, ctx)
        u = _Usage(s)
        return {"hypervisors": [_view(ctx, n, u, h.settings, False, with_servers)
                                for n in nodes]}


@router.get("/detail")
async def list_hypervisors_detail(request: Request, ctx: Ctx, h: Handles,
                                  _query: Annotated[HypervisorListQuery, Query()]) -> dict:
    ctx.require_admin("os_compute_api:os-hypervisors:list-detail")
    with h.db.reader() as s:
        nodes, with_servers = _nodes(s, request, ctx)
        u = _Usage(s)
        return {"hypervisors": [_view(ctx, n, u, h.settings, True, with_servers)
                                for n in nodes]}


@router.get("/statistics")
async def hypervisor_statistics(ctx: Ctx, h: Handles) -> dict:
    ctx.require_admin("os_compute_api:os-hypervisors:statistics")
    if ctx.version.at_least("2.88"):
        raise NotFound("The resource could not be found.")
    keys = ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used",
            "free_ram_mb", "free_disk_gb", "current_workload", "running_vms",
            "disk_available_least")
    with h.db.reader() as s:
        u = _Usage(s)
        views = [_view(ctx, n, u, h.settings, True) for n in s.exec(select(ComputeNode)).all()]
    stats = {k: sum(v[k] for v in views) for k in keys}
    return {"hypervisor_statistics": {"count": len(views), **stats}}


@router.get("/{ident}")
async def show_hypervisor(ident: str, request: Request, ctx: Ctx, h: Handles,
                          _query: Annotated[HypervisorShowQuery, Query()]) -> dict:
    ctx.require_admin("os_compute_api:os-hypervisors:show")
    with_servers = request.query_params.get("with_servers", "false").lower() in ("1", "true")
    with h.db.reader() as s:
        if ctx.version.at_least("2.53"):
            if not is_uuid(ident):
                raise BadRequest(f"Invalid uuid {ident}")
            node = s.exec(select(ComputeNode).where(ComputeNode.uuid == ident)).first()
        else:
            node = s.get(ComputeNode, database_id(ident)) if ident.isdigit() else None
        if node is None:
            raise NotFound(f"Hypervisor with ID {ident} could not be found.")
        return {"hypervisor": _view(ctx, node, _Usage(s), h.settings, True, with_servers)}


# -- Routes Nova keeps for older microversions: search and servers by hostname
# pattern (up to 2.52, replaced by ?hypervisor_hostname_pattern=) and uptime
# (up to 2.87, a detail field from 2.88).

def _by_pattern(s: Session, ctx: RequestContext, pattern: str) -> list[ComputeNode]:
    if ctx.version > APIVersion(2, 52):
        raise NotFound("The resource could not be found.")
    nodes = [n for n in s.exec(select(ComputeNode).order_by(ComputeNode.id)).all()
             if pattern in n.hypervisor_hostname]
    if not nodes:
        raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    return nodes


@router.get("/{pattern}/search")
def search_hypervisors(pattern: str, ctx: Ctx, h: Handles) -> dict:
    ctx.require_admin("os_compute_api:os-hypervisors:search")
    with h.db.reader() as s:
        nodes, u = _by_pattern(s, ctx, pattern), _Usage(s)
        return {"hypervisors": [_view(ctx, n, u, h.settings, False) for n in nodes
                                if n.host in u.services]}


@router.get("/{pattern}/servers")
def hypervisor_servers(pattern: str, ctx: Ctx, h: Handles) -> dict:
    ctx.require_admin("os_compute_api:os-hypervisors:servers")
    with h.db.reader() as s:
        nodes, u = _by_pattern(s, ctx, pattern), _Usage(s)
        return {"hypervisors": [_view(ctx, n, u, h.settings, False, with_servers=True)
                                for n in nodes if n.host in u.services]}


@router.get("/{ident}/uptime")
def hypervisor_uptime(ident: str, ctx: Ctx, h: Handles) -> dict:
    """Nova asks the host's virt driver; ours has no uptime call, so the answer
    is Nova's for such a driver (501) once the node and its service are found."""
    ctx.require_admin("os_compute_api:os-hypervisors:uptime")
    if ctx.version > APIVersion(2, 87):
        raise NotFound("The resource could not be found.")
    with h.db.reader() as s:
        if ctx.version.at_least("2.53"):
            if not is_uuid(ident):
                raise BadRequest(f"Invalid uuid {ident}")
            node = s.exec(select(ComputeNode).where(ComputeNode.uuid == ident)).first()
        else:
            node = s.get(ComputeNode, database_id(ident)) if ident.isdigit() else None
        u = _Usage(s)
        if node is None or node.host not in u.services:
            raise NotFound(f"Hypervisor with ID '{ident}' could not be found.")
        if service_state(u.services[node.host], h.settings) != "up":
            raise BadRequest(f"Compute service of {node.host} is unavailable at this time.")
    raise NotImplementedByDriver("The requested functionality is not supported.")
