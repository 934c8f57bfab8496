"""Request-scoped dependencies: who is calling, in which microversion, and
the shared handles (database, Temporal client, settings) the routes use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from temporalio.client import Client

from activities.identity import InvalidToken, TokenBackend
from activities.types.identity import Identity
from api.errors import Forbidden, Unauthorized
from api.microversion import MIN_VERSION, APIVersion
from novaflow.settings import Settings
from schema.db import Database


@dataclass
class RequestContext:
    """The caller of one request."""

    identity: Identity
    request_id: str
    version: APIVersion
    token: str
    base_url: str

    @property
    def project_id(self) -> str:
        return self.identity.project_id

    @property
    def user_id(self) -> str:
        return self.identity.user_id

    @property
    def is_admin(self) -> bool:
        return self.identity.is_admin

    def require_admin(self, action: str = "this action") -> None:
        if not self.is_admin:
            raise Forbidden(f"Policy doesn't allow {action} to be performed.")


@dataclass
class AppHandles:
    """What every route may need, built once per app."""

    settings: Settings
    db: Database
    token_backend: TokenBackend
    temporal: Client | None = None


def handles(request: Request) -> AppHandles:
    return request.app.state.handles


# Declared so OpenAPI shows every route's headers; the microversion headers
# are parsed by the app's middleware before any route (api/microversion.py).
AuthToken = Annotated[str | None, Header(alias="X-Auth-Token", max_length=8192,
                                         description="`<user>:<project>` or a Keystone token")]
ApiVersion = Annotated[str | None, Header(alias="OpenStack-API-Version", max_length=255,
                                          description="`compute X.Y` or `compute latest`")]
LegacyApiVersion = Annotated[str | None, Header(alias="X-OpenStack-Nova-API-Version",
                                                max_length=255, description="`X.Y`")]


def request_context(request: Request, token: AuthToken = None,
                    _version: ApiVersion = None,
                    _legacy_version: LegacyApiVersion = None) -> RequestContext:
    h: AppHandles = request.app.state.handles
    try:
        ident = h.token_backend.validate(token)
    except InvalidToken as exc:
        raise Unauthorized(str(exc)) from exc
    return RequestContext(
        identity=ident,
        request_id=request.state.request_id,
        version=getattr(request.state, "api_version", MIN_VERSION),
        token=token or "",
        base_url=str(request.base_url).rstrip("/"),
    )


Ctx = Annotated[RequestContext, Depends(request_context)]
Handles = Annotated[AppHandles, Depends(handles)]
