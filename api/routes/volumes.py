"""Volumes: the local catalog in Cinder v3's shapes, and the Compute API's
``block_device_mapping_v2`` checks that boot-from-volume requests pass.

Cinder's rules apply: the project in the URL must be the caller's own
(else 400 "Malformed request url"); members see and delete their project's
volumes, admins every project's (``all_tenants=1`` to list them).  A volume
is only deleted while it is available or in error and has no snapshots
(api/routes/volume_snapshots.py).  The stand-in has no
storage back end, so a new volume is available at once.
"""

from __future__ import annotations

from typing import Annotated
from uuid import uuid4

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session, select

from activities.types.catalog import BlockDeviceSpec
from api import cloud_proxy, images
from api.deps import AppHandles, Ctx, Handles, RequestContext
from api.errors import BadRequest, NotFound
from api.schemas.volumes import VolumeCreateRequest, VolumeListQuery
from api.validation import is_uuid
from api.views import isotime
from novaflow.images import GlanceImage
from schema.models import BlockDeviceMapping, Volume, VolumeAttachment, VolumeSnapshot

router = APIRouter(tags=["volumes"])

MAX_VERSION = "3.70"


@router.get("/volume")
@router.get("/volume/")
@router.get("/volume/v3")
@router.get("/volume/v3/")
async def volume_versions(request: Request) -> dict:
    base = str(request.base_url).rstrip("/")
    return {"versions": [{
        "id": "v3.0", "status": "CURRENT", "version": MAX_VERSION, "min_version": "3.0",
        "updated": "2023-08-31T00:00:00Z",
        "links": [{"rel": "self", "href": f"{base}/volume/v3/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.volume+json;version=3"}]}]}


def volume_view(ctx: RequestContext, v: Volume, base_url: str, image: GlanceImage | None = None,
                attachment_id: str | None = None) -> dict:
    attached = v.attached_to and v.status in ("in-use", "attaching", "reserved")
    body = {
        "id": v.id, "name": v.name, "status": v.status, "size": v.size,
        "availability_zone": "nova", "bootable": "true" if v.bootable else "false",
        "attachments": [{"id": v.id, "attachment_id": attachment_id or v.id, "volume_id": v.id,
                         "server_id": v.attached_to, "device": v.device, "host_name": None,
                         "attached_at": isotime(v.updated_at)}] if attached else [],
        "description": None, "volume_type": "__DEFAULT__", "snapshot_id": None,
        "source_volid": None, "metadata": {}, "encrypted": False, "multiattach": False,
        "replication_status": None, "consistencygroup_id": None,
        "user_id": v.user_id or "",
        "group_id": None, "provider_id": None, "service_uuid": None,
        # Cinder's base (3.0) shape: cluster_name (3.61) and consumes_quota (3.65)
        # are for clients that ask for those microversions, which the stand-in
        # does not negotiate.
        "shared_targets": True,
        "created_at": isotime(v.created_at), "updated_at": isotime(v.updated_at),
        "links": [{"rel": "self", "href": f"{base_url}/volume/v3/{v.project_id}/volumes/{v.id}"},
                  {"rel": "bookmark", "href": f"{base_url}/volume/{v.project_id}/volumes/{v.id}"}],
    }
    if v.image_id:
        meta = {"image_id": v.image_id}
        if image is not None:
            meta.update({"image_name": image.name, "min_disk": str(image.min_disk),
                         "min_ram": str(image.min_ram), "disk_format": image.disk_format,
                         "container_format": "bare"})
        body["volume_image_metadata"] = meta
    if ctx.is_admin:
        body["os-vol-tenant-attr:tenant_id"] = v.project_id
        body["os-vol-host-attr:host"] = "novaflow@local#local"
    return body


def _scope(ctx: RequestContext, project_id: str) -> None:
    # Cinder refuses a URL naming another project than the token's, even for admins.
    if project_id != ctx.project_id:
        raise BadRequest("Malformed request url")


def attachment_ids(s: Session, vols: list[Volume]) -> dict[str, str]:
    """Each attached volume's attachment (to the server it is attached to):
    Cinder's ``attachments[].attachment_id``."""
    attached = {v.id: v.attached_to for v in vols if v.attached_to}
    if not attached:
        return {}
    rows = s.exec(select(VolumeAttachment)
                  .where(VolumeAttachment.volume_id.in_(list(attached)))).all()
    return {a.volume_id: a.id for a in rows if a.instance_uuid == attached[a.volume_id]}


def get_volume(s: Session, ctx: RequestContext, volume_id: str) -> Volume:
    vol = s.get(Volume, volume_id)
    if vol is None or (vol.project_id != ctx.project_id and not ctx.is_admin):
        raise NotFound(f"Volume {volume_id} could not be found.")
    return vol


