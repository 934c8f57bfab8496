"""Inputs and results of the snapshot activities (createImage, createBackup,
and the snapshot a shelve takes): ids and small values only."""

from __future__ import annotations

from dataclasses import dataclass, field

from activities.types.context import EventRecord, OpContext

SNAPSHOT_FAILED = "SnapshotFailed"


@dataclass
class SnapshotDomainInput:
    """Copy the server's root disk into the (queued) image ``image_id``."""

    server_id: str
    image_id: str


@dataclass
class SnapshotDomainResult:
    """``uploaded``: the host wrote the image's bytes (and so made it active);
    False where the hypervisor has no disk to copy (libvirt's test driver)."""

    uploaded: bool
    size: int = 0


@dataclass
class FinishSnapshotInput:
    """The end of a snapshot: the image made active if the host wrote no
    data, backups beyond ``rotation`` deleted, the server's task_state cleared
    (unless ``keep_task_state``: a shelve goes on)."""

    ctx: OpContext
    image_id: str
    uploaded: bool
    backup_type: str | None = None
    rotation: int | None = None
    keep_task_state: bool = False
    events: list[EventRecord] = field(default_factory=list)


@dataclass
class FinishSnapshotResult:
    rotated_out: list[str] = field(default_factory=list)  # backup image ids deleted


@dataclass
class FailSnapshotInput:
    """A snapshot that failed (or whose server was deleted): the image is
    deleted, as Nova deletes it; the server's task_state cleared unless it
    is being deleted."""

    ctx: OpContext
    image_id: str
    message: str
    events: list[EventRecord] = field(default_factory=list)
