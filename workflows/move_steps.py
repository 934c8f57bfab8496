"""Pieces both move workflows share (ResizeServerWorkflow and
LiveMigrateServerWorkflow, and evacuate, shelve and unshelve): how a move
asks the scheduler for a destination, a best-effort host step, moving the
ports' host binding, the failure shapes, and honouring a cancellation that
arrived during a host step."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.migrations import MigrationActivities
    from activities.network import NetworkActivities
    from activities.types.catalog import BindPortsInput, BindPortsResult, FlavorInfo
    from activities.types.context import OpContext
    from activities.types.hypervisor import SpawnInput
    from activities.types.moves import ClaimMigrationInput, MigrationPlan
    from novaflow import errors

from workflows.common import (
    HOST_CLEANUP_RETRY,
    OpTimeouts,
    control,
    failure_message,
    failure_type,
    on_host,
)
from workflows.scheduling import Placement
from workflows.steps import STEP_ERRORS, Steps

MIGRATION_STEP_FAILED = "MigrationStepFailed"
# Moves that rebind the ports (binding:host_id) came after these workflows were
# released: histories without the marker replay without the new steps.
REBIND_PORTS = "rebind-ports"


def step_error(step: str, host: str, exc: BaseException) -> str:
    """What failed and where, for the fault and the event."""
    if failure_type(exc) == errors.HOST_UNAVAILABLE:
        return f"{step} on {host} failed: the host did not respond ({failure_message(exc)})"
    message = failure_message(exc)
    return message if message.startswith(step) else f"{step} on {host} failed: {message}"


def describe(step: str, host: str) -> Callable[[BaseException], str]:
    """The ``describe`` of a host step's event: step_error for that step and host."""
    return lambda exc: step_error(step, host, exc)


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


def move_placement(ctx: OpContext, migration_id: str, plan: MigrationPlan, flavor: FlavorInfo,
                   *, fail: Callable[[str, str, list[Any]], Exception], exhausted: str,
                   max_attempts: int, excluded: list[str],
                   requested_host: str | None = None,
                   force_host: str | None = None) -> Placement:
    """A move's request to the scheduler: the destination claims for the
    migration (claim_for_migration moves the source allocation to it)."""
    return Placement(
        ctx=ctx, flavor=flavor, image=plan.image, claim_step="claim_for_migration",
        claim=lambda hosts, summary: control(
            MigrationActivities.claim_for_migration,
            ClaimMigrationInput(ctx=ctx, migration_id=migration_id,
                                source_host=plan.source_host, flavor=flavor,
                                candidates=hosts, group_uuid=plan.server_group_uuid),
            summary=summary),
        fail=fail, exhausted=exhausted, max_attempts=max_attempts,
        availability_zone=plan.availability_zone,
        scheduler_hints={"group": plan.server_group_uuid} if plan.server_group_uuid else {},
        excluded=excluded, requested_host=requested_host, force_host=force_host)


async def best_effort(steps: Steps, method: Any, arg: Any, host: str, timeouts: OpTimeouts,
                      quiet: bool = False) -> tuple[bool, Any]:
    """A clean-up step on a host: retried, its failure recorded but not
    raised.  Returns (succeeded, its result)."""
    name = method.__name__
    try:
        with steps.step(name, host=host, describe=describe(name, host), quiet=quiet):
            return True, await on_host(method, arg, host, timeouts, retry=HOST_CLEANUP_RETRY,
                                       summary=f"{name} on {host}")
    except STEP_ERRORS:
        return False, None


def spawn_input(ctx: OpContext, plan: MigrationPlan, flavor: FlavorInfo) -> SpawnInput:
    return SpawnInput(server_id=ctx.server_id, name=plan.name, project_id=ctx.project_id,
                      flavor=flavor, image=plan.image, ports=list(plan.ports))


class HostStepFailed(Exception):
    """A host step failed; ``why`` says what and where."""

    def __init__(self, why: str, error_type: str):
        super().__init__(why)
        self.why, self.error_type = why, error_type


async def host_step(steps: Steps, method: Any, arg: Any, host: str, timeouts: OpTimeouts, *,
                    fail: Callable[[str, BaseException], Exception] | None = None,
                    error_event: str | None = None, details: str | None = None,
                    retry: Any = None) -> Any:
    """A host step the move needs: its event recorded; a failure raised as
    ``fail(why, activity_error)`` (the caller's roll-back exception), or as
    HostStepFailed."""
    name = method.__name__
    try:
        with steps.step(name, host=host, describe=describe(name, host),
                        error_event=error_event) as step:
            out = await on_host(method, arg, host, timeouts, summary=f"{name} on {host}",
                                **({"retry": retry} if retry else {}))
            step.details = details
            return out
    except STEP_ERRORS as exc:
        why = step_error(name, host, exc)
        raise (fail(why, exc) if fail else HostStepFailed(why, failure_type(exc))) from exc


async def bind_ports(steps: Steps, ctx: OpContext, host: str | None, *,
                     best: bool = False) -> bool:
    """Move the server's ports' ``binding:host_id`` to ``host`` (None: clear
    it), as Nova's network API does when a guest lands on a host
    (``migrate_instance_finish``, ``setup_instance_network_on_host``) or is
    offloaded; an event ``bind_ports`` / ``unbind_ports`` says so.

    Returns False if skipped (a history from before the step, see
    REBIND_PORTS) or, with ``best``, if it failed (its event says why);
    otherwise a failure is raised as the step's ActivityError."""
    if not workflow.patched(REBIND_PORTS):
        return False
    event = "bind_ports" if host else "unbind_ports"
    where = f"{event} to {host}" if host else event
    try:
        with steps.step(event, host=host, where=where) as step:
            out: BindPortsResult = await control(
                NetworkActivities.bind_ports, BindPortsInput(ctx=ctx, host=host or ""),
                summary=where)
            step.details = (f"{len(out.ports)} port(s) " + (f"bound to {host}" if host
                                                            else "unbound")
                            + (": " + ", ".join(out.ports) if out.ports else ""))
    except STEP_ERRORS:
        if best:
            return False
        raise
    return True
