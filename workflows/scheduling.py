"""The one schedule-and-claim loop: boot, resize, cold and live migration.

``place`` runs Nova's build-retry cycle for any operation that needs a host:

1. ``select_destinations`` (filters and weighers) over every host not
   excluded, then the caller's claim on the candidates, atomically.  A claim
   that loses a race (the hosts filled up, a group member landed first)
   selects again with fresh usage, up to ``CLAIM_ROUNDS`` times: that is not
   a failed attempt.
2. The caller's first step on the claimed host (``try_host``).  If the host
   fails it (``HostRejected``: an error, or a worker that never picked the
   task up), the caller releases that claim and the host joins the excluded
   set (Nova's RetryFilter); the next attempt schedules again, up to
   ``max_attempts``.
3. NoValidHost on the first attempt fails the operation with the filters'
   verdicts; on a later one, or when every attempt failed, the failure is
   MaxRetriesExceeded naming each attempt.

Terminal failures are raised as ``placement.fail(type, message, details)``,
the caller's own exception, so each operation keeps its own roll-back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.scheduler.activities import SchedulerActivities
    from activities.types.catalog import FlavorInfo, ImageInfo
    from activities.types.context import OpContext
    from activities.types.scheduling import ClaimResult, SelectDestinationsInput
    from novaflow import errors

from workflows.common import control, failure_details, failure_message, failure_type
from workflows.steps import STEP_ERRORS, Steps

T = TypeVar("T")

# How many times one attempt selects again after its claim lost a race.
CLAIM_ROUNDS = 20

# claim(candidates, summary) -> the claimed host
Claim = Callable[[list[str], str], Awaitable[ClaimResult]]


class HostRejected(Exception):
    """The claimed host failed the operation's first step there: try another."""

    def __init__(self, why: str, error_type: str = ""):
        super().__init__(why)
        self.why, self.error_type = why, error_type


@dataclass
class Placement:
    """What an operation asks of the scheduler, and how it claims a host."""

    ctx: OpContext
    flavor: FlavorInfo
    image: ImageInfo
    claim_step: str  # the claim's event name: claim_resources, claim_for_migration
    claim: Claim
    fail: Callable[[str, str, list[Any]], Exception]  # the caller's terminal failure
    exhausted: str  # MaxRetriesExceeded's message, before the attempts' errors
    max_attempts: int = 3
    availability_zone: str | None = None
    scheduler_hints: dict[str, Any] = field(default_factory=dict)
    excluded: list[str] = field(default_factory=list)  # never these (a move's source)
    force_host: str | None = None
    requested_host: str | None = None


@dataclass
class Attempts:
    """What the attempts so far found: hosts that failed, and why."""

    tried: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def exhausted(self, p: Placement) -> Exception:
        return p.fail(errors.MAX_RETRIES_EXCEEDED, p.exhausted + " " + "; ".join(self.errors),
                      [{"tried_hosts": self.tried, "attempts": self.errors}])


async def place(steps: Steps, p: Placement,
                try_host: Callable[[ClaimResult, int], Awaitable[T]],
                release: Callable[[ClaimResult, HostRejected], Awaitable[None]]) -> T:
    """Schedule, claim and try hosts until one takes the operation (see above)."""
    seen = Attempts()
    for attempt in range(1, p.max_attempts + 1):
        claim = await _select_and_claim(steps, p, seen, attempt)
        try:
            return await try_host(claim, attempt)
        except HostRejected as exc:
            seen.errors.append(f"attempt {attempt} on {claim.host}: {exc.why}")
            seen.tried.append(claim.host)
            steps.at(f"rescheduling after {claim.host} failed")
            await release(claim, exc)
    raise seen.exhausted(p)


async def _select_and_claim(steps: Steps, p: Placement, seen: Attempts,
                            attempt: int) -> ClaimResult:
    """select_destinations then the claim, for one attempt."""
    for round_ in range(1, CLAIM_ROUNDS + 1):
        again = f", round {round_}" if round_ > 1 else ""
        try:
            with steps.step("select_destinations",
                            where=f"select_destinations (attempt {attempt})") as step:
                selection = await control(
                    SchedulerActivities.select_destinations,
                    SelectDestinationsInput(
                        ctx=p.ctx, flavor=p.flavor, image=p.image,
                        availability_zone=p.availability_zone,
                        scheduler_hints=p.scheduler_hints,
                        ignore_hosts=[*p.excluded, *seen.tried], force_host=p.force_host,
                        requested_host=p.requested_host,
                        num_alternates=p.max_attempts - attempt),
                    summary=f"select_destinations, attempt {attempt}{again}")
                step.details = "candidates: " + ", ".join(selection.hosts)
        except STEP_ERRORS as exc:
            if attempt > 1 and failure_type(exc) == errors.NO_VALID_HOST:
                seen.errors.append(f"attempt {attempt}: {failure_message(exc)}")
                raise seen.exhausted(p) from exc
            raise p.fail(failure_type(exc) or errors.NO_VALID_HOST, failure_message(exc),
                         failure_details(exc)) from exc
        try:
            with steps.step(p.claim_step,
                            where=f"{p.claim_step} (attempt {attempt})") as step:
                claim = await p.claim(selection.hosts,
                                      f"{p.claim_step}, attempt {attempt}{again}")
                step.host = claim.host
                step.details = f"{p.flavor.vcpus} VCPU, {p.flavor.memory_mb} MB"
        except STEP_ERRORS as exc:
            if failure_type(exc) == errors.CLAIM_CONFLICT:
                continue  # the hosts changed since the selection: select again
            raise p.fail(failure_type(exc) or errors.NO_VALID_HOST, failure_message(exc),
                         []) from exc
        return claim
    raise p.fail(errors.NO_VALID_HOST, "No valid host was found. Claims kept losing races "
                 f"after {CLAIM_ROUNDS} selections.", [])
