"""Control-plane activities of a snapshot (createImage, createBackup, the
image a shelve takes): the image made active or deleted, backup rotation,
the server's task_state and action.

The image service is Glance, through openstacksdk as the service user
(``novaflow.images.ImageWriter``); the API created the queued image when the
operation started (as Nova's API asks Glance for it before casting to the
compute host).  A Glance that does not answer is a retryable failure.
"""

from __future__ import annotations

from sqlmodel import Session, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.base import ControlActivities
from activities.types.snapshot import FailSnapshotInput, FinishSnapshotInput, FinishSnapshotResult
from novaflow.images import ImageServiceUnavailable
from novaflow.states import TaskState
from schema.models import Instance, utcnow

SERVICE_UNAVAILABLE = "ServiceUnavailable"  # retried


class SnapshotActivities(ControlActivities):
    """Database steps of a snapshot."""

    def delete_image(self, _s: Session | None, image_id: str) -> bool:
        """Delete the image in Glance; False when it was gone already."""
        try:
            return self.images.delete(image_id)
        except ImageServiceUnavailable as exc:
            raise ApplicationError(str(exc), type=SERVICE_UNAVAILABLE) from exc

    def _image_status(self, image_id: str) -> str | None:
        try:
            return self.images.status(image_id)
        except ImageServiceUnavailable as exc:
            raise ApplicationError(str(exc), type=SERVICE_UNAVAILABLE) from exc

    def activate_if_empty(self, image_id: str, uploaded: bool) -> None:
        """No bits from the host (libvirt's test driver): an empty upload makes
        the queued image active, as a real Glance requires."""
        if not uploaded and self._image_status(image_id) in ("queued", "saving"):
            try:
                self.images.activate_empty(image_id)
            except ImageServiceUnavailable as exc:
                raise ApplicationError(str(exc), type=SERVICE_UNAVAILABLE) from exc

    @staticmethod
    def _being_deleted(s: Session, server_id: str) -> Instance | None:
        """The server, unless it is gone or a delete owns it (then None)."""
        inst = s.exec(select(Instance).where(Instance.uuid == server_id)).first()
        if inst is None or inst.deleted or inst.task_state == TaskState.DELETING:
            return None
        return inst

    def _release_task(self, s: Session, server_id: str) -> None:
        inst = self._being_deleted(s, server_id)
        if inst is not None:
            inst.task_state, inst.updated_at = None, utcnow()
            s.add(inst)

    @activity.defn(name="finish_snapshot")
    def finish_snapshot(self, inp: FinishSnapshotInput) -> FinishSnapshotResult:
        out = FinishSnapshotResult()
        status = self._image_status(inp.image_id)
        if status is not None:
            self.activate_if_empty(inp.image_id, inp.uploaded)
        backups = (self.images.backups(inp.ctx.server_id, inp.backup_type)
                   if inp.backup_type is not None and inp.rotation is not None else [])
        with self.db.writer() as s:
            self.add_events(s, inp.ctx, inp.events)
            if status is not None and self._being_deleted(s, inp.ctx.server_id) is None:
                # A delete came while the host copied the disk: Nova deletes
                # the snapshot of a server that is going away.
                self.delete_image(s, inp.image_id)
                self.finish_action(s, inp.ctx, message="the server was deleted during "
                                                       "the snapshot")
                return out
            if inp.rotation is not None:  # a backup: Nova's _rotate_backups
                # The one just made is the newest, whatever Glance's
                # one-second created_at says.
                backups = [inp.image_id, *(b for b in backups if b != inp.image_id)]
                for old in backups[inp.rotation:]:
                    self.delete_image(s, old)
                    out.rotated_out.append(old)
            if not inp.keep_task_state:
                self._release_task(s, inp.ctx.server_id)
                self.finish_action(s, inp.ctx, message=(
                    f"image {inp.image_id} was deleted during the snapshot"
                    if status is None else None))
        return out

    @activity.defn(name="fail_snapshot")
    def fail_snapshot(self, inp: FailSnapshotInput) -> None:
        """The image deleted (as Nova deletes a failed snapshot's image); the
        server keeps its vm_state, its task_state cleared."""
        with self.db.writer() as s:
            self.delete_image(s, inp.image_id)
            self.add_events(s, inp.ctx, inp.events)
            self.finish_action(s, inp.ctx, message=inp.message[:255])
            self._release_task(s, inp.ctx.server_id)

    def all(self) -> list:
        return [self.finish_snapshot, self.fail_snapshot]
