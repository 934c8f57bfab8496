"""Request schemas of the Cinder stand-in (/volume/v3): volumes' and snapshots'
create and list."""

from __future__ import annotations

from api.schemas.common import (
    Metadata,
    NovaBoolean,
    OpenRequestBody,
    PositiveInt,
    QueryModel,
    QueryStr,
    RequestBody,
    Str255,
    UUIDStr,
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


class SnapshotCreate(OpenRequestBody):
    """Cinder's ``snapshot`` object (create)."""

    volume_id: UUIDStr
    name: Str255 | None = None
    display_name: Str255 | None = None
    description: Str255 | None = None
    display_description: Str255 | None = None
    force: NovaBoolean = False
    metadata: Metadata | None = None


class SnapshotCreateRequest(RequestBody):
    snapshot: SnapshotCreate


class SnapshotListQuery(QueryModel):
    all_tenants: QueryStr | None = None
    name: QueryStr | None = None
    status: QueryStr | None = None
    volume_id: QueryStr | None = None
