"""Request schemas of the day-2 server actions, after Nova's JSON schemas
(``nova/api/openstack/compute/schemas/``: servers.py rebuild and
createImage, create_backup.py, evacuate.py, lock_server.py, rescue.py,
reset_server_state.py, admin_password.py, shelve.py, remote_consoles.py).

They join ``ServerActionRequest`` (api/schemas/server_actions.py), the
action route's body in the OpenAPI document; each handler in
``api/actions`` still checks its value itself, with Nova's texts and
microversion rules.  Actions whose body is ``null`` are declared there.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas.common import (
    Description,
    IPv4Str,
    IPv6Str,
    Metadata,
    Name,
    NonNegativeInt,
    NovaBoolean,
    RequestBody,
    Str255,
    since,
    until,
)
from api.schemas.servers import Hostname


class CreateImage(RequestBody):
    """``createImage``: the snapshot's name and extra image properties."""

    name: Name
    metadata: Metadata | None = None


class CreateBackup(RequestBody):
    """``createBackup``: ``rotation`` backups of ``backup_type`` are kept."""

    name: Name
    backup_type: Str255
    rotation: NonNegativeInt
    metadata: Metadata | None = None


class Rebuild(RequestBody):
    """``rebuild``: the new image and what else the server takes anew."""

    imageRef: Str255
    name: Name | None = None
    adminPass: Str255 | None = None
    metadata: Metadata | None = None
    preserve_ephemeral: NovaBoolean | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")
    accessIPv4: IPv4Str | None = None
    accessIPv6: IPv6Str | None = None
    personality: list[dict[str, str]] | None = until("2.56")
    description: Description | None = since("2.19")
    key_name: Str255 | None = since("2.54")
    user_data: str | None = since("2.57")
    trusted_image_certificates: list[Str255] | None = since("2.63")
    hostname: Hostname | None = since("2.90")


class Evacuate(RequestBody):
    """``evacuate`` (admin): an optional target host, rebuilt from the image."""

    host: Str255 | None = None
    onSharedStorage: NovaBoolean | None = until("2.13")
    adminPass: Str255 | None = None
    force: NovaBoolean | None = Field(None, json_schema_extra={
        "x-openstack-min-version": "2.29", "x-openstack-max-version": "2.67"})


class Lock(RequestBody):
    """``lock``: null, or from 2.73 ``{"locked_reason": ...}``."""

    locked_reason: Str255 | None = since("2.73")


class Rescue(RequestBody):
    """``rescue``: null or an optional password and rescue image."""

    adminPass: Str255 | None = None
    rescue_image_ref: Str255 | None = None


class ResetState(RequestBody):
    """``os-resetState`` (admin)."""

    state: Literal["active", "error"]


class ChangePassword(RequestBody):
    """``changePassword``."""

    adminPass: Str255


class Unshelve(RequestBody):
    """``unshelve``: null, or from 2.77 a zone and from 2.91 a host."""

    availability_zone: Str255 | None = since("2.77")
    host: Hostname | None = since("2.91")


class GetVNCConsole(RequestBody):
    """``os-getVNCConsole`` (until 2.5; remote-consoles after)."""

    type: Literal["novnc", "xvpvnc"]


class GetSerialConsole(RequestBody):
    """``os-getSerialConsole`` (until 2.5; remote-consoles after)."""

    type: Literal["serial"]
