"""Boot from volume, through Cinder's API (``activities/block_storage.py``),
as Nova's compute does it with Cinder 3.27+.

A build reserves its volumes before it is scheduled: a mapping entry from an
image or blank gets a new volume (POST /volumes as the user, so it is their
project's; then wait until it is available), an existing volume is checked
(available, and the project's); then an attachment is created for the
server without a connector (the volume is reserved).  Once the domain runs
the attachment is updated with the host's connector and completed (the
volume is in-use).  The delete releases them: the attachments deleted, and
the volumes marked ``delete_on_termination`` deleted.

Every call is idempotent: the ``BlockDeviceMapping`` rows written by the API
record which volume and attachment each entry got, so a retried activity
finds its own work.  The database holds only Nova's own rows here; the
volumes are Cinder's.
"""

from __future__ import annotations

from sqlmodel import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.base import ControlActivities
from activities.block_storage import CinderAttachments, CinderRefused, server_ids
from activities.types.catalog import (
    AttachVolumesInput,
    ImageInfo,
    ReserveVolumesInput,
    ReserveVolumesResult,
    VolumeDisk,
)
from activities.types.context import OpContext
from novaflow import errors
from novaflow.cloud import user_connection
from novaflow.images import ImageServiceUnavailable
from schema.models import BlockDeviceMapping, Instance


def _device(index: int) -> str:
    return "vd" + "abcdefghijklmnopqrstuvwxyz"[index]


def _refused(exc: CinderRefused) -> ApplicationError:
    return ApplicationError(exc.message, type=errors.INVALID_REQUEST, non_retryable=True)


def _volume_rows(s, server_id: str, volumes_only: bool = False) -> list[BlockDeviceMapping]:
    """The server's volume mapping rows, the boot volume first, then in the
    order they were asked for."""
    stmt = select(BlockDeviceMapping).where(BlockDeviceMapping.instance_uuid == server_id)
    stmt = (stmt.where(BlockDeviceMapping.destination_type == "volume") if volumes_only
            else stmt.where(BlockDeviceMapping.volume_id.is_not(None)))
    rows = s.exec(stmt.order_by(BlockDeviceMapping.id)).all()
    return sorted(rows, key=lambda r: (r.boot_index != 0, r.id))


