"""The local catalog in Glance v2's and Neutron v2.0's shapes (read side), so
clients of the embedded stack can find image and network ids by name."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlmodel import select

from api.deps import Ctx, Handles
from api.errors import NotFound
from api.views import isotime
from schema.models import Image, Network, Subnet

router = APIRouter(tags=["catalog"])


def image_view(img: Image) -> dict:
    body = {
        "id": img.id, "name": img.name, "status": img.status, "visibility": img.visibility,
        "owner": img.owner, "disk_format": img.disk_format,
        "container_format": img.container_format, "min_disk": img.min_disk,
        "min_ram": img.min_ram, "size": img.size, "protected": False, "tags": [],
        "created_at": isotime(img.created_at), "updated_at": isotime(img.updated_at),
        "self": f"/v2/images/{img.id}", "file": f"/v2/images/{img.id}/file",
        "schema": "/v2/schemas/image", "os_hidden": False, "checksum": None,
    }
    body.update(img.properties or {})
    return body


def _visible_images(ctx, h) -> list[Image]:  # noqa: ANN001
    with h.db.reader() as s:
        rows = s.exec(select(Image).order_by(Image.created_at)).all()
    return [i for i in rows if i.visibility != "private" or i.owner == ctx.project_id
            or ctx.is_admin]


@router.get("/image/v2/images")
async def list_images(request: Request, ctx: Ctx, h: Handles) -> dict:
    rows = _visible_images(ctx, h)
    if "name" in request.query_params:
        rows = [i for i in rows if i.name == request.query_params["name"]]
    return {"images": [image_view(i) for i in rows], "first": "/v2/images",
            "schema": "/v2/schemas/images"}


@router.get("/image/v2/images/{image_id}")
async def show_image(image_id: str, ctx: Ctx, h: Handles) -> dict:
    for img in _visible_images(ctx, h):
        if img.id == image_id:
            return image_view(img)
    raise NotFound(f"No image found with ID {image_id}")


def network_view(net: Network, subnet_ids: list[str]) -> dict:
    return {
        "id": net.id, "name": net.name, "status": net.status, "subnets": subnet_ids,
        "admin_state_up": net.admin_state_up, "shared": net.shared,
        "tenant_id": net.project_id, "project_id": net.project_id, "mtu": net.mtu,
        "router:external": False, "availability_zones": ["nova"], "description": "",
        "created_at": isotime(net.created_at), "updated_at": isotime(net.updated_at),
        "tags": [], "revision_number": 1, "port_security_enabled": True,
        "ipv4_address_scope": None, "ipv6_address_scope": None,
    }


def _visible_networks(ctx, h) -> list[dict]:  # noqa: ANN001
    with h.db.reader() as s:
        nets = s.exec(select(Network).order_by(Network.created_at)).all()
        subnets = s.exec(select(Subnet)).all()
    by_net: dict[str, list[str]] = {}
    for sn in subnets:
        by_net.setdefault(sn.network_id, []).append(sn.id)
    return [network_view(n, by_net.get(n.id, [])) for n in nets
            if n.shared or n.project_id == ctx.project_id or ctx.is_admin]


@router.get("/networking/v2.0/networks")
async def list_networks(request: Request, ctx: Ctx, h: Handles) -> dict:
    nets = _visible_networks(ctx, h)
    for key in ("name", "id"):
        if key in request.query_params:
            nets = [n for n in nets if n[key] == request.query_params[key]]
    return {"networks": nets}


@router.get("/networking/v2.0/networks/{network_id}")
async def show_network(network_id: str, ctx: Ctx, h: Handles) -> dict:
    for net in _visible_networks(ctx, h):
        if net["id"] == network_id:
            return {"network": net}
    raise NotFound(f"Network {network_id} could not be found.")
