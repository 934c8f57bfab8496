"""/v2.1/servers/{id}/ips and /ips/{network_label}: a server's addresses by
network, in Nova's plain form (``version`` and ``addr`` only)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Ctx, Handles
from api.errors import NotFound
from api.routes.servers import get_instance

router = APIRouter(prefix="/v2.1/servers", tags=["server addresses"])


def _networks(h, ctx, server_id: str) -> dict[str, list[dict]]:
    with h.db.reader() as s:
        inst = get_instance(s, ctx, server_id)
    return {label: [{"version": a.get("version", 4), "addr": a.get("addr")} for a in addrs]
            for label, addrs in (inst.addresses or {}).items()}


@router.get("/{server_id}/ips")
def list_addresses(server_id: str, ctx: Ctx, h: Handles) -> dict:
    return {"addresses": _networks(h, ctx, server_id)}


@router.get("/{server_id}/ips/{network_label}")
def show_addresses(server_id: str, network_label: str, ctx: Ctx, h: Handles) -> dict:
    networks = _networks(h, ctx, server_id)
    if network_label not in networks:
        raise NotFound("Instance is not a member of specified network")
    return {network_label: networks[network_label]}
