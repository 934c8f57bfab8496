"""Inputs of rescue / unrescue: ids and small values only."""

from __future__ import annotations

from dataclasses import dataclass, field

from activities.types.catalog import ImageInfo
from activities.types.context import EventRecord, OpContext
from activities.types.hypervisor import SpawnInput

RESCUE_FAILED = "RescueFailed"


@dataclass
class RescueDomainInput:
    """A host step: the server booted from ``rescue_image``, its disks second."""

    spawn: SpawnInput
    rescue_image: ImageInfo


@dataclass
class FinishRescueInput:
    """The end of a rescue or unrescue: where the server rests, or why it failed."""

    ctx: OpContext
    vm_state: str
    power_state: int = 0
    error: str | None = None
    error_state: str | None = None  # the vm_state a failure leaves (None: unchanged)
    events: list[EventRecord] = field(default_factory=list)
