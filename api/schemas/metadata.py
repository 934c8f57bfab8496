"""Request schemas of /v2.1/servers/{id}/metadata (Nova's ``schemas/server_metadata.py``)."""

from __future__ import annotations

from pydantic import Field

from api.schemas.common import Metadata, RequestBody


class MetadataRequest(RequestBody):
    """POST and PUT /servers/{id}/metadata."""

    metadata: Metadata


class MetadataItemRequest(RequestBody):
    """PUT /servers/{id}/metadata/{key}: exactly one item, named as in the path."""

    meta: Metadata = Field(min_length=1, max_length=1)
