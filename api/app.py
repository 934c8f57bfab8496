"""The FastAPI application: middleware (request ids, microversions, request
log), error handlers and the routers."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from activities.identity import TokenBackend, keystone_backend
from api import errors
from api.deps import AppHandles
from api.guard import RequestGuard
from api.legacy_v2 import LegacyV2Compat
from api.policy import PolicyEnforcer
from api.request_ids import RequestIds
from api.routes import (
    availability_zones,
    catalog,
    cinder_attachments,
    external_events,
    extra_routers,
    flavors,
    hypervisors,
    instance_actions,
    keypairs,
    limits,
    metadata,
    migrations,
    neutron_security_group_rules,
    neutron_security_groups,
    os_hosts,
    proxy_image_metadata,
    proxy_images,
    proxy_networks,
    proxy_security_groups,
    proxy_snapshots,
    proxy_volumes,
    server_actions,
    server_groups,
    server_interfaces,
    server_migration_actions,
    server_security_groups,
    server_volumes,
    servers,
    services,
    versions,
    volume_snapshots,
    volumes,
)
from api.routes import quotas as quota_sets
from api.routes.remote_consoles import router as remote_consoles_router
from novaflow.settings import Settings
from novaflow.temporal_client import connect
from schema.db import get_database


def create_app(settings: Settings, temporal: Client | None = None,
               token_backend: TokenBackend | None = None) -> FastAPI:
    """The API app; connects to Temporal at start-up unless given a client.

    Tokens are validated with the configured Keystone unless ``token_backend``
    is given; policy is Nova's defaults plus ``settings.policy_file``."""
    handles = AppHandles(settings=settings,
                         db=get_database(settings.effective_database_url()),
                         token_backend=token_backend or keystone_backend(settings),
                         policy=PolicyEnforcer(settings.policy_file),
                         temporal=temporal)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if handles.temporal is None:
            handles.temporal = await connect(settings)
        yield

    app = FastAPI(title="novaflow Compute API", version="2.1", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.state.handles = handles
    errors.install(app)
    # Added first, so it runs inside RequestIds: its 400/413 answers
    # carry the request ids like every other response.
    app.add_middleware(RequestGuard)

    # Request ids, microversion headers, the log line (api/request_ids.py).
    app.add_middleware(RequestIds, loggable=_loggable)

    for module in (versions, servers, server_actions, flavors, catalog):
        app.include_router(module.router)
    for module in (services, hypervisors, external_events):
        app.include_router(module.router)
    app.include_router(migrations.router)
    app.include_router(server_migration_actions.router)
    for module in (keypairs, server_groups, availability_zones, limits, quota_sets,
                   instance_actions, metadata, volumes):
        app.include_router(module.router)
    app.include_router(remote_consoles_router)
    extra_routers.include(app)  # aggregates, tags, flavor access, usage, ... (issue 15)
    # APIs Nova keeps below the microversion that removed them (issue 18).
    for module in (proxy_images, proxy_image_metadata, proxy_volumes, proxy_snapshots,
                   proxy_networks, proxy_security_groups, os_hosts):
        app.include_router(module.router)
    # Volume attach: Cinder's attachments (stand-in) and Nova's os-volume_attachments.
    for module in (cinder_attachments, volume_snapshots, server_volumes):
        app.include_router(module.router)
    # Interface attach: Neutron's port writes (stand-in) and Nova's os-interface.
    for module in (server_interfaces,):
        app.include_router(module.router)
    # Security groups: Neutron's (stand-in) and Nova's per-server list.
    for module in (neutron_security_groups, neutron_security_group_rules,
                   server_security_groups):
        app.include_router(module.router)
    # Outermost: /v2/... is served as /v2.1/... in Nova's legacy-v2 mode.
    app.add_middleware(LegacyV2Compat)
    return app


def _loggable(path: str) -> str:
    """The path as logged: a console token in it is a secret (Nova's
    ``os-console-auth-tokens/{token}``), so it is not written out."""
    head, sep, _token = path.partition("/os-console-auth-tokens/")
    return f"{head}{sep}***" if sep else path
