"""Control-plane activities of a snapshot (createImage, createBackup, the
image a shelve takes): the image made active or deleted, backup rotation,
the server's task_state and action.

The image service here is the catalog stand-in (api/routes/catalog.py), our
own ``images`` table with its data under ``<state dir>/images/``; the API
created the queued image when the operation started (as Nova's API asks
Glance for it before casting to the compute host).
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select
from temporalio import activity

from activities.base import ControlActivities
from activities.types.snapshot import FailSnapshotInput, FinishSnapshotInput, FinishSnapshotResult
from novaflow.states import TaskState
from schema.models import Image, Instance, utcnow


def image_file(state_dir: str | Path, image_id: str) -> Path:
    """Where the catalog keeps an image's data (api/routes/catalog.py's path)."""
    return Path(state_dir) / "images" / image_id


class SnapshotActivities(ControlActivities):
    """Database steps of a snapshot."""

    def delete_image(self, s: Session, image_id: str) -> bool:
        img = s.get(Image, image_id)
        if img is None:
            return False
        s.delete(img)
        image_file(self.settings.state_dir, image_id).unlink(missing_ok=True)
        return True

    def _backups(self, s: Session, server_id: str, backup_type: str) -> list[Image]:
        """The server's backups of that type, newest first (Nova's rotation order)."""
        rows = [i for i in s.exec(select(Image)).all()
                if (i.properties or {}).get("instance_uuid") == server_id
                and (i.properties or {}).get("image_type") == "backup"
                and (i.properties or {}).get("backup_type") == backup_type]
        return sorted(rows, key=lambda i: (i.created_at, i.id), reverse=True)

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
        with self.db.writer() as s:
            self.add_events(s, inp.ctx, inp.events)
            img = s.get(Image, inp.image_id)
            if img is not None and self._being_deleted(s, inp.ctx.server_id) is None:
                # A delete came while the host copied the disk: Nova deletes
                # the snapshot of a server that is going away.
                self.delete_image(s, inp.image_id)
                self.finish_action(s, inp.ctx, message="the server was deleted during "
                                                       "the snapshot")
                return out
            if img is not None and not inp.uploaded and img.status in ("queued", "saving"):
                img.status, img.updated_at = "active", utcnow()
                s.add(img)
            if inp.backup_type is not None and inp.rotation is not None:
                for old in self._backups(s, inp.ctx.server_id, inp.backup_type)[inp.rotation:]:
                    self.delete_image(s, old.id)
                    out.rotated_out.append(old.id)
            if not inp.keep_task_state:
                self._release_task(s, inp.ctx.server_id)
                self.finish_action(s, inp.ctx, message=(
                    f"image {inp.image_id} was deleted during the snapshot"
                    if img is None else None))
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
