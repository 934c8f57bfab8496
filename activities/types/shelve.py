"""Inputs and results of the shelve, offload and unshelve activities: ids
and small values only."""

from __future__ import annotations

from dataclasses import dataclass, field

from activities.types.catalog import FlavorInfo, ImageInfo, PortInfo
from activities.types.context import EventRecord, OpContext


@dataclass
class FinishShelveInput:
    """The guest stopped (and its disk copied into ``image_id``): SHELVED,
    or on to SHELVED_OFFLOADED at once when ``offload``."""

    ctx: OpContext
    image_id: str | None
    uploaded: bool
    power_state: int
    offload: bool
    events: list[EventRecord] = field(default_factory=list)


@dataclass
class BeginOffloadInput:
    """The offload timer fired: take the server if it is still shelved by ``shelve_workflow_id``."""

    ctx: OpContext
    shelve_workflow_id: str


@dataclass
class FinishOffloadInput:
    """Domain destroyed, allocation released: SHELVED_OFFLOADED, on no host."""

    ctx: OpContext
    events: list[EventRecord] = field(default_factory=list)


@dataclass
class UnshelvePlan:
    """What an unshelve needs: where the server was shelved (a SHELVED
    server's host; None once offloaded), what to spawn and with which ports."""

    name: str
    vm_state: str
    host: str | None
    flavor: FlavorInfo
    image: ImageInfo  # the shelved snapshot (or the base image of a volume-backed server)
    ports: list[PortInfo]
    shelved_image_id: str | None
    availability_zone: str | None = None
    server_group_uuid: str | None = None


@dataclass
class FinishUnshelveInput:
    ctx: OpContext
    host: str
    node_uuid: str | None
    power_state: int
    events: list[EventRecord] = field(default_factory=list)


@dataclass
class FailUnshelveInput:
    """An unshelve that found no host or failed on it: still shelved, task_state cleared."""

    ctx: OpContext
    message: str
    events: list[EventRecord] = field(default_factory=list)
