"""Inputs and results of the day-2 operations' activities (guest actions:
trigger_crash_dump, changePassword): ids and small values only."""

from __future__ import annotations

from dataclasses import dataclass, field

from activities.types.context import EventRecord, OpContext

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
