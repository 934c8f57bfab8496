"""/v2.1/os-baremetal-nodes: Nova's read-only proxy to Ironic, kept up to
2.35 (404 from 2.36, as in Nova).

novaflow's clouds have no bare-metal service, so listing and showing nodes
(admin, ``os_compute_api:os-baremetal-nodes:list`` / ``:show``) answer 501
"Ironic client unavailable", Nova's answer when it cannot reach Ironic; the
writes answer Nova's 400 naming the Ironic command to use instead, as Nova
always does (they check no policy).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from api.cloud_proxy import removed_after
from api.deps import Ctx
from api.errors import BadRequest, NotFound, NotImplementedByDriver

router = APIRouter(prefix="/v2.1/os-baremetal-nodes", tags=["baremetal nodes (proxy, < 2.36)"])

LAST_VERSION = "2.35"
_ACTIONS = {"add_interface": "port-create", "remove_interface": "port-delete"}


def _no_ironic() -> NotImplementedByDriver:
    return NotImplementedByDriver("Ironic client unavailable, cannot access Ironic.")


def _use_ironic(command: str) -> BadRequest:
    return BadRequest(f"Command not supported. Please use Ironic command {command} to "
                      "perform this action.")


@router.get("")
async def list_nodes(ctx: Ctx) -> dict:
    removed_after(ctx, LAST_VERSION)
    raise _no_ironic()


@router.get("/{node_id}")
async def show_node(node_id: str, ctx: Ctx) -> dict:
    removed_after(ctx, LAST_VERSION)
    raise _no_ironic()


@router.post("")
async def create_node(ctx: Ctx, body: Any = Body(None)) -> dict:
    removed_after(ctx, LAST_VERSION)
    raise _use_ironic("node-create")


@router.delete("/{node_id}")
async def delete_node(node_id: str, ctx: Ctx) -> dict:
    removed_after(ctx, LAST_VERSION)
    raise _use_ironic("node-delete")


@router.post("/{node_id}/action")
async def node_action(node_id: str, ctx: Ctx, body: Any = Body(None)) -> dict:
    removed_after(ctx, LAST_VERSION)
    action = next(iter(body)) if isinstance(body, dict) and len(body) == 1 else None
    if action not in _ACTIONS:
        raise NotFound(f"There is no such action: {action}")
    raise _use_ironic(_ACTIONS[action])
