"""What every workflow shares: retry policies, timeouts, search attributes,
the helpers that call control-plane and host activities, and how a failed
activity is described."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    FailureError,
    TimeoutError,
)

with workflow.unsafe.imports_passed_through():
    from novaflow import errors
    from novaflow.queues import host_queue

# Control-plane steps: transient DB trouble is retried, permanent errors are not.
CONTROL_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=10,
    non_retryable_error_types=errors.PERMANENT,
)
# Host steps are not retried in place: a failed host is rescheduled away from.
HOST_NO_RETRY = RetryPolicy(maximum_attempts=1)
# Idempotent host clean-up (destroy) may be retried.
HOST_CLEANUP_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=5,
)
CONTROL_TIMEOUT = timedelta(seconds=60)

SERVER_ID = SearchAttributeKey.for_keyword("ServerId")
PROJECT_ID = SearchAttributeKey.for_keyword("ProjectId")
OPERATION = SearchAttributeKey.for_keyword("Operation")
HOST = SearchAttributeKey.for_keyword("Host")
FLAVOR_NAME = SearchAttributeKey.for_keyword("FlavorName")


@dataclass
class OpTimeouts:
    """Timeouts an operation runs with, chosen by whoever starts it (settings)."""

    host_schedule_to_start_s: float = 30.0
    host_step_s: float = 300.0
    host_heartbeat_s: float = 10.0
    build_timeout_s: float = 600.0
    resize_confirm_window_s: float = 0.0


async def _cancellable(awaitable: Any) -> Any:
    """Await an activity; if it ended because *this workflow* was cancelled,
    raise CancelledError rather than an ActivityError a caller might take for
    a failed step (and, say, reschedule a build that is being deleted)."""
    try:
        return await awaitable
    except ActivityError as exc:
        if isinstance(exc.cause, CancelledError):
            raise asyncio.CancelledError(str(exc.cause)) from exc
        raise
    except CancelledError as exc:
        raise asyncio.CancelledError(str(exc)) from exc
    except FailureError as exc:
        # A local activity's failure arrives unwrapped; give callers the one
        # shape regular activities have: an ActivityError caused by it.
        raise ActivityError(
            f"local activity failed: {exc}", scheduled_event_id=0, started_event_id=0,
            identity="", activity_type="", activity_id="", retry_state=None) from exc


async def control(fn: Any, arg: Any, *, summary: str | None = None) -> Any:
    """Run a control-plane step (a DB read or write) as a local activity.

    Local activities run in the control worker beside the workflow and are
    recorded as markers: about half the cost of a round trip through a task
    queue (DESIGN.md), which is most of a boot's latency.  Host work never
    goes through here: it stays a regular activity on the host's queue, so a
    dead host shows as a schedule-to-start timeout.
    """
    return await _cancellable(workflow.execute_local_activity_method(
        fn, arg, start_to_close_timeout=CONTROL_TIMEOUT, retry_policy=CONTROL_RETRY,
        summary=summary))


async def on_host(method: Any, arg: Any, host: str, timeouts: OpTimeouts, *,
                  retry: RetryPolicy = HOST_NO_RETRY, summary: str | None = None,
                  wait_cancel: bool = True) -> Any:
    """Run a host activity (a method of the classes in activities/hypervisor/)
    on ``host``'s own queue, as Temporal's worker-specific-queue sample does.

    A dead host shows either way: its worker never picks the task up
    (schedule-to-start timeout), or stops heartbeating a step it had begun
    (heartbeat timeout; workers/heartbeat.py beats for every host step).
    """
    return await _cancellable(workflow.execute_activity_method(
        method, arg, task_queue=host_queue(host),
        schedule_to_start_timeout=timedelta(seconds=timeouts.host_schedule_to_start_s),
        start_to_close_timeout=timedelta(seconds=timeouts.host_step_s),
        heartbeat_timeout=timedelta(seconds=timeouts.host_heartbeat_s),
        retry_policy=retry, summary=summary,
        cancellation_type=(workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
                           if wait_cancel else workflow.ActivityCancellationType.TRY_CANCEL)))


def failure_type(exc: BaseException) -> str:
    """The ApplicationError type behind an activity failure ('' if none)."""
    cause = exc.cause if isinstance(exc, ActivityError) else exc
    if isinstance(cause, ApplicationError):
        return cause.type or ""
    if isinstance(cause, TimeoutError):
        return errors.HOST_UNAVAILABLE
    return ""


def failure_message(exc: BaseException) -> str:
    """A one-line description of an activity failure."""
    cause = exc.cause if isinstance(exc, ActivityError) and exc.cause else exc
    if isinstance(cause, TimeoutError):
        return f"timed out ({cause.type.name if cause.type else 'unknown'})"
    return getattr(cause, "message", None) or str(cause)


def failure_details(exc: BaseException) -> list[Any]:
    cause = exc.cause if isinstance(exc, ActivityError) else exc
    if isinstance(cause, ApplicationError):
        return list(cause.details)
    return []
