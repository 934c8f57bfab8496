"""An operation's context (who asked, which action its events belong to) and
the instance-action events its steps record.

One dataclass per call, ids and small values only: workflows import this.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
class EventRecord:
    """An instance-action event the workflow timed itself (e.g. a host step)."""

    event: str
    start_time: datetime
    finish_time: datetime
    result: str  # "Success" | "Error"
    host: str | None = None
    details: str | None = None
