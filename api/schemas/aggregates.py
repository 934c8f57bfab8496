"""Request schemas of /v2.1/os-aggregates (Nova's ``schemas/aggregates.py`` and
``aggregate_images.py``).  Names are checked for Nova's ``name`` format by the
handler (it strips an update's name first, as Nova normalises it)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from api.schemas.common import MetadataKey, RequestBody, UUIDStr

AggregateName = Annotated[str, StringConstraints(min_length=1, max_length=255)]
# Nova's fqdn: a host name as the services table holds it.
HostName = Annotated[str, StringConstraints(min_length=1, max_length=255,
                                            pattern=r"^[a-zA-Z0-9-._]*$")]
MetadataValue = Annotated[str, StringConstraints(max_length=255)]


class AggregateCreate(RequestBody):
    name: AggregateName
    availability_zone: AggregateName | None = None


class AggregateCreateRequest(RequestBody):
    aggregate: AggregateCreate


class AggregateUpdate(RequestBody):
    """At least one of ``name`` and ``availability_zone`` (checked by the handler)."""

    name: AggregateName | None = None
    availability_zone: AggregateName | None = None


class AggregateUpdateRequest(RequestBody):
    aggregate: AggregateUpdate


class AggregateHostBody(RequestBody):
    host: HostName


class AggregateMetadataBody(RequestBody):
    # A null value removes the key (Nova's metadata_with_null).
    metadata: dict[MetadataKey, MetadataValue | None]


class AggregateActionRequest(RequestBody):
    """POST /os-aggregates/{id}/action: exactly one of the three actions."""

    add_host: AggregateHostBody | None = None
    remove_host: AggregateHostBody | None = None
    set_metadata: AggregateMetadataBody | None = None


class CachedImage(RequestBody):
    id: UUIDStr


class AggregateImagesRequest(RequestBody):
    """POST /os-aggregates/{id}/images (2.81): images to pre-cache on its hosts."""

    cache: Annotated[list[CachedImage], Field(min_length=1)]
