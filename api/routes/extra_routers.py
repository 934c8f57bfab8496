"""The routers issue 15 added, included in one call so app.py stays small."""

from __future__ import annotations

from fastapi import FastAPI

from api.routes import (
    aggregates,
    baremetal_nodes,
    extensions,
    flavor_access,
    quota_classes,
    removed,
    server_addresses,
    server_diagnostics,
    server_password,
    server_tags,
    server_topology,
    tenant_usage,
    usage_audit_log,
    volumes_boot,
)


def include(app: FastAPI) -> None:
    for module in (aggregates, server_tags, flavor_access, tenant_usage, server_addresses,
                   server_password, extensions, usage_audit_log, server_topology,
                   quota_classes, volumes_boot, server_diagnostics, baremetal_nodes,
                   removed):
        app.include_router(module.router)
