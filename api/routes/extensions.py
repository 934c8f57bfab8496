"""/v2.1/extensions (+ /{alias}): Nova's frozen extension list, any caller.
Through /v2 (legacy-v2 mode) Nova's list also has OS-EXT-VIF-NET, as v2 showed."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Ctx
from api.errors import NotFound
from api.extension_list import EXTENSIONS, NAMESPACE

router = APIRouter(prefix="/v2.1/extensions", tags=["extensions"])

# Nova's EXTENSION_LIST_LEGACY_V2_COMPATIBLE: the list, one more, sorted by alias.
_LEGACY_V2 = sorted([*EXTENSIONS, ("OS-EXT-VIF-NET", "ExtendedVIFNet",
                                   "Adds network id parameter to the virtual interface list.",
                                   "2014-12-03T00:00:00Z")], key=lambda e: e[0])


def _entries(ctx: Ctx) -> list[tuple[str, str, str, str]]:
    return _LEGACY_V2 if ctx.legacy_v2 else EXTENSIONS


def _extension(alias: str, name: str, description: str, updated: str) -> dict:
    return {"alias": alias, "description": description, "links": [], "name": name,
            "namespace": NAMESPACE, "updated": updated}


@router.get("")
async def list_extensions(ctx: Ctx) -> dict:
    return {"extensions": [_extension(*e) for e in _entries(ctx)]}


@router.get("/{alias}")
async def show_extension(alias: str, ctx: Ctx) -> dict:
    for entry in _entries(ctx):
        if entry[0] == alias:
            return {"extension": _extension(*entry)}
    raise NotFound("The resource could not be found.")
