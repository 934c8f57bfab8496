"""Writes to the instance record: its states, its events, its deletion.

One dataclass per call, ids and small values only: workflows import this.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from activities.types.context import EventRecord, OpContext


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
class FinishPowerActionInput:
    """The end of a power action: the new vm_state (None when it failed)."""

    ctx: OpContext
    task_state: str  # the task_state the operation holds; nothing changes if it moved on
    vm_state: str | None = None
    power_state: int | None = None
    error: str | None = None
    events: list[EventRecord] = field(default_factory=list)


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


@dataclass
class WaitClosedInput:
    workflow_id: str
