"""Request-scoped dependencies: who is calling, in which microversion, and
the shared handles (database, Temporal client, settings) the routes use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
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


def request_context(request: Request) -> RequestContext:
    h: AppHandles = request.app.state.handles
    token = request.headers.get("x-auth-token")
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
