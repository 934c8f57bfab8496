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
   started → vm_state ``resized``, API status VERIFY_RESIZE.

Then it waits, durably, for a ``confirmResize`` or ``revertResize`` Update
(validators refuse them unless the server is waiting in VERIFY_RESIZE, so a
refused request never enters history), or for ``resize_confirm_window`` to
pass (a timer), after which it confirms by itself.

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
    StepTracking,
    control,
    failure_details,
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

CLAIM_ROUNDS = 10  # re-selections after claims lost races, per attempt


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
        self._step = f"done: {self._outcome}"
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
        self._step = "prepare_migration"
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

    async def _move(self, inp: ResizeServerInput, plan: MigrationPlan) -> None:
        ctx, source = inp.ctx, plan.source_host
        same_host_ok = inp.allow_same_host and plan.migration_type == "resize"
        tried: list[str] = []
        attempt_errors: list[str] = []
        for attempt in range(1, inp.max_attempts + 1):
            excluded = tried if same_host_ok else [source, *tried]
            claim = await self._schedule_and_claim(inp, plan, excluded, attempt, attempt_errors)
            self._dest = claim.host
            t = workflow.now()
            self._step = f"prep_resize on {claim.host} (attempt {attempt})"
            try:
                await on_host("prep_resize", PrepResizeInput(
                    server_id=ctx.server_id, flavor=plan.new_flavor,
                    same_host=claim.host == source), claim.host, inp.timeouts,
                    summary=f"prep_resize on {claim.host}, attempt {attempt}")
            except STEP_ERRORS as exc:
                why = step_error("prep_resize", claim.host, exc)
                self._log.add(f"prep_resize (attempt {attempt})", t, "Error", claim.host, why)
                attempt_errors.append(f"attempt {attempt}: {why}")
                tried.append(claim.host)
                self._step = f"rescheduling after {claim.host} failed"
                await control(MigrationActivities.release_migration_claim,
                              ReleaseMigrationClaimInput(ctx=ctx, migration_id=inp.migration_id,
                                                         dest_host=claim.host),
                              summary=f"release_migration_claim on {claim.host}")
                self._dest = None
                continue
            self._log.add("prep_resize", t, host=claim.host)
            break
        else:
            raise _MoveFailed(errors.MAX_RETRIES_EXCEEDED,
                              self._exhausted(ctx, attempt_errors), restore_source=False)
        dest = self._dest
        workflow.upsert_search_attributes([HOST.value_set(dest)])

        await self._advance(inp, "migrating", TaskState.RESIZE_MIGRATING)
        t = workflow.now()
        self._step = f"resize_instance on {source}"
        self._source_touched = True
        try:
            await on_host("resize_instance", ResizeInstanceInput(
                server_id=ctx.server_id, old_flavor=plan.old_flavor,
                new_flavor=plan.new_flavor, dest_host=dest), source, inp.timeouts,
                summary=f"resize_instance on {source}")
        except STEP_ERRORS as exc:
            why = step_error("resize_instance", source, exc)
            self._log.add("resize_instance", t, "Error", source, why)
            raise _MoveFailed(failure_type(exc) or MIGRATION_STEP_FAILED, why,
                              restore_source=True) from exc
        self._log.add("resize_instance", t, host=source)

        await self._advance(inp, "post-migrating", TaskState.RESIZE_MIGRATED)
        t = workflow.now()
        self._step = f"finish_resize on {dest}"
        try:
            done: SpawnResult = await on_host(
                "finish_resize", FinishResizeInput(
                    spawn=spawn_input(ctx, plan, plan.new_flavor),
                    power_on=plan.vm_state == VmState.ACTIVE),
                dest, inp.timeouts, result_type=SpawnResult, summary=f"finish_resize on {dest}")
        except STEP_ERRORS as exc:
            why = step_error("finish_resize", dest, exc)
            self._log.add("finish_resize", t, "Error", dest, why)
            raise _MoveFailed(failure_type(exc) or MIGRATION_STEP_FAILED, why,
                              restore_source=True) from exc
        self._log.add("finish_resize", t, host=dest, details=f"flavor {plan.new_flavor.name}")
        checkpoint()
        self._step = "finish_resize_record"
        await control(MigrationActivities.finish_resize_record,
                      FinishMoveInput(ctx=ctx, migration_id=inp.migration_id, host=dest,
                                      power_state=done.power_state, events=self._log.take()),
                      summary=f"VERIFY_RESIZE on {dest}")
        self._task_state = None

    async def _schedule_and_claim(self, inp: ResizeServerInput, plan: MigrationPlan,
                                  excluded: list[str], attempt: int,
                                  attempt_errors: list[str]) -> ClaimResult:
        ctx = inp.ctx
        for _round in range(CLAIM_ROUNDS):
            try:
                return await select_and_claim(
                    self, ctx, inp.migration_id, plan, plan.new_flavor, excluded=excluded,
                    attempt=attempt, max_attempts=inp.max_attempts,
                    requested_host=inp.requested_host)
            except STEP_ERRORS as exc:
                if failure_type(exc) == errors.CLAIM_CONFLICT:
                    continue  # the hosts filled up since selection: select again
                if attempt > 1:
                    attempt_errors.append(f"attempt {attempt}: {failure_message(exc)}")
                    raise _MoveFailed(errors.MAX_RETRIES_EXCEEDED,
                                      self._exhausted(ctx, attempt_errors),
                                      restore_source=False) from exc
                raise _MoveFailed(failure_type(exc) or errors.NO_VALID_HOST,
                                  failure_message(exc), restore_source=False,
                                  details=failure_details(exc)) from exc
        raise _MoveFailed(errors.NO_VALID_HOST, "No valid host was found. Claims kept losing "
                          f"races after {CLAIM_ROUNDS} selections.", restore_source=False)

    @staticmethod
    def _exhausted(ctx: OpContext, attempt_errors: list[str]) -> str:
        return (f"Exhausted all hosts available for migrating instance {ctx.server_id}. "
                + "; ".join(attempt_errors))

    async def _advance(self, inp: ResizeServerInput, status: str, task_state: str) -> None:
        checkpoint()
        self._task_state = task_state
        await control(MigrationActivities.advance_migration,
                      MigrationStepInput(ctx=inp.ctx, migration_id=inp.migration_id,
                                         status=status, task_state=task_state,
                                         events=self._log.take()),
                      summary=f"migration {status}")

    async def _best_effort(self, name: str, arg: object, host: str, inp: ResizeServerInput,
                           result_type: type | None = None) -> object | None:
        """A clean-up step: retried, its failure recorded but not raised."""
        t = workflow.now()
        try:
            out = await on_host(name, arg, host, inp.timeouts, result_type=result_type,
                                retry=HOST_CLEANUP_RETRY, summary=f"{name} on {host}")
        except STEP_ERRORS as exc:
            self._log.add(name, t, "Error", host, step_error(name, host, exc))
            return None
        self._log.add(name, t, host=host)
        return out

    async def _roll_back(self, inp: ResizeServerInput, exc: _MoveFailed,
                         raise_error: bool = True) -> None:
        """Put the server back on its source as it was, then fail loudly."""
        ctx, plan = inp.ctx, self._plan
        message, power_state = exc.message, None
        vm_state = plan.vm_state if plan else VmState.ACTIVE
        if exc.restore_source and plan is not None:
            if self._dest and self._dest != plan.source_host:
                # finish_resize leaves nothing behind by contract; make sure.
                self._step = f"rolling back: revert_resize on {self._dest}"
                await self._best_effort("revert_resize",
                                        DestroyInput(server_id=ctx.server_id), self._dest, inp)
            self._step = f"rolling back: finish_revert_resize on {plan.source_host}"
            back = await self._best_effort(
                "finish_revert_resize",
                FinishResizeInput(spawn=spawn_input(ctx, plan, plan.old_flavor),
                                  power_on=plan.vm_state == VmState.ACTIVE),
                plan.source_host, inp, result_type=SpawnResult)
            if back is None:
                vm_state = VmState.ERROR
                message += (f"; the server could not be started again on {plan.source_host}: "
                            f"{self._log.pending[-1].details}")
            else:
                power_state = back.power_state
        self._step = f"failed: {exc.error_type}"
        await control(MigrationActivities.fail_migration,
                      MoveFailedInput(ctx=ctx, migration_id=inp.migration_id, message=message,
                                      error_type=exc.error_type, details=str(exc.details)[:8000],
                                      vm_state=vm_state,
                                      host=plan.source_host if plan else None,
                                      power_state=power_state, events=self._log.take()),
                      summary=f"fail_migration {exc.error_type}")
        if raise_error:
            raise ApplicationError(message, *exc.details, type=exc.error_type,
                                   non_retryable=True)

    async def _deleted_while_moving(self, inp: ResizeServerInput) -> None:
        """The delete cancelled the move: remove both hosts' domains (the
        server is going anyway) and the migration's allocation."""
        self._step = "server deleted during the move: cleaning up"
        plan = self._plan
        for host in dict.fromkeys(h for h in (self._dest, plan and plan.source_host) if h):
            await self._best_effort("revert_resize", DestroyInput(server_id=inp.ctx.server_id),
                                    host, inp)

    async def _deleted_while_resized(self, inp: ResizeServerInput) -> None:
        """Deleted in VERIFY_RESIZE: as Nova, the resize is confirmed first
        (the source cleaned up); the delete destroys the destination."""
        self._step = "server deleted in VERIFY_RESIZE: confirming"
        plan = self._plan
        if plan.source_host != self._dest:
            await self._best_effort("confirm_resize", ConfirmResizeInput(
                server_id=inp.ctx.server_id, same_host=False), plan.source_host, inp)

    # -- VERIFY_RESIZE: confirm, revert or the timer --------------------------------

    async def _await_decision(self, inp: ResizeServerInput) -> None:
        window = inp.timeouts.resize_confirm_window_s
        self._phase = "verify"
        while self._outcome is None:
            self._step = "awaiting confirmResize or revertResize" + (
                f" (auto-confirm after {window:g}s)" if window > 0 else "")
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
                                          vm_state=vm_state, events=self._log.take()),
                      summary=f"{decision} failed")
        return _DecisionFailed(message, still_resized=vm_state == VmState.RESIZED)

    async def _confirm(self, ctx: OpContext) -> str:
        inp, source = self._inp, self._plan.source_host
        t = workflow.now()
        self._step = f"confirm_resize on {source}"
        try:
            await on_host("confirm_resize", ConfirmResizeInput(
                server_id=ctx.server_id, same_host=source == self._dest), source, inp.timeouts,
                retry=HOST_CLEANUP_RETRY, summary=f"confirm_resize on {source}")
        except STEP_ERRORS as exc:
            why = step_error("confirm_resize", source, exc)
            self._log.add("confirm_resize", t, "Error", source, why)
            raise await self._decision_failed(ctx, "confirm", why) from exc
        self._log.add("confirm_resize", t, host=source)
        await control(MigrationActivities.finish_resize_decision,
                      DecisionDoneInput(ctx=ctx, migration_id=inp.migration_id,
                                        decision="confirm", events=self._log.take()),
                      summary="resize confirmed")
        return "confirmed"

    async def _revert(self, ctx: OpContext) -> str:
        inp, plan, source, dest = self._inp, self._plan, self._plan.source_host, self._dest
        power_on = plan.vm_state == VmState.ACTIVE
        if dest != source:
            t = workflow.now()
            self._step = f"revert_resize on {dest}"
            try:
                await on_host("revert_resize", DestroyInput(server_id=ctx.server_id), dest,
                              inp.timeouts, retry=HOST_CLEANUP_RETRY,
                              summary=f"revert_resize on {dest}")
            except STEP_ERRORS as exc:
                why = step_error("revert_resize", dest, exc)
                self._log.add("revert_resize", t, "Error", dest, why)
                raise await self._decision_failed(ctx, "revert", why) from exc
            self._log.add("revert_resize", t, host=dest)
        t = workflow.now()
        self._step = f"finish_revert_resize on {source}"
        try:
            back: SpawnResult = await on_host(
                "finish_revert_resize",
                FinishResizeInput(spawn=spawn_input(ctx, plan, plan.old_flavor),
                                  power_on=power_on),
                source, inp.timeouts, result_type=SpawnResult,
                summary=f"finish_revert_resize on {source}")
        except STEP_ERRORS as exc:
            why = step_error("finish_revert_resize", source, exc)
            self._log.add("finish_revert_resize", t, "Error", source, why)
            # Back to where it was: resized, on the destination.
            self._step = f"revert failed: finish_resize again on {dest}"
            again = await self._best_effort(
                "finish_resize",
                FinishResizeInput(spawn=spawn_input(ctx, plan, plan.new_flavor),
                                  power_on=power_on), dest, inp, result_type=SpawnResult)
            if again is None:
                raise await self._decision_failed(
                    ctx, "revert", why + f"; the server could not be restarted on {dest}",
                    vm_state=VmState.ERROR) from exc
            raise await self._decision_failed(ctx, "revert", why) from exc
        self._log.add("finish_revert_resize", t, host=source,
                      details=f"flavor {plan.old_flavor.name}")
        await control(MigrationActivities.finish_resize_decision,
                      DecisionDoneInput(ctx=ctx, migration_id=inp.migration_id,
                                        decision="revert", power_state=back.power_state,
                                        events=self._log.take()),
                      summary="resize reverted")
        workflow.upsert_search_attributes([HOST.value_set(source)])
        return "reverted"
