"""Request schemas of the Cinder stand-in (/volume/v3): create and list."""

from __future__ import annotations

from api.schemas.common import (
    OpenRequestBody,
    PositiveInt,
    QueryModel,
    QueryStr,
    RequestBody,
    Str255,
)


class VolumeCreate(OpenRequestBody):
    """Cinder's ``volume`` object; keys this stand-in ignores are accepted."""

    size: PositiveInt
    name: Str255 | None = None
    description: Str255 | None = None
    imageRef: Str255 | None = None
    image_id: Str255 | None = None
    bootable: bool | None = None


class VolumeCreateRequest(RequestBody):
    volume: VolumeCreate


class VolumeListQuery(QueryModel):
    all_tenants: QueryStr | None = None
    name: QueryStr | None = None
    status: QueryStr | None = None
