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
    user_name: str = ""
    project_name: str = ""
    domain_id: str = ""

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
    group_uuid: str | None = None  # late affinity check inside the claim


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
    build_failed: bool = False  # count a failed build against the host


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
    events: list[EventRecord] = field(default_factory=list)  # steps timed so far


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
    # Volumes to attach (boot from volume: the one with boot_index 0 is the root disk).
    volumes: list[VolumeDisk] = field(default_factory=list)


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


# -- power actions, host reports, delete in any state (issue 5) ---------------


@dataclass
class PowerActionInput:
    """A power action on one server's domain, run on its host's queue."""

    server_id: str
    hard: bool = False  # reboot: destroy and start again instead of a guest reboot
    shutdown_timeout_s: float = 60.0  # power_off: wait for a clean shutdown this long


@dataclass
class PowerActionResult:
    power_state: int


@dataclass
class FinishPowerActionInput:
    """The end of a power action: the new vm_state (None when it failed)."""

    ctx: OpContext
    task_state: str  # the task_state the operation holds; nothing changes if it moved on
    vm_state: str | None = None
    power_state: int | None = None
    error: str | None = None
    events: list[EventRecord] = field(default_factory=list)


@dataclass
class HostReportInput:
    hostname: str


@dataclass
class DomainReport:
    server_id: str
    name: str
    power_state: int


@dataclass
class HostReport:
    """What a host's hypervisor says: its inventory and every domain on it."""

    hostname: str
    vcpus: int
    memory_mb: int
    local_gb: int
    cpu_arch: str
    hypervisor_type: str
    hypervisor_version: int
    domains: list[DomainReport] = field(default_factory=list)


@dataclass
class RecordHostReportInput:
    report: HostReport
    started_at: datetime  # rows changed after this are newer than the report: skipped


@dataclass
class RecordHostReportResult:
    registered: bool  # False: the host's service was deleted, stop monitoring it
    report_interval_s: float
    destroy: list[str] = field(default_factory=list)  # server ids to destroy on the host
    unknown: list[str] = field(default_factory=list)  # domains no server record knows
    changes: list[str] = field(default_factory=list)  # what the report changed


@dataclass
class HostCleanupDoneInput:
    hostname: str
    server_ids: list[str]


@dataclass
class DeleteTargets:
    """Everything a server holds that its delete must undo."""

    hosts: list[str]  # hosts that may hold one of its domains
    down_hosts: list[str]  # of those, the ones whose service is down
    consumer_ids: list[str]  # allocation consumers: the server and its migrations
    workflow_ids: list[str]  # operations still running on it (e.g. a resize)


@dataclass
class QueueHostCleanupInput:
    ctx: OpContext
    host: str
    reason: str


# -- resize, cold and live migration (issue 4) ---------------------------------


@dataclass
class MigrationRef:
    """One migration of one server (the record the API wrote)."""

    ctx: OpContext
    migration_id: str


@dataclass
class HostCapabilities:
    """What a live migration's compatibility checks compare between two hosts."""

    host: str
    cpu_arch: str
    hypervisor_type: str
    hypervisor_version: int
    address: str = ""  # where the source reaches the destination (migrateToURI3)


@dataclass
class MigrationPlan:
    """Everything a move needs, read once from the database at its start."""

    migration_id: str
    migration_type: str  # resize | migration | live-migration
    name: str
    source_host: str
    source_node_uuid: str
    vm_state: str  # the state a failed move returns the server to
    power_state: int
    old_flavor: FlavorInfo
    new_flavor: FlavorInfo
    image: ImageInfo
    ports: list[PortInfo]
    availability_zone: str | None = None
    server_group_uuid: str | None = None
    source: HostCapabilities | None = None


@dataclass
class ClaimMigrationInput:
    """Claim on a destination for the instance while its source allocation
    moves to the migration (one transaction)."""

    ctx: OpContext
    migration_id: str
    source_host: str
    flavor: FlavorInfo
    candidates: list[str]
    group_uuid: str | None = None


@dataclass
class ReleaseMigrationClaimInput:
    """Undo a claim_for_migration: drop the destination claim, give the
    source allocation back to the instance."""

    ctx: OpContext
    migration_id: str
    dest_host: str


