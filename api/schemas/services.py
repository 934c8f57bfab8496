"""Request schemas of /v2.1/os-services (Nova's ``schemas/services.py``): the
2.53+ update body; before 2.53 the action (enable, disable, ...) is in the path
and the body names the host and binary."""

from __future__ import annotations

from typing import Literal

from api.schemas.common import Name, NovaBoolean, QueryModel, QueryStr, RequestBody, Str255


class ServiceUpdateRequest(RequestBody):
    """PUT /os-services/{id}: 2.53+ fields, and the legacy action bodies' fields."""

    status: Literal["enabled", "disabled"] | None = None
    disabled_reason: Name | None = None
    forced_down: NovaBoolean | None = None
    host: Str255 | None = None  # before 2.53: /os-services/{action} bodies
    binary: Str255 | None = None


class ServiceListQuery(QueryModel):
    host: QueryStr | None = None
    binary: QueryStr | None = None
