"""Inputs and results of the day-2 operations' activities (guest actions
such as trigger_crash_dump, rebuild): ids and small values only."""

from __future__ import annotations

from dataclasses import dataclass, field

from activities.types.catalog import FlavorInfo, ImageInfo, PortInfo
from activities.types.context import EventRecord, OpContext
from activities.types.hypervisor import SpawnInput

# Failure types of the guest actions' host steps, which the API maps to
# Nova's answers (400 not supported, 409 not running).
NOT_SUPPORTED = "NotSupportedByDriver"
GUEST_NOT_RUNNING = "GuestNotRunning"
GUEST_ACTION_FAILED = "GuestActionFailed"


@dataclass
class GuestActionInput:
    """A host step on one server's running guest."""

    server_id: str


@dataclass
class FinishGuestActionInput:
    """The end of a guest action: its events, and why it failed (None: it did not)."""

    ctx: OpContext
    error: str | None = None
    events: list[EventRecord] = field(default_factory=list)


# -- rebuild ----------------------------------------------------------------------


@dataclass
class RebuildPlan:
    """What a rebuild reads once: the server as it is now, with its new image."""

    name: str
    host: str
    vm_state: str  # before the rebuild: STOPPED stays stopped afterwards
    flavor: FlavorInfo
    image: ImageInfo
    ports: list[PortInfo] = field(default_factory=list)


@dataclass
class CheckRebuildImageInput:
    """Whether the server's own host can run the new image (Nova re-runs the
    image filters on that one host when a rebuild changes the image)."""

    ctx: OpContext
    host: str
    image: ImageInfo
    flavor: FlavorInfo


@dataclass
class RebuildDomainInput:
    """Host side: the server's domain again from ``spawn.image``, same ports
    and volumes; stopped afterwards unless ``power_on``."""

    spawn: SpawnInput
    preserve_ephemeral: bool = False
    power_on: bool = True


@dataclass
class FinishRebuildInput:
    ctx: OpContext
    vm_state: str
    power_state: int
    events: list[EventRecord] = field(default_factory=list)


@dataclass
class FailRebuildInput:
    """A failed rebuild: ERROR with a fault; a refused image is rolled back
    to the one the server had (``previous_image``: the instance's snapshot)."""

    ctx: OpContext
    message: str
    error_type: str
    previous_image_ref: str | None = None
    previous_image: dict | None = None
    events: list[EventRecord] = field(default_factory=list)


# -- soft delete ------------------------------------------------------------------


@dataclass
class BeginReclaimInput:
    """A soft-deleted server whose time is up: delete it now, if it is still
    soft-deleted by ``soft_delete_workflow_id`` (not restored, not deleted)."""

    ctx: OpContext
    soft_delete_workflow_id: str
    delete_workflow_id: str