@dataclass
class MigrationStepInput:
    """Advance a migration: its status and the instance's task_state together."""

    ctx: OpContext
    migration_id: str
    status: str
    task_state: str | None
    events: list[EventRecord] = field(default_factory=list)


@dataclass
class FinishMoveInput:
    """A move landed on ``host``: record where the server now runs."""

    ctx: OpContext
    migration_id: str
    host: str
    power_state: int
    events: list[EventRecord] = field(default_factory=list)
    error: str = ""  # it landed, but a later clean-up failed: the migration says so


@dataclass
class MoveFailedInput:
    """A move failed: give allocations back, restore the server, say why."""

    ctx: OpContext
    migration_id: str
    message: str
    error_type: str = ""
    details: str = ""
    vm_state: str = "active"  # where the server returns to ("error" if it cannot)
    host: str | None = None  # where the server is now (None: unchanged)
    power_state: int | None = None
    events: list[EventRecord] = field(default_factory=list)


@dataclass
class ResizeDecisionInput:
    """A confirmResize / revertResize request (or the auto-confirm timer)."""

    ctx: OpContext  # action_id None: the activity records the action
    migration_id: str
    decision: str  # confirm | revert
    auto: bool = False


@dataclass
class DecisionDoneInput:
    ctx: OpContext
    migration_id: str
    decision: str  # confirm | revert
    power_state: int | None = None
    events: list[EventRecord] = field(default_factory=list)


@dataclass
class DecisionFailedInput:
    """A confirm or revert failed: the server stays (or ends) where ``vm_state`` says."""

    ctx: OpContext
    migration_id: str
    decision: str
    message: str
    vm_state: str = "resized"
    events: list[EventRecord] = field(default_factory=list)


@dataclass
class LivePrecheckInput:
    ctx: OpContext
    source_host: str
    dest_host: str


@dataclass
class PrepResizeInput:
    server_id: str
    flavor: FlavorInfo
    same_host: bool


@dataclass
class ResizeInstanceInput:
    server_id: str
    old_flavor: FlavorInfo
    new_flavor: FlavorInfo
    dest_host: str


@dataclass
class FinishResizeInput:
    spawn: SpawnInput
    power_on: bool = True


@dataclass
class ConfirmResizeInput:
    server_id: str
    same_host: bool


@dataclass
class LiveMigrateData:
    """What the live-migration checks found and the later steps need (Nova's
    migrate_data): the resolved block_migration and the shared-storage test."""

    block_migration: bool = False
    shared_instance_path: bool = False
    test_file: str = ""
    paused: bool = False  # the server is paused: it stays paused on the destination


@dataclass
class LiveCheckDestInput:
    server_id: str
    flavor: FlavorInfo
    source: HostCapabilities
    block_migration: bool | None  # None: "auto"


@dataclass
class LiveCheckSourceInput:
    server_id: str
    dest_host: str
    data: LiveMigrateData
    block_migration_requested: bool | None


@dataclass
class PreLiveMigrationInput:
    spawn: SpawnInput
    data: LiveMigrateData


@dataclass
class LiveMigrationInput:
    server_id: str
    dest: HostCapabilities
    data: LiveMigrateData


@dataclass
class LiveMigrationStepInput:
    server_id: str
    data: LiveMigrateData


# -- volumes (boot from volume) ------------------------------------------------


@dataclass
class BlockDeviceSpec:
    """One block_device_mapping_v2 entry a build honours (after API validation)."""

    source_type: str  # volume | image | blank
    destination_type: str  # volume
    uuid: str | None = None  # the volume or image
    boot_index: int | None = None
    volume_size: int | None = None
    delete_on_termination: bool = False


@dataclass
class VolumeDisk:
    """A volume as the hypervisor attaches it."""

    volume_id: str
    device: str  # vda, vdb...
    boot_index: int | None
    size_gb: int
    path: str


@dataclass
class ReserveVolumesInput:
    ctx: OpContext
    block_devices: list[BlockDeviceSpec] = field(default_factory=list)


@dataclass
class ReserveVolumesResult:
    disks: list[VolumeDisk]
    boot_from_volume: bool = False
    image: ImageInfo | None = None  # the boot volume's image, if it came from one


@dataclass
class AttachVolumesInput:
    ctx: OpContext
    host: str
    disks: list[VolumeDisk] = field(default_factory=list)
