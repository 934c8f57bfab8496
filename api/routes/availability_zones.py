"""/v2.1/os-availability-zone (+ /detail for admins): each host's zone (its
zone aggregate's, else its compute node's own: schema/zones.py), available
when one of their services is enabled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter
from sqlmodel import select

from api.deps import Ctx, Handles
from schema.models import ComputeNode, Service
from schema.zones import zones_by_host

router = APIRouter(prefix="/v2.1/os-availability-zone", tags=["availability zones"])


def _aware(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _zones(h) -> dict[str, list[tuple[str, Service | None]]]:
    with h.db.reader() as s:
        by_host = zones_by_host(s)
        rows = s.exec(select(ComputeNode.host, Service)
                      .join(Service, (Service.host == ComputeNode.host)
                            & (Service.binary == "nova-compute"), isouter=True)
                      .order_by(ComputeNode.host)).all()
    zones: dict[str, list[tuple[str, Service | None]]] = {}
    for host, service in sorted(rows, key=lambda r: (by_host.get(r[0], ""), r[0])):
        zones.setdefault(by_host.get(host, ""), []).append((host, service))
    return zones


def _enabled(service: Service | None) -> bool:
    return service is not None and not service.disabled


def _up(service: Service | None, down_after: int) -> bool:
    if service is None or service.forced_down or service.last_seen_up is None:
        return False
    seen = _aware(service.last_seen_up)
    return datetime.now(UTC) - seen <= timedelta(seconds=down_after)


@router.get("")
async def list_zones(ctx: Ctx, h: Handles) -> dict:
    return {"availabilityZoneInfo": [
        {"zoneName": zone, "zoneState": {"available": any(_enabled(sv) for _, sv in hosts)},
         "hosts": None}
        for zone, hosts in _zones(h).items()]}


@router.get("/detail")
async def list_zones_detail(ctx: Ctx, h: Handles) -> dict:
    ctx.require_admin("os_compute_api:os-availability-zone:detail")
    down_after = h.settings.scheduler.service_down_time
    out = []
    for zone, hosts in _zones(h).items():
        detail = {}
        for host, service in hosts:
            seen = _aware(service.updated_at if service else None)
            detail[host] = {"nova-compute": {
                "available": _enabled(service), "active": _up(service, down_after),
                "updated_at": seen.isoformat() if seen else None}}
        out.append({"zoneName": zone,
                    "zoneState": {"available": any(_enabled(sv) for _, sv in hosts)},
                    "hosts": detail})
    return {"availabilityZoneInfo": out}
