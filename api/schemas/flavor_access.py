"""Request schemas of POST /flavors/{id}/action (Nova's ``schemas/flavor_access.py``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from api.schemas.common import RequestBody

Tenant = Annotated[str, StringConstraints(min_length=1, max_length=255,
                                          pattern=r"^[a-zA-Z0-9-_]*$")]


class TenantBody(RequestBody):
    tenant: Tenant


class FlavorActionRequest(RequestBody):
    """Exactly one of the two actions (checked by the handler)."""

    addTenantAccess: TenantBody | None = None
    removeTenantAccess: TenantBody | None = None
