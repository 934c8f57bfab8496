"""Request schemas of /v2.1/servers: create, update, and the list's query.

Shapes and bounds follow Nova's ``schemas/servers.py``; fields added by a
microversion carry it (``since``).  The handlers keep the checks that need
the database or Nova's own wording (flavor/image existence, base64 user data,
names without surrounding spaces).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

from api.schemas.common import (
    MAX_INT,
    Description,
    Int,
    Metadata,
    Name,
    OpenRequestBody,
    PositiveInt,
    QueryInt,
    QueryModel,
    QueryStr,
    RequestBody,
    Str255,
    UUIDStr,
    since,
)

Hostname = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class NetworkRequest(RequestBody):
    """One entry of ``networks``: a network, a port, or a fixed IP on a network."""

    uuid: Str255 | None = None
    port: Str255 | None = None
    fixed_ip: Str255 | None = None
    tag: Annotated[str, StringConstraints(max_length=60)] | None = since("2.32")


class SecurityGroupRef(RequestBody):
    name: Name


class BlockDeviceMapping(RequestBody):
    """One entry of ``block_device_mapping_v2`` (Nova's v2 BDM)."""

    source_type: Literal["volume", "image", "snapshot", "blank"] | None = None
    destination_type: Literal["local", "volume"] | None = None
    uuid: Str255 | None = None
    volume_id: Str255 | None = None
    image_id: Str255 | None = None
    snapshot_id: Str255 | None = None
    boot_index: Annotated[int, Field(ge=-1, le=MAX_INT)] | Str255 | None = None
    volume_size: PositiveInt | None = None
    device_name: Str255 | None = None
    delete_on_termination: bool | Str255 | None = None
    guest_format: Str255 | None = None
    disk_bus: Str255 | None = None
    device_type: Str255 | None = None
    no_device: bool | None = None
    tag: Annotated[str, StringConstraints(max_length=60)] | None = since("2.32")
    volume_type: Str255 | None = since("2.67")


class ServerCreate(RequestBody):
    """The ``server`` object of POST /servers."""

    name: Name
    imageRef: Str255 | None = None
    flavorRef: Annotated[str, StringConstraints(min_length=1, max_length=255)] | Int
    networks: list[NetworkRequest] | Literal["auto", "none"] | None = None
    availability_zone: Str255 | None = None
    metadata: Metadata | None = None
    key_name: Str255 | None = None
    user_data: str | None = None  # size and base64 checked by the handler, Nova's message
    min_count: PositiveInt | None = None
    max_count: PositiveInt | None = None
    security_groups: list[SecurityGroupRef] | None = None
    block_device_mapping_v2: list[BlockDeviceMapping] | None = None
    config_drive: bool | Str255 | None = None
    adminPass: Str255 | None = None
    accessIPv4: Str255 | None = None
    accessIPv6: Str255 | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")
    return_reservation_id: bool | Str255 | None = None
    description: Description | None = since("2.19")
    tags: list[Annotated[str, StringConstraints(min_length=1, max_length=60)]] | None = \
        since("2.52", max_length=50)
    hostname: Hostname | None = since("2.90")


class SchedulerHints(OpenRequestBody):
    """``os:scheduler_hints``: the hints the filters read; others are kept, as in Nova."""

    group: UUIDStr | None = None
    same_host: UUIDStr | list[UUIDStr] | None = None
    different_host: UUIDStr | list[UUIDStr] | None = None
    query: Annotated[str, StringConstraints(max_length=4096)] | list[Any] | None = None
    build_near_host_ip: Str255 | None = None
    cidr: Str255 | None = None

    @field_validator("same_host", "different_host")
    @classmethod
    def _as_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class ServerCreateRequest(RequestBody):
    """The body of POST /servers."""

    server: ServerCreate
    scheduler_hints: SchedulerHints | None = Field(None, alias="os:scheduler_hints")
    legacy_scheduler_hints: SchedulerHints | None = Field(
        None, alias="OS-SCH-HNT:scheduler_hints")


class ServerUpdate(RequestBody):
    """The ``server`` object of PUT /servers/{id}."""

    name: Name | None = None
    accessIPv4: Str255 | None = None
    accessIPv6: Str255 | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")
    description: Description | None = since("2.19")
    hostname: Hostname | None = since("2.90")


class ServerUpdateRequest(RequestBody):
    """The body of PUT /servers/{id}."""

    server: ServerUpdate


class ServerListQuery(QueryModel):
    """GET /servers and /servers/detail: filters, sorting and paging."""

    name: QueryStr | None = None
    ip: QueryStr | None = None
    ip6: QueryStr | None = None
    status: list[QueryStr] | None = None
    image: QueryStr | None = None
    flavor: QueryStr | None = None
    host: QueryStr | None = None
    reservation_id: QueryStr | None = None
    all_tenants: QueryStr | None = None
    project_id: QueryStr | None = None
    tenant_id: QueryStr | None = None
    deleted: QueryStr | None = None
    changes_since: QueryStr | None = Field(None, alias="changes-since")
    changes_before: QueryStr | None = Field(None, alias="changes-before")
    limit: QueryInt | None = None
    marker: QueryStr | None = None
    sort_key: QueryStr | None = None
    sort_dir: QueryStr | None = None
    # Issue 15: tag filters (2.26+) and the lock filter (2.73+).
    tags: QueryStr | None = None
    tags_any: QueryStr | None = Field(None, alias="tags-any")
    not_tags: QueryStr | None = Field(None, alias="not-tags")
    not_tags_any: QueryStr | None = Field(None, alias="not-tags-any")
    locked: QueryStr | None = None
