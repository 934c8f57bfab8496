"""Step bookkeeping for the operation workflows, in one place.

Every operation shows where it is (the ``current_step`` query the API and
the Temporal UI read) and records an instance-action event per step, with its
start and finish time, its host and how it ended.  A step is a ``with``
block::

    with self.steps.step("spawn (attempt 2)", host=h, where=f"spawn on {h}") as step:
        spawned = await on_host(HostActivities.spawn, inp, h, timeouts,
                                summary=step.summary)
        step.details = spawned.domain_name

Leaving the block records the event: ``Success`` with ``step.details``, or
``Error`` with a description of the failed activity, which is re-raised.
Events wait in ``steps`` until an activity writes them with its own change
(``steps.take()``), so bookkeeping costs no round trip of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.types.context import EventRecord

from workflows.common import failure_message

# What a failed step raises: control() hands local-activity failures back as
# ActivityError too; ApplicationError is caught in case one arrives unwrapped.
STEP_ERRORS = (ActivityError, ApplicationError)


class Step:
    """One step in progress; see the module docstring."""

    def __init__(self, steps: Steps, event: str, host: str | None, where: str,
                 describe: Callable[[BaseException], str], quiet: bool,
                 error_event: str | None = None):
        self._steps, self.event, self.host, self.where = steps, event, host, where
        self.error_event = error_event or event
        self._describe, self.quiet = describe, quiet
        self.details: str | None = None
        self.start: Any = None

    @property
    def summary(self) -> str:
        """The activity summary the Temporal UI shows for this step."""
        return self.where

    def __enter__(self) -> Step:
        self._steps.current = self.where
        self.start = workflow.now()
        return self

    def __exit__(self, _type: Any, exc: BaseException | None, _tb: Any) -> bool:
        if exc is None:
            if not self.quiet:
                self._steps.record(self.event, self.start, host=self.host, details=self.details)
        elif isinstance(exc, STEP_ERRORS):  # not CancelledError: a delete is no failure
            self._steps.record(self.error_event, self.start, "Error", self.host,
                               self._describe(exc))
        return False  # never swallow


class Steps:
    """Where an operation is, and the events its steps have timed."""

    def __init__(self) -> None:
        self.current = "starting"
        self._pending: list[EventRecord] = []

    def at(self, where: str) -> None:
        """Say where the operation is, for a stretch that records no event."""
        self.current = where

    def step(self, event: str, *, host: str | None = None, where: str | None = None,
             describe: Callable[[BaseException], str] = failure_message,
             quiet: bool = False, error_event: str | None = None) -> Step:
        """A step that records ``event`` when it ends (``quiet``: only if it
        fails; ``error_event``: the event's name if it fails, if not ``event``)."""
        where = where or (f"{event} on {host}" if host else event)
        return Step(self, event, host, where, describe, quiet, error_event)

    def record(self, event: str, start: Any, result: str = "Success", host: str | None = None,
               details: str | None = None) -> None:
        """Record an event timed from ``start`` to now."""
        self._pending.append(EventRecord(event=event, start_time=start,
                                         finish_time=workflow.now(), result=result,
                                         host=host, details=details))

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def last_details(self) -> str:
        """The details of the last recorded event ('' if none)."""
        return (self._pending[-1].details or "") if self._pending else ""

    def take(self) -> list[EventRecord]:
        """The events not yet written, for the activity that writes them."""
        out, self._pending = self._pending, []
        return out


class StepTracking:
    """Base of the operation workflows: their ``steps`` and the
    ``current_step`` query that shows where they are."""

    def __init__(self) -> None:
        self.steps = Steps()

    @workflow.query
    def current_step(self) -> str:
        """Where the operation is, e.g. 'spawn on host-2 (attempt 2)'."""
        return self.steps.current