async def _volume_images(h: AppHandles, ctx: RequestContext, vols: list[Volume]
                         ) -> dict[str, GlanceImage]:
    """The images the volumes were made from, from Glance (for
    ``volume_image_metadata``); an image gone from Glance is left out."""
    found: dict[str, GlanceImage] = {}
    for image_id in {v.image_id for v in vols if v.image_id}:
        img = await images.find_image(h, ctx, image_id)
        if img is not None:
            found[image_id] = img
    return found


async def _list(request: Request, ctx: RequestContext, h, project_id: str,
          detail: bool) -> dict:
    _scope(ctx, project_id)
    q = request.query_params
    stmt = select(Volume).order_by(Volume.created_at.desc(), Volume.id)
    if not (ctx.is_admin and q.get("all_tenants") not in (None, "0", "false", "False")):
        stmt = stmt.where(Volume.project_id == ctx.project_id)
    with h.db.reader() as s:
        rows = list(s.exec(stmt).all())
        attachments = attachment_ids(s, rows) if detail else {}
    for key in ("name", "status"):
        if key in q:
            rows = [v for v in rows if getattr(v, key) == q[key]]
    base = str(request.base_url).rstrip("/")
    if detail:
        found = await _volume_images(h, ctx, rows)
        return {"volumes": [volume_view(ctx, v, base, found.get(v.image_id or ""),
                                        attachments.get(v.id)) for v in rows]}
    return {"volumes": [{"id": v.id, "name": v.name, "links": volume_view(ctx, v, base)["links"]}
                        for v in rows]}


@router.get("/volume/v3/{project_id}/volumes")
async def list_volumes(project_id: str, request: Request, ctx: Ctx, h: Handles,
                       _query: Annotated[VolumeListQuery, Query()]) -> dict:
    return await _list(request, ctx, h, project_id, detail=False)


@router.get("/volume/v3/{project_id}/volumes/detail")
async def list_volumes_detail(project_id: str, request: Request, ctx: Ctx, h: Handles,
                              _query: Annotated[VolumeListQuery, Query()]) -> dict:
    return await _list(request, ctx, h, project_id, detail=True)


@router.get("/volume/v3/{project_id}/volumes/{volume_id}")
async def show_volume(project_id: str, volume_id: str, request: Request, ctx: Ctx,
                      h: Handles) -> dict:
    _scope(ctx, project_id)
    with h.db.reader() as s:
        vol = get_volume(s, ctx, volume_id)
        attachment = attachment_ids(s, [vol]).get(vol.id)
    image = (await _volume_images(h, ctx, [vol])).get(vol.image_id or "")
    return {"volume": volume_view(ctx, vol, str(request.base_url).rstrip("/"), image,
                                  attachment)}


@router.post("/volume/v3/{project_id}/volumes", status_code=202)
async def create_volume(project_id: str, payload: VolumeCreateRequest, request: Request,
                        ctx: Ctx, h: Handles) -> dict:
    _scope(ctx, project_id)
    body = payload.as_dict()["volume"]
    image_id = body.get("imageRef") or body.get("image_id")
    size = body.get("size")
    if isinstance(size, bool) or not isinstance(size, int | str) or not str(size).isdigit() \
            or int(size) < 1:
        raise BadRequest(f"Invalid input received: Volume size '{size}' must be an integer "
                         "and greater than 0")
    name = body.get("name") or ""
    if not isinstance(name, str) or len(name) > 255:
        raise BadRequest("Invalid input received: name must be a string of at most 255 "
                         "characters")
    image = None
    if image_id is not None:
        image = await images.find_image(h, ctx, str(image_id)) if is_uuid(image_id) else None
        if image is None or image.status != "active":
            raise BadRequest(f"Invalid image identifier or unable to access requested "
                             f"image. (image {image_id})")
        if image.min_disk > int(size):
            raise BadRequest(f"Invalid input received: Volume size {size}GB cannot be "
                             f"smaller than the image minDisk size {image.min_disk}GB.")
    with h.db.writer() as s:
        vol = Volume(name=name, size=int(size), project_id=ctx.project_id, user_id=ctx.user_id,
                     image_id=image.id if image else None,
                     bootable=image is not None or bool(body.get("bootable", False)))
        s.add(vol)
    made = volume_view(ctx, vol, str(request.base_url).rstrip("/"), image)
    made.pop("volume_image_metadata", None)  # Cinder copies it after answering the create
    return {"volume": made}


