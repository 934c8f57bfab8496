"""The routers issue 15 added, included in one call so app.py stays small."""

from __future__ import annotations

from fastapi import FastAPI

from api.routes import aggregates, flavor_access, server_tags


def include(app: FastAPI) -> None:
    for module in (aggregates, server_tags, flavor_access):
        app.include_router(module.router)
