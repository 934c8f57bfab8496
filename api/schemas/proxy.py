"""Request schemas of the proxy APIs Nova keeps for old microversions
(Nova's ``schemas/volumes.py`` and ``schemas/security_groups.py``)."""

from __future__ import annotations

from typing import Any

from api.schemas.common import (
    Metadata,
    NovaBoolean,
    OpenRequestBody,
    PositiveInt,
    RequestBody,
    Str255,
    UUIDStr,
)


class ProxyVolumeCreate(RequestBody):
    """The ``volume`` object of POST /os-volumes."""

    size: PositiveInt
    volume_type: Str255 | None = None
    metadata: Metadata | None = None
    snapshot_id: Str255 | None = None
    availability_zone: Str255 | None = None
    display_name: Str255 | None = None
    display_description: Str255 | None = None


class ProxyVolumeCreateRequest(RequestBody):
    volume: ProxyVolumeCreate


class ProxySecurityGroup(OpenRequestBody):
    """The ``security_group`` of POST and PUT /os-security-groups (Nova keeps
    unknown keys: additionalProperties is true in its schema)."""

    name: Str255
    description: Str255


class ProxySecurityGroupRequest(OpenRequestBody):
    security_group: ProxySecurityGroup


class ProxySecurityGroupRule(OpenRequestBody):
    """The ``security_group_rule`` of POST /os-security-group-rules: Nova checks
    only the two group ids here; ports, protocol and cidr by its own rules."""

    parent_group_id: UUIDStr
    group_id: UUIDStr | None = None
    from_port: Any = None
    to_port: Any = None
    ip_protocol: Any = None
    cidr: Any = None


class ProxySecurityGroupRuleRequest(OpenRequestBody):
    security_group_rule: ProxySecurityGroupRule


class ProxySnapshotCreate(RequestBody):
    """The ``snapshot`` object of POST /os-snapshots."""

    volume_id: Str255
    force: NovaBoolean = False
    display_name: Str255 | None = None
    display_description: Str255 | None = None


class ProxySnapshotCreateRequest(RequestBody):
    snapshot: ProxySnapshotCreate
