"""Control-plane steps of volume attach / detach (workflows/volume_attach.py):
the server's block-device-mapping rows, and Cinder's attachments through
``activities/block_storage.py`` (over HTTP, never Cinder's tables).

The API wrote the mapping row (volume, device name, delete_on_termination,
tag) when it started the attach, as Nova's ``reserve_block_device_name``
does.  Attach: ``reserve_volume`` (attachment create: the volume is
reserved for the server), ``connect_volume`` with the host's connector,
then the host plugs the disk and ``finish_volume_attach`` completes the
attachment (volume in-use) -- or, if any step failed, deletes the
attachment and the mapping row, so nothing is left behind.  Detach: the
host unplugs the disk, ``finish_volume_detach`` deletes the attachment (the
legacy os-detach for a boot's volumes) and the row.  Each step is
idempotent: the row records the attachment it made.
"""

from __future__ import annotations

from sqlmodel import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.base import ControlActivities
from activities.block_storage import CinderAttachments, CinderRefused
from activities.types.catalog import VolumeDisk
from activities.types.volume_attach import (
    VOLUME_ATTACH_FAILED,
    FinishVolumeInput,
    SwapPlan,
    SwapStepInput,
    VolumeAttachPlan,
    VolumeStepInput,
)
from novaflow import errors
from novaflow.cloud import host_connection
from novaflow.states import TaskState
from schema.models import BlockDeviceMapping, Instance


