"""Volume bookkeeping for boot from volume, against the local volume catalog.

A build reserves its volumes before it is scheduled (creating the ones its
block-device mapping asks to be made from an image or blank), attaches them
once the domain runs, and the delete releases them: back to ``available``,
or deleted when the mapping said ``delete_on_termination``.  Every call is
idempotent: the ``BlockDeviceMapping`` rows written by the API record which
volume each entry got, so a retried activity finds its own work.  Against a
real cloud the same activity names call Cinder's attachment API.
"""

from __future__ import annotations

from sqlmodel import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.base import ControlActivities
from activities.catalog import image_info
from activities.types.catalog import (
    AttachVolumesInput,
    ImageInfo,
    ReserveVolumesInput,
    ReserveVolumesResult,
    VolumeDisk,
)
from activities.types.context import OpContext
from novaflow import errors
from novaflow.images import ImageServiceUnavailable
from schema.models import BlockDeviceMapping, Instance, Volume, VolumeAttachment, utcnow


def _device(index: int) -> str:
    return "vd" + "abcdefghijklmnopqrstuvwxyz"[index]


class VolumeActivities(ControlActivities):
    """Reserve, attach and release a server's volumes."""

    def _path(self, volume_id: str) -> str:
        # Where the stand-in's volume lives; a real back end gives an iSCSI/RBD source.
        return str((self.settings.state_dir / "volumes" / f"volume-{volume_id}").resolve())

    @activity.defn(name="reserve_volumes")
    def reserve_volumes(self, inp: ReserveVolumesInput) -> ReserveVolumesResult:
        ctx = inp.ctx
        with self.db.writer() as s:
            inst = s.exec(select(Instance).where(Instance.uuid == ctx.server_id)).first()
            rows = s.exec(select(BlockDeviceMapping)
                          .where(BlockDeviceMapping.instance_uuid == ctx.server_id,
                                 BlockDeviceMapping.destination_type == "volume")
                          .order_by(BlockDeviceMapping.id)).all()
            # The boot volume first, then the others in the order they were asked for.
            rows = sorted(rows, key=lambda r: (r.boot_index != 0, r.id))
            boot_from_volume = any(r.boot_index == 0 for r in rows)
            disks: list[VolumeDisk] = []
            boot_image_id: str | None = None
            for n, row in enumerate(rows):
                vol = self._reserve_one(s, ctx, row, inst)
                device = _device(n if boot_from_volume else n + 1)
                row.device_name = f"/dev/{device}"
                s.add(row)
                disks.append(VolumeDisk(volume_id=vol.id, device=device,
                                        boot_index=row.boot_index, size_gb=vol.size,
                                        path=self._path(vol.id)))
                if row.boot_index == 0 and vol.image_id:
                    boot_image_id = vol.image_id
            self.add_event(s, ctx, "reserve_volumes",
                           details=", ".join(f"{d.volume_id} as {d.device}" for d in disks))
        image: ImageInfo | None = None
        if boot_image_id:
            # The boot volume's image, from Glance (absent if since deleted).
            try:
                found = self.images.get(boot_image_id, ctx.project_id, ctx.is_admin)
            except ImageServiceUnavailable as exc:
                raise ApplicationError(f"Image service unavailable: {exc}") from exc
            image = image_info(found) if found is not None else None
        return ReserveVolumesResult(disks=disks, boot_from_volume=boot_from_volume, image=image)

    def _reserve_one(self, s, ctx: OpContext, row: BlockDeviceMapping,
                     inst: Instance | None) -> Volume:
        if row.volume_id is None and row.source_type in ("image", "blank"):
            # Made for this server, from an image or empty, the first time round.
            vol = Volume(name=f"{inst.display_name if inst else ctx.server_id}-volume",
                         size=row.volume_size or 1, project_id=ctx.project_id,
                         user_id=ctx.user_id, image_id=row.image_id,
                         bootable=row.source_type == "image",
                         status="reserved", attached_to=ctx.server_id)
            s.add(vol)
            s.flush()
            row.volume_id = vol.id
            return vol
        vol = s.get(Volume, row.volume_id) if row.volume_id else None
        if vol is None:
            raise ApplicationError(f"Volume {row.volume_id} could not be found.",
                                   type=errors.NOT_FOUND, non_retryable=True)
        if vol.attached_to == ctx.server_id:
            return vol  # ours already: a retried reservation
        if vol.status != "available" or vol.attached_to:
            raise ApplicationError(f"Invalid volume: volume '{vol.id}' status must be "
                                   f"'available'. Currently in '{vol.status}'",
                                   type=errors.INVALID_REQUEST, non_retryable=True)
        if vol.project_id != ctx.project_id and not ctx.is_admin:
            raise ApplicationError(f"Volume {vol.id} could not be found.",
                                   type=errors.NOT_FOUND, non_retryable=True)
        vol.status, vol.attached_to, vol.updated_at = "reserved", ctx.server_id, utcnow()
        s.add(vol)
        return vol

    @activity.defn(name="attach_volumes")
    def attach_volumes(self, inp: AttachVolumesInput) -> None:
        """The domain runs with the volumes: they are in use by the server now."""
        with self.db.writer() as s:
            for disk in inp.disks:
                vol = s.get(Volume, disk.volume_id)
                if vol is None or vol.attached_to not in (None, inp.ctx.server_id):
                    raise ApplicationError(f"Volume {disk.volume_id} is no longer reserved "
                                           f"for server {inp.ctx.server_id}",
                                           type=errors.INVALID_REQUEST, non_retryable=True)
                vol.status, vol.attached_to = "in-use", inp.ctx.server_id
                vol.device, vol.updated_at = f"/dev/{disk.device}", utcnow()
                s.add(vol)
            self.add_event(s, inp.ctx, "attach_volumes", host=inp.host,
                           details=", ".join(f"{d.volume_id} on /dev/{d.device}"
                                             for d in inp.disks))

    @activity.defn(name="release_volumes")
    def release_volumes(self, ctx: OpContext) -> int:
        """Detach every volume of the server; delete those marked delete_on_termination.

        Returns how many volumes were released or deleted.
        """
        done = 0
        with self.db.writer() as s:
            rows = s.exec(select(BlockDeviceMapping)
                          .where(BlockDeviceMapping.instance_uuid == ctx.server_id,
                                 BlockDeviceMapping.volume_id.is_not(None))).all()
            for row in rows:
                vol = s.get(Volume, row.volume_id)
                if vol is None or vol.attached_to not in (None, ctx.server_id):
                    continue  # gone already, or someone else's by now
                # Its attachments in the Cinder stand-in (a volume attached
                # while the server ran) go with it.
                for att in s.exec(select(VolumeAttachment).where(
                        VolumeAttachment.volume_id == vol.id,
                        VolumeAttachment.instance_uuid == ctx.server_id)).all():
                    s.delete(att)
                if row.delete_on_termination and vol.attached_to == ctx.server_id:
                    s.delete(vol)
                elif vol.attached_to is not None:
                    vol.status, vol.attached_to, vol.device = "available", None, None
                    vol.updated_at = utcnow()
                    s.add(vol)
                else:
                    continue
                done += 1
            # A volume reserved for the server by an operation the delete cut
            # short (a swap's new volume) has an attachment but no mapping row.
            for att in s.exec(select(VolumeAttachment).where(
                    VolumeAttachment.instance_uuid == ctx.server_id)).all():
                vol = s.get(Volume, att.volume_id)
                if vol is not None and vol.attached_to == ctx.server_id:
                    vol.status, vol.attached_to, vol.device = "available", None, None
                    vol.updated_at = utcnow()
                    s.add(vol)
                    done += 1
                s.delete(att)
            if rows:
                self.add_event(s, ctx, "release_volumes", details=f"{done} volume(s)")
        return done

    @activity.defn(name="get_volume_disks")
    def get_volume_disks(self, ctx: OpContext) -> list[VolumeDisk]:
        """The server's attached volumes as a spawn needs them (for moves: a resize
        or migration defines the domain again on another host)."""
        with self.db.reader() as s:
            rows = s.exec(select(BlockDeviceMapping)
                          .where(BlockDeviceMapping.instance_uuid == ctx.server_id,
                                 BlockDeviceMapping.volume_id.is_not(None))).all()
            disks = []
            for row in sorted(rows, key=lambda r: (r.boot_index != 0, r.id)):
                vol = s.get(Volume, row.volume_id)
                if vol is None or vol.attached_to != ctx.server_id:
                    continue
                device = (row.device_name or "").removeprefix("/dev/") or "vdb"
                disks.append(VolumeDisk(volume_id=vol.id, device=device,
                                        boot_index=row.boot_index, size_gb=vol.size,
                                        path=self._path(vol.id)))
        return disks

    def all(self) -> list:
        return [self.reserve_volumes, self.attach_volumes, self.release_volumes,
                self.get_volume_disks]
