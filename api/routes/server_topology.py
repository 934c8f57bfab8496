"""/v2.1/servers/{id}/topology (2.78+): the guest's NUMA topology.  novaflow's
guests are defined without NUMA cells (no flavor asks for them here), so the
answer is Nova's for an instance without ``numa_topology``."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Ctx, Handles
from api.errors import NotFound
from api.routes.servers import get_instance

router = APIRouter(prefix="/v2.1/servers", tags=["server topology"])


@router.get("/{server_id}/topology")
def show_topology(server_id: str, ctx: Ctx, h: Handles) -> dict:
    if not ctx.version.at_least("2.78"):
        raise NotFound("The resource could not be found.")
    with h.db.reader() as s:
        inst = get_instance(s, ctx, server_id)
    ctx.authorize("compute:server:topology:index", {"project_id": inst.project_id})
    return {"nodes": [], "pagesize_kb": None}
