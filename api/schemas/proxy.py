"""Request schemas of the proxy APIs Nova keeps for old microversions
(Nova's ``schemas/volumes.py``)."""

from __future__ import annotations

from api.schemas.common import Metadata, PositiveInt, RequestBody, Str255


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
