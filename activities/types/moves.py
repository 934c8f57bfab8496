"""Resize, cold and live migration: the migration's plan and each step's input.

One dataclass per call, ids and small values only: workflows import this.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from activities.types.catalog import FlavorInfo, ImageInfo, PortInfo
from activities.types.context import EventRecord, OpContext
from activities.types.hypervisor import SpawnInput


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
    # "cancelled" for a live migration aborted by an admin: no fault then.
    status: str = "error"


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