@router.get("/volume/v3/{project_id}/limits")
async def volume_limits(project_id: str, ctx: Ctx, h: Handles) -> dict:
    """Cinder's absolute limits; the stand-in enforces none (-1), it only counts."""
    _scope(ctx, project_id)
    with h.db.reader() as s:
        sizes = list(s.exec(select(Volume.size).where(Volume.project_id == project_id)).all())
        snapshots = len(s.exec(select(VolumeSnapshot.id)
                               .where(VolumeSnapshot.project_id == project_id)).all())
    return {"limits": {"rate": [], "absolute": {
        "maxTotalVolumes": -1, "maxTotalVolumeGigabytes": -1, "maxTotalSnapshots": -1,
        "maxTotalBackups": -1, "maxTotalBackupGigabytes": -1,
        "totalVolumesUsed": len(sizes), "totalGigabytesUsed": sum(sizes),
        "totalSnapshotsUsed": snapshots, "totalBackupsUsed": 0, "totalBackupGigabytesUsed": 0}}}


def has_snapshots(s: Session, volume_id: str) -> bool:
    """Whether a volume has snapshots (Cinder keeps such a volume)."""
    return s.exec(select(VolumeSnapshot.id)
                  .where(VolumeSnapshot.volume_id == volume_id)).first() is not None


@router.delete("/volume/v3/{project_id}/volumes/{volume_id}", status_code=202)
async def delete_volume(project_id: str, volume_id: str, ctx: Ctx, h: Handles) -> Response:
    _scope(ctx, project_id)
    with h.db.writer() as s:
        vol = get_volume(s, ctx, volume_id)
        if vol.status not in ("available", "error") or vol.attached_to \
                or has_snapshots(s, vol.id):
            raise BadRequest("Invalid volume: Volume status must be available or error or "
                             "error_restoring or error_extending or error_managing and must "
                             "not be migrating, attached, belong to a group, have snapshots, "
                             "awaiting a transfer, or be disassociated from snapshots after "
                             "volume transfer.")
        s.delete(vol)
    return Response(status_code=202)


# -- block_device_mapping_v2 (servers create) -------------------------------------

_BDM_KEYS = {"source_type", "destination_type", "uuid", "boot_index", "volume_size",
             "device_name", "delete_on_termination", "guest_format", "disk_bus",
             "device_type", "tag", "volume_type", "no_device", "volume_id", "image_id",
             "snapshot_id"}
# (source, destination) pairs a build can honour; blank/local ones are the
# ephemeral and swap disks the CLI adds, accepted but not created.
_SUPPORTED = {("volume", "volume"), ("image", "volume"), ("blank", "volume"),
              ("image", "local"), ("blank", "local")}


def _invalid(why: str) -> BadRequest:
    return BadRequest(f"Block Device Mapping is Invalid: {why}")


def _bdm_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1", "yes"):
        return True
    if str(value).lower() in ("false", "0", "no", "none"):
        return False
    raise _invalid(f"delete_on_termination {value!r:.50} is not a boolean")


def _boot_index(value: object) -> int | None:
    if value is None or (isinstance(value, str) and value.lower() == "none"):
        return None
    try:
        index = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise _invalid(f"boot_index {value!r:.50} is not an integer") from None
    return index if index >= 0 else None


