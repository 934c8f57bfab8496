"""Request-scoped dependencies: who is calling (their Keystone token, checked
as keystonemiddleware does), what policy allows them, in which microversion,
and the shared handles (database, Temporal client, settings) the routes use."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from temporalio.client import Client

from activities.identity import InvalidToken, KeystoneUnavailable, TokenBackend
from activities.types.identity import Identity
from api.errors import ServiceUnavailable, Unauthorized
from api.microversion import MIN_VERSION, APIVersion
from api.policy import PolicyEnforcer
from novaflow import logs
from novaflow.cloud import host_connection
from novaflow.images import ImageWriter
from novaflow.settings import Settings
from schema.db import Database

log = logs.get_logger("novaflow.api")


@dataclass
class RequestContext:
    """The caller of one request."""

    identity: Identity
    request_id: str
    version: APIVersion
    token: str
    base_url: str
    policy: PolicyEnforcer | None = None
    legacy_v2: bool = False  # reached through /v2 (api/legacy_v2.py)

    @property
    def api_url(self) -> str:
        """The compute endpoint the caller used, for links: ``/v2.1``, or
        ``/v2`` in the legacy-v2 mode (Nova builds them from the request's)."""
        return f"{self.base_url}/{'v2' if self.legacy_v2 else 'v2.1'}"

    @property
    def project_id(self) -> str:
        return self.identity.project_id

    @property
    def user_id(self) -> str:
        return self.identity.user_id

    @property
    def is_admin(self) -> bool:
        return self.identity.is_admin

    def authorize(self, rule: str, target: dict | None = None) -> None:
        """Enforce policy ``rule`` on ``target`` (default: the caller's own
        project and user); 403 naming the rule when it does not allow."""
        enforcer = self.policy or PolicyEnforcer()
        enforcer.authorize(self.identity, rule, target)

    def require_admin(self, action: str = "this action") -> None:
        """Enforce ``action``: a policy rule name, or (for checks Nova has no
        rule of its own for) the admin rule, named ``action`` in the 403."""
        enforcer = self.policy or PolicyEnforcer()
        if enforcer.registered(action):
            enforcer.authorize(self.identity, action)
        else:
            enforcer.authorize(self.identity, "context_is_admin", shown_as=action)


@dataclass
class AppHandles:
    """What every route may need, built once per app."""

    settings: Settings
    db: Database
    token_backend: TokenBackend
    policy: PolicyEnforcer
    temporal: Client | None = None
    images: ImageWriter | None = None  # Glance, from the catalog (made on first use)
    _cloud: Any = None  # an openstacksdk Connection as the service user
    background: set = field(default_factory=set)  # tasks the app keeps alive
    # Threads for calls the app makes to its own API (the Neutron stand-in's
    # notifications to os-server-external-events): never the default executor,
    # whose threads the called routes need (a self-call there can deadlock).
    notifier: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        max_workers=4, thread_name_prefix="neutron-notifier"))

    def cloud(self) -> Any:
        """The cloud as the control plane's service user (endpoints from the catalog)."""
        if self._cloud is None:
            self._cloud = host_connection(self.settings)
        return self._cloud

    def image_client(self) -> ImageWriter:
        if self.images is None:
            self.images = ImageWriter(self.cloud)
        return self.images


async def handles(request: Request) -> AppHandles:
    # async: FastAPI runs a plain function dependency in its thread pool, a
    # thread hop on every request for a dictionary lookup.
    return request.app.state.handles


# Declared so OpenAPI shows every route's headers; the microversion headers
# are parsed by the app's middleware before any route (api/microversion.py).
# No length limit here: any token Keystone does not know (however long) is a
# 401, as keystonemiddleware answers, not a 400.
AuthToken = Annotated[str | None, Header(alias="X-Auth-Token",
                                         description="a Keystone token")]
ApiVersion = Annotated[str | None, Header(alias="OpenStack-API-Version", max_length=255,
                                          description="`compute X.Y` or `compute latest`")]
LegacyApiVersion = Annotated[str | None, Header(alias="X-OpenStack-Nova-API-Version",
                                                max_length=255, description="`X.Y`")]


async def request_context(request: Request, token: AuthToken = None,
                          _version: ApiVersion = None,
                          _legacy_version: LegacyApiVersion = None) -> RequestContext:
    h: AppHandles = request.app.state.handles
    try:
        ident = await h.token_backend.avalidate(token)
    except InvalidToken as exc:
        raise Unauthorized(str(exc)) from exc
    except KeystoneUnavailable as exc:
        log.warning("token check failed: identity service unavailable", error=str(exc))
        raise ServiceUnavailable(f"{exc} Try again later.") from exc
    ctx = RequestContext(
        identity=ident,
        request_id=request.state.request_id,
        version=getattr(request.state, "api_version", MIN_VERSION),
        token=token or "",
        base_url=str(request.base_url).rstrip("/"),
        policy=h.policy,
        legacy_v2=bool(getattr(request.state, "legacy_v2", False)),
    )
    await h.policy.authorize_route(request, ident)
    return ctx


Ctx = Annotated[RequestContext, Depends(request_context)]
Handles = Annotated[AppHandles, Depends(handles)]