class VolumeAttachActivities(ControlActivities):
    """Database and Cinder steps of volume attach and detach."""

    def __init__(self, db, settings, cinder: CinderAttachments | None = None):
        super().__init__(db, settings)
        self.cinder = cinder or CinderAttachments(lambda: host_connection(settings))

    def _path(self, volume_id: str) -> str:
        return str((self.settings.state_dir / "volumes" / f"volume-{volume_id}").resolve())

    def _row(self, s, inp: VolumeStepInput) -> BlockDeviceMapping:
        row = s.exec(select(BlockDeviceMapping)
                     .where(BlockDeviceMapping.instance_uuid == inp.ctx.server_id,
                            BlockDeviceMapping.volume_id == inp.volume_id)).first()
        if row is None:
            raise ApplicationError(f"Volume {inp.volume_id} is not attached to server "
                                   f"{inp.ctx.server_id}", type=errors.NOT_FOUND,
                                   non_retryable=True)
        return row

    def _plan(self, s, inp: VolumeStepInput) -> VolumeAttachPlan:
        inst = s.exec(select(Instance).where(Instance.uuid == inp.ctx.server_id)).first()
        if inst is None or inst.deleted or inst.task_state == TaskState.DELETING:
            raise ApplicationError(f"Instance {inp.ctx.server_id} is being deleted",
                                   type=errors.NOT_FOUND, non_retryable=True)
        row = self._row(s, inp)
        bus = ((inst.image or {}).get("properties") or {}).get("hw_disk_bus") or "virtio"
        return VolumeAttachPlan(
            host=inst.host or "", attachment_id=row.attachment_id, disk_bus=bus,
            disk=VolumeDisk(volume_id=inp.volume_id,
                            device=(row.device_name or "").removeprefix("/dev/"),
                            boot_index=row.boot_index, size_gb=self._size(inp.volume_id),
                            path=self._path(inp.volume_id)))

    def _size(self, volume_id: str) -> int:
        """The volume's size in GB, from Cinder (1 if it is gone)."""
        try:
            vol = self.cinder.volume(volume_id)
        except CinderRefused as exc:
            raise ApplicationError(exc.message, type=errors.INVALID_REQUEST,
                                   non_retryable=True) from exc
        return int(vol["size"]) if vol else 1

    @activity.defn(name="reserve_volume")
    def reserve_volume(self, inp: VolumeStepInput) -> VolumeAttachPlan:
        """Cinder's attachment create (the volume is reserved for the server)."""
        with self.db.reader() as s:
            plan = self._plan(s, inp)
        if plan.attachment_id is None:
            try:
                plan.attachment_id = self.cinder.reserve(inp.volume_id, inp.ctx.server_id)
            except CinderRefused as exc:
                raise ApplicationError(exc.message, type=errors.INVALID_REQUEST,
                                       non_retryable=True) from exc
            with self.db.writer() as s:
                row = self._row(s, inp)
                row.attachment_id = plan.attachment_id
                s.add(row)
        return plan

    @activity.defn(name="connect_volume")
    def connect_volume(self, inp: VolumeStepInput) -> str:
        """Cinder's attachment update with the host's connector: the path to plug."""
        try:
            info = self.cinder.connect(inp.attachment_id or "", inp.connector)
        except CinderRefused as exc:
            raise ApplicationError(exc.message, type=VOLUME_ATTACH_FAILED,
                                   non_retryable=True) from exc
        return str((info.get("data") or {}).get("device_path") or self._path(inp.volume_id))

    @activity.defn(name="finish_volume_attach")
    def finish_volume_attach(self, inp: FinishVolumeInput) -> None:
        """Complete the attachment; or, after a failure, delete it and the row."""
        if inp.error is None:
            self.cinder.complete(inp.attachment_id or "")
        elif inp.attachment_id:
            self.cinder.delete(inp.attachment_id)
        with self.db.writer() as s:
            self.add_events(s, inp.ctx, inp.events)
            self.finish_action(s, inp.ctx, message=inp.error[:255] if inp.error else None)
            if inp.error is not None:
                row = s.exec(select(BlockDeviceMapping)
                             .where(BlockDeviceMapping.instance_uuid == inp.ctx.server_id,
                                    BlockDeviceMapping.volume_id == inp.volume_id)).first()
                if row is not None and row.boot_index is None:
                    s.delete(row)

    @activity.defn(name="prepare_volume_detach")
    def prepare_volume_detach(self, inp: VolumeStepInput) -> VolumeAttachPlan:
        with self.db.reader() as s:
            return self._plan(s, inp)

    @activity.defn(name="finish_volume_detach")
    def finish_volume_detach(self, inp: FinishVolumeInput) -> None:
        """After the host let go: the attachment and the row go.  After a
        failure the volume stays attached (Nova's roll_detaching)."""
        if inp.error is None:
            if inp.attachment_id:
                self.cinder.delete(inp.attachment_id)
            else:
                self.cinder.detach(inp.volume_id)  # attached at boot, without an attachment
        with self.db.writer() as s:
            self.add_events(s, inp.ctx, inp.events)
            self.finish_action(s, inp.ctx, message=inp.error[:255] if inp.error else None)
            if inp.error is None:
                row = s.exec(select(BlockDeviceMapping)
                             .where(BlockDeviceMapping.instance_uuid == inp.ctx.server_id,
                                    BlockDeviceMapping.volume_id == inp.volume_id)).first()
                if row is not None:
                    s.delete(row)

    @activity.defn(name="reserve_swap")
    def reserve_swap(self, inp: SwapStepInput) -> SwapPlan:
        """The new volume reserved for the server (once: a retry finds it)."""
        old = VolumeStepInput(ctx=inp.ctx, volume_id=inp.old_volume_id)
        with self.db.reader() as s:
            plan = self._plan(s, old)
        try:
            new_id = (self.cinder.find(inp.new_volume_id, inp.ctx.server_id)
                      or self.cinder.reserve(inp.new_volume_id, inp.ctx.server_id))
        except CinderRefused as exc:
            raise ApplicationError(exc.message, type=errors.INVALID_REQUEST,
                                   non_retryable=True) from exc
        new = VolumeDisk(volume_id=inp.new_volume_id, device=plan.disk.device,
                         boot_index=plan.disk.boot_index,
                         size_gb=self._size(inp.new_volume_id),
                         path=self._path(inp.new_volume_id))
        return SwapPlan(host=plan.host, old=plan.disk, new=new,
                        old_attachment_id=plan.attachment_id, new_attachment_id=new_id,
                        disk_bus=plan.disk_bus)

    @activity.defn(name="finish_swap")
    def finish_swap(self, inp: SwapStepInput) -> None:
        """Done: the new attachment completed, the old one deleted, the mapping
        row names the new volume.  Failed: the new attachment deleted."""
        plan = inp.plan
        if plan is not None and inp.error is not None:
            self.cinder.delete(plan.new_attachment_id)
        elif plan is not None:
            self.cinder.complete(plan.new_attachment_id)
            if plan.old_attachment_id:
                self.cinder.delete(plan.old_attachment_id)
            else:
                self.cinder.detach(inp.old_volume_id)
        with self.db.writer() as s:
            self.add_events(s, inp.ctx, inp.events)
            self.finish_action(s, inp.ctx, message=inp.error[:255] if inp.error else None)
            if plan is not None and inp.error is None:
                row = s.exec(select(BlockDeviceMapping)
                             .where(BlockDeviceMapping.instance_uuid == inp.ctx.server_id,
                                    BlockDeviceMapping.volume_id == inp.old_volume_id)).first()
                if row is not None:
                    row.volume_id, row.attachment_id = (inp.new_volume_id,
                                                        plan.new_attachment_id)
                    s.add(row)

    def all(self) -> list:
        return [self.reserve_volume, self.connect_volume, self.finish_volume_attach,
                self.prepare_volume_detach, self.finish_volume_detach, self.reserve_swap,
                self.finish_swap]
