"""LiveMigrateServerWorkflow: move a running server to another host.

Workflow id ``live-migrate-<server>-<migration>``.  Nova's sequence:

1. choose the destination: ``select_destinations`` (the requested host, or
   any host but the source), ``claim_for_migration`` (the instance claims on
   the destination, its source allocation moves to the migration), then the
   pre-checks: ``live_migration_precheck`` on the control plane (destination
   up, same hypervisor type, not older, same cpu arch),
   ``check_can_live_migrate_destination`` on the destination and
   ``check_can_live_migrate_source`` on the source (which also settle
   ``block_migration`` "auto" by testing for shared storage).  A host that
   fails a check is excluded and the next one tried, unless it was requested;
2. ``pre_live_migration`` on the destination;
3. ``live_migration`` on the source: the switch-over (libvirt's
   migrateToURI3 on QEMU); the guest keeps running throughout;
4. ``post_live_migration_at_destination``, the record (host, allocation),
   then ``post_live_migration`` to clean the source.

Migration statuses: queued (the API) → preparing → running → completed, or
error.  A failure before the switch-over rolls back: the destination is
cleaned, its claim released, the server keeps running on the source, and a
fault plus an instance-action event say what failed where.  After the
switch-over there is no going back: a failure there leaves the server where
its domain now is, in ERROR if it may not be running, never silently.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.migrations import MIGRATION_PRECHECK_FAILED, MigrationActivities
    from activities.types.context import OpContext
    from activities.types.hypervisor import SpawnResult
    from activities.types.moves import (
        FinishMoveInput,
        HostCapabilities,
        LiveCheckDestInput,
        LiveCheckSourceInput,
        LiveMigrateData,
        LiveMigrationInput,
        LiveMigrationStepInput,
        LivePrecheckInput,
        MigrationPlan,
        MigrationRef,
        MigrationStepInput,
        MoveFailedInput,
        PreLiveMigrationInput,
        ReleaseMigrationClaimInput,
    )
    from activities.types.scheduling import ClaimResult
    from novaflow import errors
    from novaflow.states import TaskState, VmState

from workflows.common import (
    HOST,
    HOST_CLEANUP_RETRY,
    OpTimeouts,
    StepTracking,
    control,
    failure_message,
    failure_type,
    on_host,
)
from workflows.move_steps import (
    MIGRATION_STEP_FAILED,
    STEP_ERRORS,
    checkpoint,
    select_and_claim,
    spawn_input,
    step_error,
)


@dataclass
class LiveMigrateServerInput:
    ctx: OpContext
    migration_id: str
    requested_host: str | None = None
    block_migration: bool | None = None  # None: "auto"
    force: bool = False  # microversions 2.30-2.67: skip the filters for the requested host
    max_attempts: int = 3
    timeouts: OpTimeouts = field(default_factory=OpTimeouts)


@dataclass
class LiveMigrateServerResult:
    server_id: str
    migration_id: str
    host: str
    block_migration: bool


class _LiveFailed(Exception):
    def __init__(self, error_type: str, message: str, rollback_dest: bool = False,
                 landed: bool = False):
        super().__init__(message)
        self.error_type, self.message = error_type, message
        self.rollback_dest, self.landed = rollback_dest, landed


@workflow.defn(name="LiveMigrateServerWorkflow")
class LiveMigrateServerWorkflow(StepTracking):
    def __init__(self) -> None:
        super().__init__()
        self._plan: MigrationPlan | None = None
        self._dest: str | None = None
        self._data = LiveMigrateData()
        self._switched = False  # live_migration succeeded: the guest runs on the destination


    @workflow.run
    async def run(self, inp: LiveMigrateServerInput) -> LiveMigrateServerResult:
        try:
            self._step = "prepare_migration"
            try:
                self._plan = await control(
                    MigrationActivities.prepare_migration,
                    MigrationRef(ctx=inp.ctx, migration_id=inp.migration_id),
                    summary="prepare_migration")
            except STEP_ERRORS as exc:
                raise _LiveFailed(failure_type(exc) or MIGRATION_STEP_FAILED,
                                  failure_message(exc)) from exc
            caps = await self._find_destination(inp, self._plan)
            await self._migrate(inp, self._plan, caps)
        except _LiveFailed as exc:
            await self._roll_back(inp, exc)
        except STEP_ERRORS as exc:  # a control step failed where none was expected to
            if await self._abandon(inp):  # it refused because the server is being deleted
                await self._deleted(inp)
                raise
            await self._roll_back(inp, self._failed_here(
                failure_type(exc) or MIGRATION_STEP_FAILED, failure_message(exc)))
        except asyncio.CancelledError:
            if await self._abandon(inp):
                await self._deleted(inp)
            else:  # cancelled by hand (e.g. in the Temporal UI): undo, as for a failure
                await self._roll_back(inp, self._failed_here(
                    "Cancelled", "The live migration was cancelled"), raise_error=False)
            raise
        self._step = "done"
        return LiveMigrateServerResult(server_id=inp.ctx.server_id,
                                       migration_id=inp.migration_id, host=self._dest or "",
                                       block_migration=self._data.block_migration)

    @staticmethod
    async def _abandon(inp: LiveMigrateServerInput) -> bool:
        """True if the server is being deleted (the migration then lets go)."""
        return await control(MigrationActivities.abandon_migration,
                             MigrationRef(ctx=inp.ctx, migration_id=inp.migration_id),
                             summary="abandon_migration if the server is being deleted")

    def _failed_here(self, error_type: str, message: str) -> _LiveFailed:
        """A failure wherever the move stopped: before the switch-over the
        destination is rolled back, after it the server is where it landed."""
        return _LiveFailed(error_type, message, rollback_dest=not self._switched,
                           landed=self._switched)

    async def _find_destination(self, inp: LiveMigrateServerInput,
                                plan: MigrationPlan) -> HostCapabilities:
        ctx, source = inp.ctx, plan.source_host
        tried: list[str] = []
        attempt_errors: list[str] = []
        for attempt in range(1, inp.max_attempts + 1):
            claim = await self._schedule_and_claim(inp, plan, [source, *tried], attempt,
                                                   attempt_errors)
            self._dest = dest = claim.host
            if attempt == 1:
                await self._advance(inp, "preparing")
            step, host, t = "live_migration_precheck", dest, workflow.now()
            try:
                self._step = f"pre-checks for {dest} (attempt {attempt})"
                caps = await control(MigrationActivities.live_migration_precheck,
                                     LivePrecheckInput(ctx=ctx, source_host=source,
                                                       dest_host=dest),
                                     summary=f"live_migration_precheck {source} -> {dest}")
                self._log.add(step, t, host=dest)
                step, t = "check_can_live_migrate_destination", workflow.now()
                data = await on_host(step, LiveCheckDestInput(
                    server_id=ctx.server_id, flavor=plan.old_flavor, source=plan.source,
                    block_migration=inp.block_migration), dest, inp.timeouts,
                    result_type=LiveMigrateData, summary=f"{step} on {dest}")
                self._log.add(step, t, host=dest)
                try:
                    step, host, t = "check_can_live_migrate_source", source, workflow.now()
                    data = await on_host(step, LiveCheckSourceInput(
                        server_id=ctx.server_id, dest_host=dest, data=data,
                        block_migration_requested=inp.block_migration), source, inp.timeouts,
                        result_type=LiveMigrateData, summary=f"{step} on {source}")
                    self._log.add(step, t, host=source,
                                  details=f"block_migration={data.block_migration}")
                finally:
                    await self._best_effort("cleanup_live_migration_destination_check",
                                            LiveMigrationStepInput(server_id=ctx.server_id,
                                                                   data=data), dest, inp,
                                            quiet=True)
            except STEP_ERRORS as exc:
                why = step_error(step, host, exc)
                self._log.add(step, t, "Error", host, why)
                attempt_errors.append(f"attempt {attempt}: {why}")
                tried.append(dest)
                await control(MigrationActivities.release_migration_claim,
                              ReleaseMigrationClaimInput(ctx=ctx, migration_id=inp.migration_id,
                                                         dest_host=dest),
                              summary=f"release_migration_claim on {dest}")
                self._dest = None
                if inp.requested_host:
                    raise _LiveFailed(failure_type(exc) or MIGRATION_PRECHECK_FAILED,
                                      why) from exc
                continue
            self._data = data
            return caps
        raise _LiveFailed(errors.MAX_RETRIES_EXCEEDED,
                          f"Exhausted all hosts available for live migrating instance "
                          f"{ctx.server_id}. " + "; ".join(attempt_errors))

    async def _schedule_and_claim(self, inp: LiveMigrateServerInput, plan: MigrationPlan,
                                  excluded: list[str], attempt: int,
                                  attempt_errors: list[str]) -> ClaimResult:
        ctx = inp.ctx
        forced = inp.requested_host if inp.force else None
        try:
            return await select_and_claim(
                self, ctx, inp.migration_id, plan, plan.old_flavor, excluded=excluded,
                attempt=attempt, max_attempts=inp.max_attempts, force_host=forced,
                requested_host=None if forced else inp.requested_host)
        except STEP_ERRORS as exc:
            attempt_errors.append(f"attempt {attempt}: {failure_message(exc)}")
            if attempt > 1:
                raise _LiveFailed(errors.MAX_RETRIES_EXCEEDED,
                                  f"Exhausted all hosts available for live migrating instance "
                                  f"{ctx.server_id}. " + "; ".join(attempt_errors)) from exc
            raise _LiveFailed(failure_type(exc) or errors.NO_VALID_HOST,
                              failure_message(exc)) from exc

    async def _advance(self, inp: LiveMigrateServerInput, status: str) -> None:
        checkpoint()
        await control(MigrationActivities.advance_migration,
                      MigrationStepInput(ctx=inp.ctx, migration_id=inp.migration_id,
                                         status=status, task_state=TaskState.MIGRATING,
                                         events=self._log.take()),
                      summary=f"migration {status}")

    async def _best_effort(self, name: str, arg: object, host: str,
                           inp: LiveMigrateServerInput, quiet: bool = False) -> bool:
        t = workflow.now()
        try:
            await on_host(name, arg, host, inp.timeouts, retry=HOST_CLEANUP_RETRY,
                          summary=f"{name} on {host}")
        except STEP_ERRORS as exc:
            self._log.add(name, t, "Error", host, step_error(name, host, exc))
            return False
        if not quiet:
            self._log.add(name, t, host=host)
        return True

    async def _migrate(self, inp: LiveMigrateServerInput, plan: MigrationPlan,
                       dest: HostCapabilities) -> None:
        ctx, source, data = inp.ctx, plan.source_host, self._data
        checkpoint()
        t = workflow.now()
        self._step = f"pre_live_migration on {dest.host}"
        try:
            await on_host("pre_live_migration", PreLiveMigrationInput(
                spawn=spawn_input(ctx, plan, plan.old_flavor), data=data), dest.host,
                inp.timeouts, summary=f"pre_live_migration on {dest.host}")
        except STEP_ERRORS as exc:
            why = step_error("pre_live_migration", dest.host, exc)
            self._log.add("pre_live_migration", t, "Error", dest.host, why)
            raise _LiveFailed(failure_type(exc) or MIGRATION_STEP_FAILED, why,
                              rollback_dest=True) from exc
        self._log.add("pre_live_migration", t, host=dest.host)

        await self._advance(inp, "running")
        t = workflow.now()
        self._step = f"live_migration {source} -> {dest.host}"
        try:
            await on_host("live_migration", LiveMigrationInput(
                server_id=ctx.server_id, dest=dest, data=data), source, inp.timeouts,
                summary=f"live_migration {source} -> {dest.host}")
        except STEP_ERRORS as exc:
            why = step_error("live_migration", source, exc)
            self._log.add("live_migration", t, "Error", source, why)
            raise _LiveFailed(failure_type(exc) or MIGRATION_STEP_FAILED, why,
                              rollback_dest=True) from exc
        self._switched = True
        self._log.add("live_migration", t, host=source,
                      details=f"to {dest.host}, block_migration={data.block_migration}")
        checkpoint()
        workflow.upsert_search_attributes([HOST.value_set(dest.host)])

        # The guest runs on the destination now: from here on, roll forward.
        t = workflow.now()
        self._step = f"post_live_migration_at_destination on {dest.host}"
        step = LiveMigrationStepInput(server_id=ctx.server_id, data=data)
        try:
            landed: SpawnResult = await on_host(
                "post_live_migration_at_destination", step, dest.host, inp.timeouts,
                result_type=SpawnResult, retry=HOST_CLEANUP_RETRY,
                summary=f"post_live_migration_at_destination on {dest.host}")
        except STEP_ERRORS as exc:
            why = step_error("post_live_migration_at_destination", dest.host, exc)
            self._log.add("post_live_migration_at_destination", t, "Error", dest.host, why)
            raise _LiveFailed(failure_type(exc) or MIGRATION_STEP_FAILED, why,
                              landed=True) from exc
        self._log.add("post_live_migration_at_destination", t, host=dest.host)
        self._step = f"post_live_migration on {source}"
        cleaned = await self._best_effort("post_live_migration", step, source, inp)
        error = "" if cleaned else self._log.pending[-1].details or ""
        self._step = "finish_live_migration"
        await control(MigrationActivities.finish_live_migration,
                      FinishMoveInput(ctx=ctx, migration_id=inp.migration_id, host=dest.host,
                                      power_state=landed.power_state, events=self._log.take(),
                                      error=error),
                      summary=f"running on {dest.host}")

    async def _roll_back(self, inp: LiveMigrateServerInput, exc: _LiveFailed,
                         raise_error: bool = True) -> None:
        """Before the switch-over: clean the destination; the server never
        stopped running on the source.  After it: say so, in ERROR."""
        plan = self._plan
        if exc.rollback_dest and self._dest:
            self._step = f"rolling back on {self._dest}"
            await self._best_effort("rollback_live_migration_at_destination",
                                    LiveMigrationStepInput(server_id=inp.ctx.server_id,
                                                           data=self._data), self._dest, inp)
        self._step = f"failed: {exc.error_type}"
        vm_state = VmState.ERROR if exc.landed else (plan.vm_state if plan else VmState.ACTIVE)
        await control(MigrationActivities.fail_migration,
                      MoveFailedInput(ctx=inp.ctx, migration_id=inp.migration_id,
                                      message=exc.message, error_type=exc.error_type,
                                      vm_state=vm_state,
                                      host=self._dest if exc.landed else (
                                          plan.source_host if plan else None),
                                      events=self._log.take()),
                      summary=f"fail_migration {exc.error_type}")
        if raise_error:
            raise ApplicationError(exc.message, type=exc.error_type, non_retryable=True)

    async def _deleted(self, inp: LiveMigrateServerInput) -> None:
        """The server is being deleted: whatever the destination got goes too
        (the delete destroys the source's)."""
        self._step = "server deleted during the live migration: cleaning up"
        if self._dest:
            await self._best_effort("rollback_live_migration_at_destination",
                                    LiveMigrationStepInput(server_id=inp.ctx.server_id,
                                                           data=self._data), self._dest, inp)
