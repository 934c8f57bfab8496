"""/v2.1/flavors: list, detail, show."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlmodel import select

from api import views
from api.deps import Ctx, Handles
from api.errors import NotFound
from schema.models import Flavor

router = APIRouter(prefix="/v2.1/flavors", tags=["flavors"])


def _flavors(request: Request, h) -> list[Flavor]:  # noqa: ANN001
    q = request.query_params
    stmt = select(Flavor).where(Flavor.disabled == False)  # noqa: E712
    if "minRam" in q:
        stmt = stmt.where(Flavor.memory_mb >= int(q["minRam"]))
    if "minDisk" in q:
        stmt = stmt.where(Flavor.root_gb >= int(q["minDisk"]))
    with h.db.reader() as s:
        return list(s.exec(stmt.order_by(Flavor.flavorid)).all())


@router.get("")
async def list_flavors(request: Request, ctx: Ctx, h: Handles) -> dict:
    return {"flavors": [views.flavor_summary(ctx, f) for f in _flavors(request, h)]}


@router.get("/detail")
async def list_flavors_detail(request: Request, ctx: Ctx, h: Handles) -> dict:
    return {"flavors": [views.flavor_detail(ctx, f) for f in _flavors(request, h)]}


@router.get("/{flavor_id}")
async def show_flavor(flavor_id: str, ctx: Ctx, h: Handles) -> dict:
    with h.db.reader() as s:
        flavor = s.exec(select(Flavor).where(Flavor.flavorid == flavor_id)).first()
    if flavor is None:
        raise NotFound(f"Flavor {flavor_id} could not be found.")
    return {"flavor": views.flavor_detail(ctx, flavor)}
