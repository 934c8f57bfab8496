"""createImage of a volume-backed server, as Nova's
``compute_api.snapshot_volume_backed``: done in the API, no workflow.

Each of the server's volumes gets a Cinder snapshot (forced: the volumes are
in use), made through openstacksdk as the caller, as Nova's volume API
does; then Glance gets an image without data (size 0, ``raw``/``bare``, made
active by an empty upload, as Nova's Glance v2 client does) that carries:

- the inherited properties of the server's image (Nova's non-inheritable
  ones dropped) and the body's ``metadata``;
- ``block_device_mapping``: a JSON list with one entry per volume,
  ``source_type`` ``snapshot`` and its ``snapshot_id``, the mapping's
  ``boot_index``, ``device_name``, ``volume_size``, ``delete_on_termination``
  (Nova's ``snapshot_from_bdm`` + ``get_image_mapping``);
- ``bdm_v2`` ``True`` and ``root_device_name``.

The instance action ``createImage`` is recorded, with the event
``api_snapshot_instance`` (Nova wraps the snapshots in that event).  An
admin's image of another project's server is ``shared`` and carries
``instance_owner``, as in Nova.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

from sqlmodel import select

from api import cloud_proxy
from api.actions.lock import server_row
from api.deps import AppHandles, RequestContext
from api.errors import ServiceUnavailable
from novaflow.images import ImageServiceUnavailable
from schema.models import (
    BlockDeviceMapping,
    Instance,
    InstanceAction,
    InstanceActionEvent,
    utcnow,
)

ALLOW_VOLUME_BACKED = "os_compute_api:servers:create_image:allow_volume_backed"
ROOT_DEVICE = "/dev/vda"  # the libvirt driver's root disk (the server view's too)

# Nova's BlockDeviceDict fields (bdm_new_fields without connection_info):
# every one appears in an image mapping, None when unset.
_MAPPING_FIELDS = ("source_type", "destination_type", "guest_format", "device_type",
                   "disk_bus", "boot_index", "device_name", "delete_on_termination",
                   "snapshot_id", "volume_id", "volume_size", "image_id", "no_device",
                   "tag", "volume_type", "encrypted", "encryption_secret_uuid",
                   "encryption_format", "encryption_options")


def _mapping(snapshot_id: str, bdm: BlockDeviceMapping, size: int | None) -> dict:
    entry: dict[str, Any] = dict.fromkeys(_MAPPING_FIELDS)
    entry.update({"source_type": "snapshot", "destination_type": "volume",
                  "snapshot_id": snapshot_id, "boot_index": bdm.boot_index,
                  "device_name": bdm.device_name or (ROOT_DEVICE if bdm.boot_index == 0
                                                     else None),
                  "delete_on_termination": bool(bdm.delete_on_termination),
                  "volume_size": bdm.volume_size or size})
    return entry


def _volume_bdms(h: AppHandles, inst: Instance) -> list[BlockDeviceMapping]:
    with h.db.reader() as s:
        return list(s.exec(select(BlockDeviceMapping)
                           .where(BlockDeviceMapping.instance_uuid == inst.uuid,
                                  BlockDeviceMapping.volume_id.is_not(None))
                           .order_by(BlockDeviceMapping.id)).all())


async def _snapshot_volumes(h: AppHandles, ctx: RequestContext, name: str,
                            bdms: list[BlockDeviceMapping]) -> list[dict]:
    """A forced Cinder snapshot of each volume; the image's mapping entries."""
    mapping = []
    for bdm in bdms:
        def snap(conn: Any, vid: str = bdm.volume_id or "") -> Any:
            storage = cloud_proxy.block_storage(conn)
            vol = storage.get_volume(vid)
            return storage.create_snapshot(volume_id=vol.id, name=f"snapshot for {name}",
                                           description=vol.description, force=True)
        made = await cloud_proxy.call(h, ctx, snap,
                                      not_found=f"Volume {bdm.volume_id} could not be found.")
        mapping.append(_mapping(made.id, bdm, made.size))
    return mapping


def _record(h: AppHandles, ctx: RequestContext, inst: Instance, started: datetime,
            result: str) -> None:
    """The ``createImage`` action and its ``api_snapshot_instance`` event."""
    with h.db.writer() as s:
        row = server_row(s, inst)
        action = InstanceAction(action="createImage", instance_uuid=row.uuid,
                                request_id=ctx.request_id, project_id=row.project_id,
                                user_id=ctx.user_id, start_time=started,
                                finish_time=utcnow(), updated_at=utcnow())
        s.add(action)
        s.flush()
        s.add(InstanceActionEvent(action_id=action.id or 0, event="api_snapshot_instance",
                                  start_time=started, finish_time=utcnow(), result=result))


async def snapshot_volume_backed(h: AppHandles, ctx: RequestContext, inst: Instance,
                                 name: str, properties: dict, metadata: dict) -> str:
    """Snapshot the server's volumes and make the image naming them; its id.

    ``properties`` are the inherited ones of the server's image."""
    ctx.authorize(ALLOW_VOLUME_BACKED, {"project_id": inst.project_id})
    props = {k: v for k, v in properties.items()
             if k not in ("block_device_mapping", "bdm_v2", "root_device_name")}
    props.update(metadata)
    props["root_device_name"] = ROOT_DEVICE
    visibility = "private"
    if ctx.project_id != inst.project_id:
        visibility, props["instance_owner"] = "shared", inst.project_id
    started = utcnow()
    try:
        mapping = await _snapshot_volumes(h, ctx, name, _volume_bdms(h, inst))
    except BaseException:
        _record(h, ctx, inst, started, "Error")
        raise
    _record(h, ctx, inst, started, "Success")
    if mapping:
        props["block_device_mapping"] = json.dumps(mapping)
        props["bdm_v2"] = True
    base = inst.image or {}
    client = h.image_client()

    def create() -> str:
        image_id = client.create_queued(
            name, owner=ctx.project_id, visibility=visibility, disk_format="raw",
            container_format="bare", min_ram=int(base.get("min_ram") or 0),
            min_disk=int(base.get("min_disk") or 0), properties=props)
        client.upload_empty(image_id)
        return image_id
    try:
        return await asyncio.to_thread(create)
    except ImageServiceUnavailable as exc:
        raise ServiceUnavailable(f"The image service is unavailable: {exc}") from exc