def parse_block_device_mapping(raw: object) -> list[dict]:
    """Nova's v2 BDM format, normalised: what a build will do with each entry."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise BadRequest(f"Invalid input for field/attribute block_device_mapping_v2. Value: "
                         f"{raw!r:.100}. {raw!r:.100} is not of type 'array'")
    out = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise _invalid(f"{entry!r:.100} is not an object")
        extra = sorted(set(entry) - _BDM_KEYS)
        if extra:
            raise BadRequest("Invalid input for field/attribute block_device_mapping_v2. "
                             f"Additional properties are not allowed ({extra[0]!r} was "
                             "unexpected)")
        source = entry.get("source_type")
        if source not in ("volume", "image", "blank", "snapshot"):
            raise _invalid("Missing device source type or an invalid source_type "
                           f"{source!r:.50}")
        dest = entry.get("destination_type") or ("local" if source in ("image", "blank")
                                                 else "volume")
        if (source, dest) not in _SUPPORTED:
            raise _invalid(f"source_type {source} with destination_type {dest} is not "
                           "supported")
        uuid = entry.get("uuid") or entry.get(f"{source}_id")
        if source in ("volume", "image") and not is_uuid(uuid):
            raise _invalid(f"a {source} needs its uuid, got {uuid!r:.50}")
        size = entry.get("volume_size")
        if size is not None:
            try:
                size = int(size)
            except (TypeError, ValueError):
                raise _invalid(f"volume_size {size!r:.50} is not an integer") from None
            if size < 1:
                raise _invalid("volume_size must be at least 1")
        if dest == "volume" and source in ("image", "blank") and not size:
            raise _invalid("Images with destination_type 'volume' need to have a non-zero "
                           "size specified" if source == "image"
                           else "a blank volume needs a volume_size")
        boot_index = _boot_index(entry.get("boot_index"))
        if boot_index is not None and source == "blank":
            raise _invalid("a blank device cannot be booted from")
        out.append({"source_type": source, "destination_type": dest,
                    "uuid": str(uuid) if uuid else None, "boot_index": boot_index,
                    "volume_size": size, "device_name": entry.get("device_name"),
                    "delete_on_termination": _bdm_bool(
                        entry.get("delete_on_termination", dest == "local"))})
    indexes = sorted(b["boot_index"] for b in out if b["boot_index"] is not None)
    if indexes != list(range(len(indexes))):
        raise BadRequest("Boot sequence for the instance and image/block device mapping "
                         "combination is not valid.")
    return out


def boot_device(bdms: list[dict]) -> dict | None:
    """The entry the server boots from (boot_index 0), if any."""
    return next((b for b in bdms if b["boot_index"] == 0), None)


async def check_block_device_volumes(h: AppHandles, ctx: RequestContext, bdms: list[dict],
                                     max_count: int) -> str | None:
    """Check every volume the mapping names, in Cinder as the caller sees it
    (through its API, as Nova's API does: never this stand-in's table);
    return the boot volume's image id.

    A volume must be the caller's (or any, for admins) and available; one
    volume cannot go to several servers.
    """
    boot_image: str | None = None
    for bdm in bdms:
        if bdm["source_type"] != "volume":
            continue
        if max_count > 1:
            raise BadRequest("Cannot attach one or more volumes to multiple instances")
        try:
            vol = await cloud_proxy.call(
                h, ctx, lambda conn, vid=bdm["uuid"]: cloud_proxy.block_storage(conn)
                .get_volume(vid))
        except NotFound:
            raise _invalid(f"failed to get volume {bdm['uuid']}.") from None
        if vol.status != "available" or any(a.get("server_id") for a in vol.attachments or []):
            raise BadRequest(f"Invalid volume: volume '{vol.id}' status must be "
                             f"'available'. Currently in '{vol.status}'")
        if bdm["boot_index"] == 0:
            boot_image = (vol.volume_image_metadata or {}).get("image_id")
    return boot_image


async def check_block_device_images(h: AppHandles, ctx: RequestContext, bdms: list[dict]
                                    ) -> dict[str, GlanceImage]:
    """Every image the mapping names, from Glance: active and the project's to see."""
    found: dict[str, GlanceImage] = {}
    for bdm in bdms:
        if bdm["source_type"] == "image" and bdm["uuid"] not in found:
            img = await images.find_image(h, ctx, bdm["uuid"])
            if img is None or img.status != "active":
                raise _invalid(f"failed to get image {bdm['uuid']}.")
            found[img.id] = img
    return found


def volume_devices(bdms: list[dict]) -> list[dict]:
    """The entries a build turns into attached volumes (destination volume)."""
    return [b for b in bdms if b["destination_type"] == "volume"]


def block_device_specs(bdms: list[dict]) -> list[BlockDeviceSpec]:
    return [BlockDeviceSpec(source_type=b["source_type"], destination_type="volume",
                            uuid=b["uuid"], boot_index=b["boot_index"],
                            volume_size=b["volume_size"],
                            delete_on_termination=b["delete_on_termination"])
            for b in volume_devices(bdms)]


def block_device_rows(server_id: str, bdms: list[dict]) -> list[BlockDeviceMapping]:
    """The BlockDeviceMapping rows of one new server (volume ids of new volumes come later)."""
    return [BlockDeviceMapping(
        instance_uuid=server_id, source_type=b["source_type"], destination_type="volume",
        volume_id=b["uuid"] if b["source_type"] == "volume" else None,
        image_id=b["uuid"] if b["source_type"] == "image" else None,
        boot_index=b["boot_index"], device_name=b["device_name"],
        volume_size=b["volume_size"], delete_on_termination=b["delete_on_termination"],
        uuid=str(uuid4()))  # Nova's BDM uuid (shown as bdm_uuid from 2.89)
        for b in volume_devices(bdms)]


def attached_volumes(s: Session, server_ids: list[str]) -> dict[str, list[dict]]:
    """Each server's volumes as ``os-extended-volumes:volumes_attached`` lists them."""
    if not server_ids:
        return {}
    rows = s.exec(select(BlockDeviceMapping)
                  .where(BlockDeviceMapping.instance_uuid.in_(server_ids),
                         BlockDeviceMapping.volume_id.is_not(None))
                  .order_by(BlockDeviceMapping.id)).all()
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row.instance_uuid, []).append(
            {"id": row.volume_id, "delete_on_termination": row.delete_on_termination})
    return out
