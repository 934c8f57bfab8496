"""Request schema of ``POST /v2.1/os-server-external-events`` (Nova's)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas.common import RequestBody, Str255, UUIDStr


class ExternalEventRequest(RequestBody):
    name: Str255  # one of EVENT_NAMES, by microversion (checked by the route)
    server_uuid: UUIDStr
    tag: Str255 | None = None
    status: Literal["failed", "completed", "in-progress"] = "completed"


class ExternalEventsRequest(RequestBody):
    events: list[ExternalEventRequest] = Field(min_length=1)
