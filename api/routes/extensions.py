"""/v2.1/extensions (+ /{alias}): Nova's frozen extension list, any caller."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Ctx
from api.errors import NotFound
from api.extension_list import EXTENSIONS, NAMESPACE

router = APIRouter(prefix="/v2.1/extensions", tags=["extensions"])


def _extension(alias: str, name: str, description: str, updated: str) -> dict:
    return {"alias": alias, "description": description, "links": [], "name": name,
            "namespace": NAMESPACE, "updated": updated}


@router.get("")
async def list_extensions(ctx: Ctx) -> dict:
    return {"extensions": [_extension(*e) for e in EXTENSIONS]}


@router.get("/{alias}")
async def show_extension(alias: str, ctx: Ctx) -> dict:
    for entry in EXTENSIONS:
        if entry[0] == alias:
            return {"extension": _extension(*entry)}
    raise NotFound("The resource could not be found.")
