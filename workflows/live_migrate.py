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
4. ``post_live_migration_at_destination``, the ports' ``binding:host_id``
   moved to the destination (``bind_ports``, Nova's
   ``migrate_instance_finish``), then ``post_live_migration`` to clean the
   source and the record (host, allocation).

Migration statuses: queued (the API) → preparing → running → completed, or
error.  A failure before the switch-over rolls back: the destination is
cleaned, its claim released, the server keeps running on the source (its
ports still bound there), and a
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
    from activities.hypervisor.day2 import HostDay2Activities
    from activities.hypervisor.moves import HostMoveActivities
    from activities.migrations import MIGRATION_PRECHECK_FAILED, MigrationActivities
    from activities.types.context import OpContext
    from activities.types.day2 import GuestActionInput
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
    from novaflow.states import TaskState, VmState

from workflows.common import (
    HOST,
    HOST_CLEANUP_RETRY,
    OpTimeouts,
    control,
    failure_message,
    failure_type,
    on_host,
)
from workflows.move_steps import (
    MIGRATION_STEP_FAILED,
    HostStepFailed,
    best_effort,
    bind_ports,
    checkpoint,
    describe,
    host_step,
    move_placement,
    spawn_input,
    step_error,
)
from workflows.scheduling import HostRejected, place
from workflows.steps import STEP_ERRORS, StepTracking


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
                 landed: bool = False, details: list | None = None):
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
        self._run_task: asyncio.Task | None = None
        self._inp: LiveMigrateServerInput | None = None
        self._live_started = False  # the switch-over step has begun: too late to abort
        self._aborting = False  # an admin's abort (DELETE /servers/{id}/migrations/{mid})

    @workflow.update(name="abort_live_migration")
    async def abort_live_migration(self) -> None:
        """Abort before the switch-over: the run is cancelled where it is and
        rolls back as for a failure, but the migration ends ``cancelled``
        and the server gets no fault."""
        self._aborting = True
        if self._run_task is not None:
            self._run_task.cancel()

    @workflow.update(name="force_complete")
    async def force_complete(self) -> None:
        """While the guest is being switched over: make it converge now, on the source."""
        inp, plan = self._inp, self._plan
        with self.steps.step("live_migration_force_complete", host=plan.source_host):
            await on_host(HostDay2Activities.live_migration_force_complete,
                          GuestActionInput(server_id=inp.ctx.server_id), plan.source_host,
                          inp.timeouts, summary=f"force_complete on {plan.source_host}")

    @force_complete.validator
    def _may_force(self) -> None:
        if not self._live_started or self._switched or self._aborting or self._plan is None:
            raise ApplicationError("Only a live migration in its switch-over (running) can "
                                   "be forced to complete", type="InvalidMigrationState")

    @abort_live_migration.validator
    def _may_abort(self) -> None:
        if self._live_started or self._switched:
            raise ApplicationError("The live migration is already switching over and can no "
                                   "longer be aborted", type="InvalidMigrationState")
        if self._aborting:
            raise ApplicationError("The live migration is already being aborted",
                                   type="InvalidMigrationState")


    @workflow.run
    async def run(self, inp: LiveMigrateServerInput) -> LiveMigrateServerResult:
        self._run_task, self._inp = asyncio.current_task(), inp
        if self._aborting:  # aborted before the run began
            self._run_task.cancel()
        try:
            self.steps.at("prepare_migration")
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
            if self._aborting and not self._switched:
                await self._roll_back(inp, _LiveFailed(
                    "Aborted", "The live migration was aborted", rollback_dest=True),
                    raise_error=False, status="cancelled")
                self.steps.at("aborted")
                source = self._plan.source_host if self._plan else ""
                return LiveMigrateServerResult(server_id=inp.ctx.server_id,
                                               migration_id=inp.migration_id, host=source,
                                               block_migration=self._data.block_migration)
            if await self._abandon(inp):
                await self._deleted(inp)
            else:  # cancelled by hand (e.g. in the Temporal UI): undo, as for a failure
                await self._roll_back(inp, self._failed_here(
                    "Cancelled", "The live migration was cancelled"), raise_error=False)
            raise
        self.steps.at("done")
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
        """Schedule and claim a destination that passes the live-migration
        pre-checks; a requested host that fails them fails the migration."""
        ctx, source = inp.ctx, plan.source_host
        forced = inp.requested_host if inp.force else None
        placement = move_placement(
            ctx, inp.migration_id, plan, plan.old_flavor,
            fail=lambda t, m, d: _LiveFailed(t, m, details=d),
            exhausted=f"Exhausted all hosts available for live migrating instance "
                      f"{ctx.server_id}.",
            max_attempts=inp.max_attempts, excluded=[source], force_host=forced,
            requested_host=None if forced else inp.requested_host)

        async def prechecks(claim: ClaimResult, attempt: int) -> HostCapabilities:
            self._dest = dest = claim.host
            if attempt == 1:
                await self._advance(inp, "preparing")
            try:
                return await self._prechecks(inp, plan, dest)
            except HostStepFailed as exc:
                if inp.requested_host:
                    await self._release(inp, dest)
                    raise _LiveFailed(exc.error_type or MIGRATION_PRECHECK_FAILED,
                                      exc.why) from exc
                raise HostRejected(exc.why, exc.error_type) from exc

        async def release(claim: ClaimResult, _why: HostRejected) -> None:
            await self._release(inp, claim.host)

        return await place(self.steps, placement, prechecks, release)

    async def _prechecks(self, inp: LiveMigrateServerInput, plan: MigrationPlan,
                         dest: str) -> HostCapabilities:
        """The control plane's, the destination's and the source's checks."""
        ctx, source = inp.ctx, plan.source_host
        self.steps.at(f"pre-checks for {dest}")
        check = "live_migration_precheck"
        try:
            with self.steps.step(check, host=dest, describe=describe(check, dest)):
                caps = await control(MigrationActivities.live_migration_precheck,
                                     LivePrecheckInput(ctx=ctx, source_host=source,
                                                       dest_host=dest),
                                     summary=f"{check} {source} -> {dest}")
        except STEP_ERRORS as exc:
            raise HostStepFailed(step_error(check, dest, exc), failure_type(exc)) from exc
        data = await host_step(self.steps, HostMoveActivities.check_can_live_migrate_destination,
                               LiveCheckDestInput(server_id=ctx.server_id,
                                                  flavor=plan.old_flavor, source=plan.source,
                                                  block_migration=inp.block_migration),
                               dest, inp.timeouts)
        try:
            data = await host_step(
                self.steps, HostMoveActivities.check_can_live_migrate_source,
                LiveCheckSourceInput(server_id=ctx.server_id, dest_host=dest, data=data,
                                     block_migration_requested=inp.block_migration),
                source, inp.timeouts)
        finally:
            await best_effort(self.steps,
                              HostMoveActivities.cleanup_live_migration_destination_check,
                              LiveMigrationStepInput(server_id=ctx.server_id, data=data), dest,
                              inp.timeouts, quiet=True)
        self._data = data
        return caps

    async def _release(self, inp: LiveMigrateServerInput, dest: str) -> None:
        await control(MigrationActivities.release_migration_claim,
                      ReleaseMigrationClaimInput(ctx=inp.ctx, migration_id=inp.migration_id,
                                                 dest_host=dest),
                      summary=f"release_migration_claim on {dest}")
        self._dest = None

    async def _advance(self, inp: LiveMigrateServerInput, status: str) -> None:
        checkpoint()
        await control(MigrationActivities.advance_migration,
                      MigrationStepInput(ctx=inp.ctx, migration_id=inp.migration_id,
                                         status=status, task_state=TaskState.MIGRATING,
                                         events=self.steps.take()),
                      summary=f"migration {status}")

    async def _migrate(self, inp: LiveMigrateServerInput, plan: MigrationPlan,
                       dest: HostCapabilities) -> None:
        ctx, source, data = inp.ctx, plan.source_host, self._data

        def roll_back(why: str, exc: BaseException) -> _LiveFailed:
            return _LiveFailed(failure_type(exc) or MIGRATION_STEP_FAILED, why,
                               rollback_dest=True)

        checkpoint()
        await host_step(self.steps, HostMoveActivities.pre_live_migration,
                        PreLiveMigrationInput(spawn=spawn_input(ctx, plan, plan.old_flavor),
                                              data=data),
                        dest.host, inp.timeouts, fail=roll_back)
        await self._advance(inp, "running")
        self._live_started = True
        await host_step(self.steps, HostMoveActivities.live_migration,
                        LiveMigrationInput(server_id=ctx.server_id, dest=dest, data=data),
                        source, inp.timeouts, fail=roll_back,
                        details=f"to {dest.host}, block_migration={data.block_migration}")
        self._switched = True
        checkpoint()
        workflow.upsert_search_attributes([HOST.value_set(dest.host)])

        # The guest runs on the destination now: from here on, roll forward.
        step = LiveMigrationStepInput(server_id=ctx.server_id, data=data)
        landed: SpawnResult = await host_step(
            self.steps, HostMoveActivities.post_live_migration_at_destination, step, dest.host,
            inp.timeouts, retry=HOST_CLEANUP_RETRY,
            fail=lambda why, exc: _LiveFailed(failure_type(exc) or MIGRATION_STEP_FAILED, why,
                                              landed=True))
        try:
            await bind_ports(self.steps, ctx, dest.host)
        except STEP_ERRORS as exc:
            raise _LiveFailed(failure_type(exc) or MIGRATION_STEP_FAILED,
                              f"binding the ports to {dest.host} failed: "
                              f"{failure_message(exc)}", landed=True) from exc
        cleaned, _ = await best_effort(self.steps, HostMoveActivities.post_live_migration,
                                       step, source, inp.timeouts)
        error = "" if cleaned else self.steps.last_details()
        self.steps.at("finish_live_migration")
        await control(MigrationActivities.finish_live_migration,
                      FinishMoveInput(ctx=ctx, migration_id=inp.migration_id, host=dest.host,
                                      power_state=landed.power_state, events=self.steps.take(),
                                      error=error),
                      summary=f"running on {dest.host}")

    async def _roll_back(self, inp: LiveMigrateServerInput, exc: _LiveFailed,
                         raise_error: bool = True, status: str = "error") -> None:
        """Before the switch-over: clean the destination; the server never
        stopped running on the source.  After it: say so, in ERROR."""
        plan = self._plan
        if exc.rollback_dest and self._dest:
            self.steps.at(f"rolling back on {self._dest}")
            await best_effort(self.steps, HostMoveActivities.rollback_live_migration_at_destination,
                              LiveMigrationStepInput(server_id=inp.ctx.server_id,
                                                     data=self._data), self._dest, inp.timeouts)
        self.steps.at(f"failed: {exc.error_type}")
        vm_state = VmState.ERROR if exc.landed else (plan.vm_state if plan else VmState.ACTIVE)
        await control(MigrationActivities.fail_migration,
                      MoveFailedInput(ctx=inp.ctx, migration_id=inp.migration_id,
                                      message=exc.message, error_type=exc.error_type,
                                      vm_state=vm_state,
                                      host=self._dest if exc.landed else (
                                          plan.source_host if plan else None),
                                      events=self.steps.take(), status=status),
                      summary=f"fail_migration {exc.error_type}")
        if raise_error:
            raise ApplicationError(exc.message, type=exc.error_type, non_retryable=True)

    async def _deleted(self, inp: LiveMigrateServerInput) -> None:
        """The server is being deleted: whatever the destination got goes too
        (the delete destroys the source's)."""
        self.steps.at("server deleted during the live migration: cleaning up")
        if self._dest:
            await best_effort(self.steps, HostMoveActivities.rollback_live_migration_at_destination,
                              LiveMigrationStepInput(server_id=inp.ctx.server_id,
                                                     data=self._data), self._dest, inp.timeouts)
