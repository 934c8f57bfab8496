"""ResizeServerWorkflow: resize and cold migration, then confirm or revert.

Workflow id ``resize-<server>-<migration>`` (``migrate-...`` for a cold
migration, which is the same move with the same flavor).  Nova's sequence:

1. ``select_destinations`` for the new flavor; the source host is excluded
   (unless a resize may stay on it), a requested host narrows the choice;
2. ``claim_for_migration``: the instance claims on the destination while its
   source allocation moves to the migration record, in one transaction;
3. ``prep_resize`` on the destination (a failure there reschedules to the
   next host, the failed one excluded);
4. ``resize_instance`` on the source: the domain powers off, kept for a revert;
5. ``finish_resize`` on the destination: defined with the new flavor and
   started; the ports' ``binding:host_id`` moves to it (``bind_ports``,
   Nova's ``migrate_instance_finish``) → vm_state ``resized``, API status
   VERIFY_RESIZE.

Then it waits, durably, for a ``confirmResize`` or ``revertResize`` Update
(validators refuse them unless the server is waiting in VERIFY_RESIZE, so a
refused request never enters history), or for ``resize_confirm_window`` to
pass (a timer), after which it confirms by itself.  A revert binds the
ports back to the source once the guest runs there again.

A failure before VERIFY_RESIZE puts the server back on its source as it was
(domain started again, allocation back), the migration in ``error``, and a
fault plus an instance-action event naming the step and the host; the
workflow then fails with that error.  A failed confirm or revert leaves the
server in VERIFY_RESIZE to be tried again.  If the server is deleted (the
delete cancels this workflow), both hosts are cleaned and the migration
lets go of its allocation.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.hypervisor.moves import HostMoveActivities
    from activities.migrations import MigrationActivities
    from activities.types.context import OpContext
    from activities.types.hypervisor import DestroyInput, SpawnResult
    from activities.types.moves import (
        ConfirmResizeInput,
        DecisionDoneInput,
        DecisionFailedInput,
        FinishMoveInput,
        FinishResizeInput,
        MigrationPlan,
        MigrationRef,
        MigrationStepInput,
        MoveFailedInput,
        PrepResizeInput,
        ReleaseMigrationClaimInput,
        ResizeDecisionInput,
        ResizeInstanceInput,
    )
    from activities.types.scheduling import ClaimResult
    from novaflow import errors
    from novaflow.states import TaskState, VmState

from workflows.common import (
    HOST,
    HOST_CLEANUP_RETRY,
    OpTimeouts,
    control,
    failure_message,
    failure_type,
)
from workflows.move_steps import (
    MIGRATION_STEP_FAILED,
    HostStepFailed,
    best_effort,
    bind_ports,
    checkpoint,
    host_step,
    move_placement,
    spawn_input,
)
from workflows.scheduling import HostRejected, place
from workflows.steps import STEP_ERRORS, StepTracking


@dataclass
class ResizeServerInput:
    ctx: OpContext
    migration_id: str
    requested_host: str | None = None  # cold migration to a named host (admins)
    allow_same_host: bool = False  # settings.allow_resize_to_same_host
    max_attempts: int = 3
    timeouts: OpTimeouts = field(default_factory=OpTimeouts)


@dataclass
class ResizeServerResult:
    server_id: str
    migration_id: str
    host: str  # where the server runs at the end
    outcome: str  # confirmed | reverted


@dataclass
class ResizeDecision:
    """The argument of the confirmResize / revertResize Updates: who asks."""

    ctx: OpContext


class _MoveFailed(Exception):
    """A failure before VERIFY_RESIZE, carried to the roll-back in ``run``."""

    def __init__(self, error_type: str, message: str, restore_source: bool,
                 details: list | None = None):
        super().__init__(message)
        self.error_type, self.message = error_type, message
        self.restore_source, self.details = restore_source, details or []


class _DecisionFailed(Exception):
    def __init__(self, message: str, still_resized: bool):
        super().__init__(message)
        self.message, self.still_resized = message, still_resized


@workflow.defn(name="ResizeServerWorkflow")
class ResizeServerWorkflow(StepTracking):
    def __init__(self) -> None:
        super().__init__()
        self._lock = asyncio.Lock()
        # moving -> verify <-> deciding -> done
        self._phase = "moving"
        self._task_state: str | None = TaskState.RESIZE_PREP
        self._outcome: str | None = None
        self._inp: ResizeServerInput | None = None
        self._plan: MigrationPlan | None = None
        self._dest: str | None = None
        self._source_touched = False  # resize_instance ran: a roll-back restarts the source
        self._ports_moved = False  # bind_ports to the destination began: a roll-back undoes it


    @workflow.run
    async def run(self, inp: ResizeServerInput) -> ResizeServerResult:
        self._inp = inp
        try:
            await self._prepare_and_move(inp)
        except _MoveFailed as exc:
            await self._roll_back(inp, exc)
        except STEP_ERRORS as exc:  # a control step failed where none was expected to
            if await self._abandon(inp):  # it refused because the server is being deleted
                await self._deleted_while_moving(inp)
                raise
            await self._roll_back(inp, _MoveFailed(
                failure_type(exc) or MIGRATION_STEP_FAILED, failure_message(exc),
                restore_source=self._source_touched))
        except asyncio.CancelledError:
            if await self._abandon(inp):
                await self._deleted_while_moving(inp)
            else:  # cancelled by hand (e.g. in the Temporal UI): undo, as for a failure
                await self._roll_back(inp, _MoveFailed(
                    "Cancelled", f"The {self._kind()} was cancelled",
                    restore_source=self._source_touched), raise_error=False)
            raise
        try:
            await self._await_decision(inp)
        except asyncio.CancelledError:
            if await self._abandon(inp):
                await self._deleted_while_resized(inp)
            else:
                with contextlib.suppress(ApplicationError):
                    await self._decide("revert", self._auto_decision(inp))
            raise
        await workflow.wait_condition(workflow.all_handlers_finished)
        self.steps.at(f"done: {self._outcome}")
        if self._outcome == "error":
            raise ApplicationError(f"revertResize of instance {inp.ctx.server_id} failed and "
                                   "the server could not be restarted",
                                   type=MIGRATION_STEP_FAILED, non_retryable=True)
        host = self._plan.source_host if self._outcome == "reverted" else self._dest
        return ResizeServerResult(server_id=inp.ctx.server_id, migration_id=inp.migration_id,
                                  host=host or "", outcome=self._outcome or "")

    def _kind(self) -> str:
        return "cold migration" if self._plan and self._plan.migration_type == "migration" \
            else "resize"

    @staticmethod
    def _auto_decision(inp: ResizeServerInput) -> ResizeDecision:
        return ResizeDecision(ctx=OpContext(server_id=inp.ctx.server_id,
                                            project_id=inp.ctx.project_id,
                                            user_id=inp.ctx.user_id))

    async def _abandon(self, inp: ResizeServerInput) -> bool:
        """True if the server is being deleted (the migration then lets go)."""
        return await control(MigrationActivities.abandon_migration,
                             MigrationRef(ctx=inp.ctx, migration_id=inp.migration_id),
                             summary="abandon_migration if the server is being deleted")

    async def _prepare_and_move(self, inp: ResizeServerInput) -> None:
        self.steps.at("prepare_migration")
        try:
            self._plan = await control(
                MigrationActivities.prepare_migration,
                MigrationRef(ctx=inp.ctx, migration_id=inp.migration_id),
                summary="prepare_migration")
        except STEP_ERRORS as exc:
            raise _MoveFailed(failure_type(exc) or MIGRATION_STEP_FAILED,
                              failure_message(exc), restore_source=False) from exc
        await self._move(inp, self._plan)

    # -- the move ------------------------------------------------------------------

    async def _choose_destination(self, inp: ResizeServerInput, plan: MigrationPlan) -> str:
        """Schedule and claim a destination that accepts prep_resize."""
        ctx, source = inp.ctx, plan.source_host
        same_host_ok = inp.allow_same_host and plan.migration_type == "resize"
        placement = move_placement(
            ctx, inp.migration_id, plan, plan.new_flavor,
            fail=lambda t, m, d: _MoveFailed(t, m, restore_source=False, details=d),
            exhausted=f"Exhausted all hosts available for migrating instance {ctx.server_id}.",
            max_attempts=inp.max_attempts, excluded=[] if same_host_ok else [source],
            requested_host=inp.requested_host)

        async def prep_resize(claim: ClaimResult, attempt: int) -> str:
            self._dest = claim.host
            await host_step(
                self.steps, HostMoveActivities.prep_resize,
                PrepResizeInput(server_id=ctx.server_id, flavor=plan.new_flavor,
                                same_host=claim.host == source),
                claim.host, inp.timeouts, error_event=f"prep_resize (attempt {attempt})",
                fail=lambda why, exc: HostRejected(why, failure_type(exc)))
            return claim.host

        async def release(claim: ClaimResult, _why: HostRejected) -> None:
            await control(MigrationActivities.release_migration_claim,
                          ReleaseMigrationClaimInput(ctx=ctx, migration_id=inp.migration_id,
                                                     dest_host=claim.host),
                          summary=f"release_migration_claim on {claim.host}")
            self._dest = None

        return await place(self.steps, placement, prep_resize, release)

    async def _move(self, inp: ResizeServerInput, plan: MigrationPlan) -> None:
        ctx, source = inp.ctx, plan.source_host
        dest = await self._choose_destination(inp, plan)
        workflow.upsert_search_attributes([HOST.value_set(dest)])

        def failed(why: str, exc: BaseException) -> _MoveFailed:
            return _MoveFailed(failure_type(exc) or MIGRATION_STEP_FAILED, why,
                               restore_source=True)

        await self._advance(inp, "migrating", TaskState.RESIZE_MIGRATING)
        self._source_touched = True
        await host_step(self.steps, HostMoveActivities.resize_instance, ResizeInstanceInput(
            server_id=ctx.server_id, old_flavor=plan.old_flavor,
            new_flavor=plan.new_flavor, dest_host=dest), source, inp.timeouts, fail=failed)

        await self._advance(inp, "post-migrating", TaskState.RESIZE_MIGRATED)
        done: SpawnResult = await host_step(
            self.steps, HostMoveActivities.finish_resize,
            FinishResizeInput(spawn=spawn_input(ctx, plan, plan.new_flavor),
                              power_on=plan.vm_state == VmState.ACTIVE),
            dest, inp.timeouts, fail=failed, details=f"flavor {plan.new_flavor.name}")
        if dest != source:
            self._ports_moved = True
            await bind_ports(self.steps, ctx, dest)
        checkpoint()
        self.steps.at("finish_resize_record")
        await control(MigrationActivities.finish_resize_record,
                      FinishMoveInput(ctx=ctx, migration_id=inp.migration_id, host=dest,
                                      power_state=done.power_state, events=self.steps.take()),
                      summary=f"VERIFY_RESIZE on {dest}")
        self._task_state = None

    async def _advance(self, inp: ResizeServerInput, status: str, task_state: str) -> None:
        checkpoint()
        self._task_state = task_state
        await control(MigrationActivities.advance_migration,
                      MigrationStepInput(ctx=inp.ctx, migration_id=inp.migration_id,
                                         status=status, task_state=task_state,
                                         events=self.steps.take()),
                      summary=f"migration {status}")

    async def _roll_back(self, inp: ResizeServerInput, exc: _MoveFailed,
                         raise_error: bool = True) -> None:
        """Put the server back on its source as it was, then fail loudly."""
        ctx, plan = inp.ctx, self._plan
        message, power_state = exc.message, None
        vm_state = plan.vm_state if plan else VmState.ACTIVE
        if exc.restore_source and plan is not None:
            if self._dest and self._dest != plan.source_host:
                # finish_resize leaves nothing behind by contract; make sure.
                self.steps.at(f"rolling back: revert_resize on {self._dest}")
                await best_effort(self.steps, HostMoveActivities.revert_resize,
                                  DestroyInput(server_id=ctx.server_id), self._dest, inp.timeouts)
            self.steps.at(f"rolling back: finish_revert_resize on {plan.source_host}")
            restarted, back = await best_effort(
                self.steps, HostMoveActivities.finish_revert_resize,
                FinishResizeInput(spawn=spawn_input(ctx, plan, plan.old_flavor),
                                  power_on=plan.vm_state == VmState.ACTIVE),
                plan.source_host, inp.timeouts)
            if not restarted:
                vm_state = VmState.ERROR
                message += (f"; the server could not be started again on {plan.source_host}: "
                            f"{self.steps.last_details()}")
            else:
                power_state = back.power_state
            if self._ports_moved:
                await bind_ports(self.steps, ctx, plan.source_host, best=True)
        self.steps.at(f"failed: {exc.error_type}")
        await control(MigrationActivities.fail_migration,
                      MoveFailedInput(ctx=ctx, migration_id=inp.migration_id, message=message,
                                      error_type=exc.error_type, details=str(exc.details)[:8000],
                                      vm_state=vm_state,
                                      host=plan.source_host if plan else None,
                                      power_state=power_state, events=self.steps.take()),
                      summary=f"fail_migration {exc.error_type}")
        if raise_error:
            raise ApplicationError(message, *exc.details, type=exc.error_type,
                                   non_retryable=True)

    async def _deleted_while_moving(self, inp: ResizeServerInput) -> None:
        """The delete cancelled the move: remove both hosts' domains (the
        server is going anyway) and the migration's allocation."""
        self.steps.at("server deleted during the move: cleaning up")
        plan = self._plan
        for host in dict.fromkeys(h for h in (self._dest, plan and plan.source_host) if h):
            await best_effort(self.steps, HostMoveActivities.revert_resize,
                              DestroyInput(server_id=inp.ctx.server_id), host, inp.timeouts)

    async def _deleted_while_resized(self, inp: ResizeServerInput) -> None:
        """Deleted in VERIFY_RESIZE: as Nova, the resize is confirmed first
        (the source cleaned up); the delete destroys the destination."""
        self.steps.at("server deleted in VERIFY_RESIZE: confirming")
        plan = self._plan
        if plan.source_host != self._dest:
            await best_effort(self.steps, HostMoveActivities.confirm_resize, ConfirmResizeInput(
                server_id=inp.ctx.server_id, same_host=False), plan.source_host, inp.timeouts)

    # -- VERIFY_RESIZE: confirm, revert or the timer --------------------------------

    async def _await_decision(self, inp: ResizeServerInput) -> None:
        window = inp.timeouts.resize_confirm_window_s
        self._phase = "verify"
        while self._outcome is None:
            self.steps.at("awaiting confirmResize or revertResize" + (
                f" (auto-confirm after {window:g}s)" if window > 0 else ""))
            try:
                await workflow.wait_condition(lambda: self._phase != "verify",
                                              timeout=window if window > 0 else None)
            except TimeoutError:
                try:
                    await self._decide("confirm", self._auto_decision(inp), auto=True)
                except ApplicationError:
                    pass  # still in VERIFY_RESIZE: the next window tries again
                continue
            await workflow.wait_condition(lambda: self._phase in ("verify", "done"))

    def _refuse(self, action: str) -> None:
        if self._phase == "verify":
            return
        where = {"moving": f"task_state {self._task_state}",
                 "deciding": f"task_state {self._task_state}",
                 "done": f"vm_state {'error' if self._outcome == 'error' else 'active'} "
                         f"(the resize was {self._outcome})"}
        raise ApplicationError(f"Cannot '{action}' instance {self._inp.ctx.server_id} while it "
                               f"is in {where[self._phase]}", type=errors.INVALID_REQUEST,
                               non_retryable=True)

    @workflow.update(name="confirmResize")
    async def confirm_resize(self, req: ResizeDecision) -> str:
        """Keep the resized server: clean up the source, drop its allocation."""
        return await self._decide("confirm", req)

    @confirm_resize.validator
    def _validate_confirm(self, req: ResizeDecision) -> None:
        self._refuse("confirmResize")

    @workflow.update(name="revertResize")
    async def revert_resize(self, req: ResizeDecision) -> str:
        """Go back: tear the destination down, restart on the source, old flavor."""
        return await self._decide("revert", req)

    @revert_resize.validator
    def _validate_revert(self, req: ResizeDecision) -> None:
        self._refuse("revertResize")

    async def _decide(self, decision: str, req: ResizeDecision, auto: bool = False) -> str:
        async with self._lock:
            self._refuse("confirmResize" if decision == "confirm" else "revertResize")
            self._phase = "deciding"
            self._task_state = (TaskState.RESIZE_CONFIRMING if decision == "confirm"
                                else TaskState.RESIZE_REVERTING)
            try:
                ctx = await control(MigrationActivities.begin_resize_decision,
                                    ResizeDecisionInput(ctx=req.ctx,
                                                        migration_id=self._inp.migration_id,
                                                        decision=decision, auto=auto),
                                    summary=f"begin {decision}" + (" (auto)" if auto else ""))
            except STEP_ERRORS as exc:
                self._phase, self._task_state = "verify", None
                raise ApplicationError(failure_message(exc), type=errors.INVALID_REQUEST,
                                       non_retryable=True) from exc
            try:
                if decision == "confirm":
                    outcome = await self._confirm(ctx)
                else:
                    outcome = await self._revert(ctx)
            except _DecisionFailed as exc:
                self._task_state = None
                if exc.still_resized:
                    self._phase = "verify"
                else:
                    self._phase, self._outcome = "done", "error"
                raise ApplicationError(exc.message, type=MIGRATION_STEP_FAILED,
                                       non_retryable=True) from None
            self._phase, self._outcome, self._task_state = "done", outcome, None
            return outcome

    async def _decision_failed(self, ctx: OpContext, decision: str, message: str,
                               vm_state: str = VmState.RESIZED) -> _DecisionFailed:
        await control(MigrationActivities.fail_resize_decision,
                      DecisionFailedInput(ctx=ctx, migration_id=self._inp.migration_id,
                                          decision=decision, message=message,
                                          vm_state=vm_state, events=self.steps.take()),
                      summary=f"{decision} failed")
        return _DecisionFailed(message, still_resized=vm_state == VmState.RESIZED)

    async def _confirm(self, ctx: OpContext) -> str:
        inp, source = self._inp, self._plan.source_host
        try:
            await host_step(self.steps, HostMoveActivities.confirm_resize, ConfirmResizeInput(
                server_id=ctx.server_id, same_host=source == self._dest), source, inp.timeouts,
                retry=HOST_CLEANUP_RETRY)
        except HostStepFailed as exc:
            raise await self._decision_failed(ctx, "confirm", exc.why) from exc
        await control(MigrationActivities.finish_resize_decision,
                      DecisionDoneInput(ctx=ctx, migration_id=inp.migration_id,
                                        decision="confirm", events=self.steps.take()),
                      summary="resize confirmed")
        return "confirmed"

    async def _revert(self, ctx: OpContext) -> str:
        inp, plan, source, dest = self._inp, self._plan, self._plan.source_host, self._dest
        power_on = plan.vm_state == VmState.ACTIVE
        try:
            if dest != source:
                await host_step(self.steps, HostMoveActivities.revert_resize,
                                DestroyInput(server_id=ctx.server_id), dest, inp.timeouts,
                                retry=HOST_CLEANUP_RETRY)
        except HostStepFailed as exc:
            raise await self._decision_failed(ctx, "revert", exc.why) from exc
        try:
            back: SpawnResult = await host_step(
                self.steps, HostMoveActivities.finish_revert_resize,
                FinishResizeInput(spawn=spawn_input(ctx, plan, plan.old_flavor),
                                  power_on=power_on),
                source, inp.timeouts, details=f"flavor {plan.old_flavor.name}")
            if dest != source:  # Nova's finish_revert_resize: migrate_instance_finish
                await bind_ports(self.steps, ctx, source, best=True)
        except HostStepFailed as exc:
            # Back to where it was: resized, on the destination.
            self.steps.at(f"revert failed: finish_resize again on {dest}")
            again, _ = await best_effort(
                self.steps, HostMoveActivities.finish_resize,
                FinishResizeInput(spawn=spawn_input(ctx, plan, plan.new_flavor),
                                  power_on=power_on), dest, inp.timeouts)
            if not again:
                raise await self._decision_failed(
                    ctx, "revert", exc.why + f"; the server could not be restarted on {dest}",
                    vm_state=VmState.ERROR) from exc
            raise await self._decision_failed(ctx, "revert", exc.why) from exc
        await control(MigrationActivities.finish_resize_decision,
                      DecisionDoneInput(ctx=ctx, migration_id=inp.migration_id,
                                        decision="revert", power_state=back.power_state,
                                        events=self.steps.take()),
                      summary="resize reverted")
        workflow.upsert_search_attributes([HOST.value_set(source)])
        return "reverted"
