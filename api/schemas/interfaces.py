"""Request schemas of /v2.1/servers/{id}/os-interface (Nova's
``schemas/attach_interfaces.py``)."""

from __future__ import annotations

from pydantic import Field

from api.schemas.common import RequestBody, UUIDStr, since
from api.schemas.volume_attachments import Tag


class FixedIp(RequestBody):
    ip_address: str = Field(max_length=64)


class InterfaceAttachment(RequestBody):
    net_id: UUIDStr | None = None
    port_id: UUIDStr | None = None
    fixed_ips: list[FixedIp] | None = Field(default=None, min_length=1, max_length=1)
    tag: Tag | None = since("2.49")


class InterfaceAttachmentCreateRequest(RequestBody):
    """POST /servers/{id}/os-interface (the body may be empty: any network)."""

    interfaceAttachment: InterfaceAttachment | None = None
