"""Serves api/removed_routes.py: every route Nova removed answers 410 Gone."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Ctx
from api.removed_routes import REMOVED, Gone

router = APIRouter(tags=["removed"], include_in_schema=False)


async def gone(ctx: Ctx) -> None:
    raise Gone()


for _path, _methods in REMOVED.items():
    router.add_api_route(_path, gone, methods=list(_methods))
