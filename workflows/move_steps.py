"""Pieces both move workflows share (ResizeServerWorkflow and
LiveMigrateServerWorkflow): the select-and-claim step of an attempt, the
failure shapes, and honouring a cancellation that arrived during a host step."""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.migrations import MigrationActivities
    from activities.scheduler.activities import SchedulerActivities
    from activities.types.catalog import FlavorInfo
    from activities.types.context import OpContext
    from activities.types.hypervisor import SpawnInput
    from activities.types.moves import ClaimMigrationInput, MigrationPlan
    from activities.types.scheduling import ClaimResult, SelectDestinationsInput
    from novaflow import errors

from workflows.common import StepTracking, control, failure_message, failure_type

MIGRATION_STEP_FAILED = "MigrationStepFailed"
# A failed step.  control() hands local-activity failures back as ActivityError
# too; ApplicationError is caught as well in case one ever arrives unwrapped
# (the SDK's own shape for local activities).
STEP_ERRORS = (ActivityError, ApplicationError)


def step_error(step: str, host: str, exc: BaseException) -> str:
    """What failed and where, for the fault and the event."""
    if failure_type(exc) == errors.HOST_UNAVAILABLE:
        return f"{step} on {host} failed: the host did not respond ({failure_message(exc)})"
    message = failure_message(exc)
    return message if message.startswith(step) else f"{step} on {host} failed: {message}"


def checkpoint() -> None:
    """Raise CancelledError if this workflow was cancelled during the last step.

    A host step waits for its activity to finish even when the workflow is
    cancelled (so no clean-up races it); if the activity then succeeds, asyncio
    hands its result back and the cancellation would be lost.  The task still
    counts the request (``Task.cancelling``): honour it at the next step.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError("the workflow was cancelled during the last step")


async def select_and_claim(wf: StepTracking, ctx: OpContext, migration_id: str,
                           plan: MigrationPlan, flavor: FlavorInfo, *, excluded: list[str],
                           attempt: int, max_attempts: int, requested_host: str | None = None,
                           force_host: str | None = None) -> ClaimResult:
    """select_destinations then claim_for_migration for one attempt of a move.

    Both steps are logged as instance-action events on ``wf``; a failure of
    either is logged and re-raised for the caller to decide (select again,
    reschedule, or give up).
    """
    t = workflow.now()
    try:
        wf._step = f"select_destinations (attempt {attempt})"
        selection = await control(
            SchedulerActivities.select_destinations,
            SelectDestinationsInput(
                ctx=ctx, flavor=flavor, image=plan.image,
                availability_zone=plan.availability_zone,
                scheduler_hints={"group": plan.server_group_uuid}
                if plan.server_group_uuid else {},
                ignore_hosts=list(excluded), force_host=force_host,
                requested_host=requested_host, num_alternates=max_attempts - attempt),
            summary=f"select_destinations, attempt {attempt}")
        wf._log.add("select_destinations", t,
                    details="candidates: " + ", ".join(selection.hosts))
        t = workflow.now()
        wf._step = f"claim_for_migration (attempt {attempt})"
        claim = await control(
            MigrationActivities.claim_for_migration,
            ClaimMigrationInput(ctx=ctx, migration_id=migration_id,
                                source_host=plan.source_host, flavor=flavor,
                                candidates=selection.hosts, group_uuid=plan.server_group_uuid),
            summary=f"claim_for_migration, attempt {attempt}")
    except STEP_ERRORS as exc:
        wf._log.add(wf._step.split(" ")[0], t, "Error", details=failure_message(exc))
        raise
    wf._log.add("claim_for_migration", t, host=claim.host,
                details=f"{flavor.vcpus} VCPU, {flavor.memory_mb} MB")
    return claim


def spawn_input(ctx: OpContext, plan: MigrationPlan, flavor: FlavorInfo) -> SpawnInput:
    return SpawnInput(server_id=ctx.server_id, name=plan.name, project_id=ctx.project_id,
                      flavor=flavor, image=plan.image, ports=list(plan.ports))
