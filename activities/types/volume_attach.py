"""Inputs and results of volume attach / detach (os-volume_attachments):
ids and small values only."""

from __future__ import annotations

from dataclasses import dataclass, field

from activities.types.catalog import VolumeDisk
from activities.types.context import EventRecord, OpContext

# Failure types the workflows raise for the API and the instance action.
VOLUME_ATTACH_FAILED = "VolumeAttachFailed"
VOLUME_DETACH_FAILED = "VolumeDetachFailed"


@dataclass
class VolumeAttachPlan:
    """What an attach or detach reads once: where the server is and the volume's disk."""

    host: str
    disk: VolumeDisk
    attachment_id: str | None = None  # the Cinder attachment (None: attached at boot)
    disk_bus: str = "virtio"


@dataclass
class VolumeStepInput:
    """A control step of an attach/detach of ``volume_id`` on the server."""

    ctx: OpContext
    volume_id: str
    attachment_id: str | None = None
    connector: dict = field(default_factory=dict)


@dataclass
class FinishVolumeInput:
    """The end of an attach/detach: its events, and why it failed (None: it did not)."""

    ctx: OpContext
    volume_id: str
    attachment_id: str | None = None
    error: str | None = None
    events: list[EventRecord] = field(default_factory=list)


@dataclass
class HostVolumeInput:
    """A host step: plug or unplug one volume's disk in the server's domain."""

    server_id: str
    disk: VolumeDisk
    disk_bus: str = "virtio"


@dataclass
class SwapVolumeDeviceInput:
    """A host step: ``new`` in place of ``old`` at the same device."""

    server_id: str
    old: VolumeDisk
    new: VolumeDisk
    disk_bus: str = "virtio"


@dataclass
class SwapPlan:
    """What a swap reads once: the old volume's disk and attachment, the new
    volume's reserved attachment and the disk it becomes (same device)."""

    host: str
    old: VolumeDisk
    new: VolumeDisk
    old_attachment_id: str | None
    new_attachment_id: str
    disk_bus: str = "virtio"


@dataclass
class SwapStepInput:
    ctx: OpContext
    old_volume_id: str
    new_volume_id: str
    plan: SwapPlan | None = None
    error: str | None = None
    events: list[EventRecord] = field(default_factory=list)

