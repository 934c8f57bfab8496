"""Domain rules the control plane and the API share, in one place so that
neither has to import the other: when a compute service counts as up, and
when a migration is over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

# Migrations in these states hold nothing any more.
FINAL_MIGRATION_STATUSES = frozenset({"confirmed", "reverted", "error", "failed", "completed",
                                      "done", "cancelled"})


def service_is_up(svc: Any | None, down_time: int, now: datetime | None = None,
                  clock: Any | None = None) -> bool:
    """A service is up unless forced down or silent for longer than ``down_time``
    while the control plane could hear it.

    ``clock`` is the control plane's own heartbeat through Temporal
    (schema.models.ControlPlaneClock).  Silence counts only from the clock's
    ``up_since`` (when the control plane last came back from not hearing
    itself) and only up to its ``last_tick`` when it is not hearing itself now:
    an outage of Temporal or of the control plane takes no host down.
    """
    if svc is None or svc.forced_down or svc.last_seen_up is None:
        return False
    now = now or datetime.now(UTC)
    window = timedelta(seconds=down_time)
    heard_since = svc.last_seen_up
    if clock is not None:
        heard_since = max(heard_since, clock.up_since)
        if now - clock.last_tick > window:  # the control plane is deaf right now
            now = clock.last_tick
    return now - heard_since <= window
