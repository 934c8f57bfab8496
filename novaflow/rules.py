"""Domain rules the control plane and the API share, in one place so that
neither has to import the other: when a compute service counts as up, and
when a migration is over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

# Migrations in these states hold nothing any more.
FINAL_MIGRATION_STATUSES = frozenset({"confirmed", "reverted", "error", "failed", "completed",
                                      "done", "cancelled"})


def service_is_up(svc: Any | None, down_time: int, now: datetime | None = None) -> bool:
    """A service is up unless forced down or silent for longer than ``down_time``."""
    if svc is None or svc.forced_down or svc.last_seen_up is None:
        return False
    return (now or datetime.now(UTC)) - svc.last_seen_up <= timedelta(seconds=down_time)
