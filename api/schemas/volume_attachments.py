"""Request schemas of /v2.1/servers/{id}/os-volume_attachments (Nova's
``schemas/volumes.py``: create_volume_attachment, update_volume_attachment)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from api.schemas.common import RequestBody, UUIDStr, since

# Nova's device-name pattern (parameter_types.device_name / volume attach).
DeviceName = Annotated[str, StringConstraints(
    max_length=255, pattern=r"(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$")]
Tag = Annotated[str, StringConstraints(max_length=60, pattern=r"^[^,/]*$")]


class VolumeAttachmentCreate(RequestBody):
    volumeId: UUIDStr
    device: DeviceName | None = None
    tag: Tag | None = since("2.49")
    delete_on_termination: bool | None = since("2.79")


class VolumeAttachmentCreateRequest(RequestBody):
    """POST /servers/{id}/os-volume_attachments."""

    volumeAttachment: VolumeAttachmentCreate


class VolumeAttachmentUpdate(RequestBody):
    volumeId: UUIDStr
    # From 2.85 the other fields may be sent back as read, but must not change.
    id: UUIDStr | None = since("2.85")
    serverId: UUIDStr | None = since("2.85")
    device: DeviceName | None = since("2.85")
    tag: Tag | None = since("2.85")
    delete_on_termination: bool | None = since("2.85")


class VolumeAttachmentUpdateRequest(RequestBody):
    """PUT /servers/{id}/os-volume_attachments/{volume_id}: swap, or (2.85) update."""

    volumeAttachment: VolumeAttachmentUpdate = Field()