class VolumeActivities(ControlActivities):
    """Reserve, attach and release a server's volumes."""

    def __init__(self, db, settings, cinder: CinderAttachments | None = None):
        super().__init__(db, settings)
        self.cinder = cinder or CinderAttachments(
            lambda: self.cloud, as_user=lambda token, project: user_connection(
                settings, token, project))

    def _path(self, volume_id: str) -> str:
        # Where the stand-in's volume lives; a real back end gives an iSCSI/RBD source.
        return str((self.settings.state_dir / "volumes" / f"volume-{volume_id}").resolve())

    def _set(self, server_id: str, row_id: int, **values) -> None:
        """Record one step's result on the mapping row at once (a retry finds it)."""
        with self.db.writer() as s:
            row = s.get(BlockDeviceMapping, row_id)
            if row is not None and row.instance_uuid == server_id:
                for key, value in values.items():
                    setattr(row, key, value)
                s.add(row)

    @activity.defn(name="reserve_volumes")
    def reserve_volumes(self, inp: ReserveVolumesInput) -> ReserveVolumesResult:
        ctx = inp.ctx
        with self.db.reader() as s:
            inst = s.exec(select(Instance).where(Instance.uuid == ctx.server_id)).first()
            rows = _volume_rows(s, ctx.server_id, volumes_only=True)
            for row in rows:
                s.expunge(row)
        name = f"{inst.display_name if inst else ctx.server_id}-volume"
        boot_from_volume = any(r.boot_index == 0 for r in rows)
        disks: list[VolumeDisk] = []
        boot_image_id: str | None = None
        for n, row in enumerate(rows):
            vol = self._reserve_one(ctx, row, name)
            device = _device(n if boot_from_volume else n + 1)
            self._set(ctx.server_id, row.id, device_name=f"/dev/{device}")
            disks.append(VolumeDisk(volume_id=vol["id"], device=device,
                                    boot_index=row.boot_index, size_gb=int(vol["size"]),
                                    path=self._path(vol["id"])))
            if row.boot_index == 0:
                boot_image_id = (vol.get("volume_image_metadata") or {}).get("image_id")
        with self.db.writer() as s:
            self.add_event(s, ctx, "reserve_volumes",
                           details=", ".join(f"{d.volume_id} as {d.device}" for d in disks))
        image: ImageInfo | None = None
        if boot_image_id:
            # The boot volume's image, from Glance (absent if since deleted).
            try:
                found = self.images.get(boot_image_id, ctx.project_id, ctx.is_admin)
            except ImageServiceUnavailable as exc:
                raise ApplicationError(f"Image service unavailable: {exc}") from exc
            image = ImageInfo.of(found) if found is not None else None
        return ReserveVolumesResult(disks=disks, boot_from_volume=boot_from_volume, image=image)

    def _reserve_one(self, ctx: OpContext, row: BlockDeviceMapping, name: str) -> dict:
        """The entry's volume, made or checked, with an attachment for the server."""
        try:
            if row.volume_id is None and row.source_type in ("image", "blank"):
                # Made for this server, from an image or empty, the first time round.
                row.volume_id = self.cinder.create_volume(
                    ctx.token, ctx.project_id, name, row.volume_size or 1,
                    row.image_id if row.source_type == "image" else None)
                self._set(ctx.server_id, row.id, volume_id=row.volume_id)
                self.cinder.wait_available(row.volume_id)
            vol = self.cinder.volume(row.volume_id) if row.volume_id else None
            if vol is None:
                raise ApplicationError(f"Volume {row.volume_id} could not be found.",
                                       type=errors.NOT_FOUND, non_retryable=True)
            attachment = row.attachment_id or self.cinder.find(vol["id"], ctx.server_id)
            if attachment is None:
                self._check_free(ctx, vol)
                attachment = self.cinder.reserve(vol["id"], ctx.server_id)
            if attachment != row.attachment_id:
                self._set(ctx.server_id, row.id, attachment_id=attachment)
            return vol
        except CinderRefused as exc:
            raise _refused(exc) from exc
        except TimeoutError as exc:
            raise ApplicationError(f"Volume {row.volume_id} did not finish being created "
                                   f"even after we waited: {exc}",
                                   type=errors.INVALID_REQUEST, non_retryable=True) from exc

    @staticmethod
    def _check_free(ctx: OpContext, vol: dict) -> None:
        """Nova's checks of a volume it is to boot with: the project's, and available."""
        owner = vol.get("os-vol-tenant-attr:tenant_id")
        if owner and owner != ctx.project_id and not ctx.is_admin:
            raise ApplicationError(f"Volume {vol['id']} could not be found.",
                                   type=errors.NOT_FOUND, non_retryable=True)
        if vol.get("status") != "available" or server_ids(vol):
            raise ApplicationError(f"Invalid volume: volume '{vol['id']}' status must be "
                                   f"'available'. Currently in '{vol.get('status')}'",
                                   type=errors.INVALID_REQUEST, non_retryable=True)

    @activity.defn(name="attach_volumes")
    def attach_volumes(self, inp: AttachVolumesInput) -> None:
        """The domain runs with the volumes: each attachment is updated with the
        host's connector and completed (the volume is in-use by the server)."""
        sid = inp.ctx.server_id
        with self.db.reader() as s:
            recorded = {r.volume_id: r.attachment_id for r in _volume_rows(s, sid)}
        for disk in inp.disks:
            try:
                attachment = (recorded.get(disk.volume_id)
                              or self.cinder.find(disk.volume_id, sid))
                if attachment is None or not any(
                        a["id"] == attachment
                        for a in self.cinder.attachments(disk.volume_id, sid)):
                    raise ApplicationError(f"Volume {disk.volume_id} is no longer reserved "
                                           f"for server {sid}", type=errors.INVALID_REQUEST,
                                           non_retryable=True)
                self.cinder.connect(attachment, self._connector(inp, disk))
                self.cinder.complete(attachment)
            except CinderRefused as exc:
                raise _refused(exc) from exc
        with self.db.writer() as s:
            self.add_event(s, inp.ctx, "attach_volumes", host=inp.host,
                           details=", ".join(f"{d.volume_id} on /dev/{d.device}"
                                             for d in inp.disks))

    @staticmethod
    def _connector(inp: AttachVolumesInput, disk: VolumeDisk) -> dict:
        """The host's connector (asked of it by the workflow) with where the disk
        is plugged; for a history from before that, or a host that could not
        tell, the host's name is all Cinder gets."""
        return {**(inp.connector or {"host": inp.host, "os_type": "linux",
                                     "multipath": False}),
                "mountpoint": f"/dev/{disk.device}"}

    @activity.defn(name="release_volumes")
    def release_volumes(self, ctx: OpContext) -> int:
        """Detach every volume of the server; delete those marked delete_on_termination.

        Returns how many volumes were released or deleted.
        """
        sid = ctx.server_id
        with self.db.reader() as s:
            rows = _volume_rows(s, sid)
            for row in rows:
                s.expunge(row)
        done = 0
        try:
            for row in rows:
                done += self._release_one(sid, row)
            # A volume reserved for the server by an operation the delete cut
            # short (a swap's new volume) has an attachment but no mapping row.
            for att in self.cinder.attachments(server_id=sid):
                if self.cinder.delete(att["id"]):
                    done += 1
        except CinderRefused as exc:
            raise ApplicationError(exc.message) from exc  # retried: Cinder may come round
        if rows:
            with self.db.writer() as s:
                self.add_event(s, ctx, "release_volumes", details=f"{done} volume(s)")
        return done

    def _release_one(self, sid: str, row: BlockDeviceMapping) -> int:
        vol = self.cinder.volume(row.volume_id)
        if vol is None:
            return 0  # gone already
        mine = [a["id"] for a in self.cinder.attachments(vol["id"], sid)]
        for att in mine:
            self.cinder.delete(att)
        attached = server_ids(vol)
        if not mine and sid in attached:
            # Attached at boot before attachments were recorded: the legacy detach.
            self.cinder.detach(vol["id"])
        elif not mine and attached:
            return 0  # someone else's by now
        ours = bool(mine) or sid in attached or row.source_type in ("image", "blank")
        if row.delete_on_termination and ours:
            try:
                self.cinder.delete_volume(vol["id"])
            except CinderRefused:
                return int(bool(mine))  # in use again (another server): it stays
            return 1
        return int(bool(mine) or sid in attached)

    @activity.defn(name="get_volume_disks")
    def get_volume_disks(self, ctx: OpContext) -> list[VolumeDisk]:
        """The server's attached volumes as a spawn needs them (for moves: a resize
        or migration defines the domain again on another host)."""
        with self.db.reader() as s:
            rows = _volume_rows(s, ctx.server_id)
            for row in rows:
                s.expunge(row)
        disks = []
        for row in rows:
            try:
                vol = self.cinder.volume(row.volume_id)
            except CinderRefused as exc:
                raise ApplicationError(exc.message) from exc
            if vol is None or ctx.server_id not in server_ids(vol):
                continue
            device = (row.device_name or "").removeprefix("/dev/") or "vdb"
            disks.append(VolumeDisk(volume_id=vol["id"], device=device,
                                    boot_index=row.boot_index, size_gb=int(vol["size"]),
                                    path=self._path(vol["id"])))
        return disks

    def all(self) -> list:
        return [self.reserve_volumes, self.attach_volumes, self.release_volumes,
                self.get_volume_disks]
