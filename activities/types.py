"""Inputs and results passed between workflows and activities.

One dataclass per call, named ``<Op>Input`` / ``<Op>Result``, holding ids and
small values only (never ORM rows), so fields can be added without breaking
running workflows.  Pure data: workflows import this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class OpContext:
    """Who asked for an operation, and the action row its events belong to."""

    server_id: str
    project_id: str
    user_id: str
    request_id: str = ""
    action_id: int | None = None
    token: str = ""
    is_admin: bool = False


@dataclass
class Identity:
    user_id: str
    project_id: str
    roles: list[str] = field(default_factory=list)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


@dataclass
class CheckTokenInput:
    ctx: OpContext


@dataclass
class FlavorInfo:
    flavorid: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int = 0
    swap: int = 0
    extra_specs: dict[str, str] = field(default_factory=dict)


@dataclass
class ImageInfo:
    id: str
    name: str
    properties: dict[str, Any] = field(default_factory=dict)
    min_disk: int = 0
    min_ram: int = 0


@dataclass
class NetworkInfo:
    id: str
    name: str


@dataclass
class LookupInput:
    ctx: OpContext
    ref: str  # flavor id, image id
    refs: list[str] = field(default_factory=list)  # network ids


@dataclass
class SelectDestinationsInput:
    ctx: OpContext
    flavor: FlavorInfo
    image: ImageInfo | None = None
    availability_zone: str | None = None
    scheduler_hints: dict[str, Any] = field(default_factory=dict)
    ignore_hosts: list[str] = field(default_factory=list)
    force_host: str | None = None
    requested_host: str | None = None
    num_alternates: int = 2


@dataclass
class SelectDestinationsResult:
    hosts: list[str]  # chosen first, then alternates


@dataclass
class ClaimInput:
    ctx: OpContext
    consumer_id: str
    flavor: FlavorInfo
    candidates: list[str]


@dataclass
class ClaimResult:
    host: str
    node_uuid: str
    libvirt_uri: str = ""


@dataclass
class ReleaseClaimInput:
    ctx: OpContext
    consumer_id: str
    host: str | None = None  # None: every allocation of the consumer


@dataclass
class PortInfo:
    id: str
    network_id: str
    network_name: str
    ip_address: str
    mac_address: str


@dataclass
class AllocateNetworkInput:
    ctx: OpContext
    networks: list[NetworkInfo]


@dataclass
class AllocateNetworkResult:
    ports: list[PortInfo]


@dataclass
class SpawnInput:
    server_id: str
    name: str
    project_id: str
    flavor: FlavorInfo
    image: ImageInfo
    ports: list[PortInfo]


@dataclass
class SpawnResult:
    host: str
    domain_name: str
    power_state: int


@dataclass
class DestroyInput:
    server_id: str


@dataclass
class EventRecord:
    """An instance-action event the workflow timed itself (e.g. a host step)."""

    event: str
    start_time: datetime
    finish_time: datetime
    result: str  # "Success" | "Error"
    host: str | None = None
    details: str | None = None


@dataclass
class MarkActiveInput:
    ctx: OpContext
    host: str
    node_uuid: str
    power_state: int
    events: list[EventRecord] = field(default_factory=list)


@dataclass
class RecordEventsInput:
    ctx: OpContext
    events: list[EventRecord]


@dataclass
class SetErrorInput:
    ctx: OpContext
    message: str
    code: int = 500
    details: str = ""
    error_type: str = ""
    events: list[EventRecord] = field(default_factory=list)
    finish_action: bool = True


@dataclass
class SetTaskStateInput:
    ctx: OpContext
    task_state: str | None
    expected: list[str | None] | None = None


@dataclass
class MarkDeletedInput:
    ctx: OpContext
    events: list[EventRecord] = field(default_factory=list)


@dataclass
class InstanceLocation:
    server_id: str
    host: str | None
    vm_state: str
    deleted: bool


@dataclass
class WaitClosedInput:
    workflow_id: str


@dataclass
class RegisterHostInput:
    """A host worker announcing itself: its inventory as its hypervisor reports it."""

    hostname: str
    vcpus: int
    memory_mb: int
    local_gb: int
    cpu_arch: str
    hypervisor_type: str
    hypervisor_version: int
    availability_zone: str = "nova"
    libvirt_uri: str = ""
    cpu_info: dict[str, Any] = field(default_factory=dict)


@dataclass
class RegisterHostResult:
    node_uuid: str
    service_id: str
    created: bool
