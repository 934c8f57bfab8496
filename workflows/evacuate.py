"""EvacuateServerWorkflow: rebuild a server elsewhere when its host is down.

Id ``evacuate-<server uuid>-<migration uuid>``.  The API has checked that
the source host's service is down or forced down, taken task_state
``rebuilding`` and written a migration record of type ``evacuation``.

1. ``prepare_migration`` reads the server (flavor, image, ports, source);
2. ``place`` schedules with the source excluded (or to the admin's
   ``host``; with ``force`` up to 2.67, past the filters) and claims there:
   the source allocation moves to the migration, as for any move;
3. its ports are bound to the claimed host (``bind_ports``, Nova's
   ``setup_instance_network_on_host``), then the server is spawned there from
   its image with its own ports and volumes (event
   ``compute_rebuild_instance``); a host that
   fails it is excluded and the next one tried (Nova's rebuild retries);
   a stopped server (or any at 2.95) is left stopped;
4. ``finish_evacuation``: the server on its new host, the migration
   ``done``, the source's allocation released and its leftover domain
   queued for destruction when the source host reports again.

When no host takes it, the server is left in ERROR on its source with a
fault, its allocation back there, its ports bound there again, the
migration ``error`` (Nova's failed rebuild).  A delete cancels the
evacuation; the delete then cleans every host the migration touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.evacuate import EvacuateActivities
    from activities.host_reports import HostStateActivities
    from activities.hypervisor.activities import HostActivities
    from activities.hypervisor.power import HostPowerActivities
    from activities.migrations import MigrationActivities
    from activities.types.context import OpContext
    from activities.types.hypervisor import (
        DestroyInput,
        PowerActionInput,
        PowerActionResult,
        SpawnResult,
    )
    from activities.types.instances import QueueHostCleanupInput
    from activities.types.moves import (
        FinishMoveInput,
        MigrationPlan,
        MigrationRef,
        MoveFailedInput,
        ReleaseMigrationClaimInput,
    )
    from activities.types.scheduling import ClaimResult
    from activities.volumes import VolumeActivities
    from novaflow import errors
    from novaflow.states import PowerState, VmState

from workflows.common import OpTimeouts, control, failure_message, failure_type, on_host
from workflows.move_steps import best_effort, bind_ports, move_placement, spawn_input
from workflows.scheduling import HostRejected, place
from workflows.steps import StepTracking

EVACUATION_FAILED = "EvacuationFailed"


@dataclass
class EvacuateServerInput:
    ctx: OpContext
    migration_id: str
    host: str | None = None  # the admin's target
    force: bool = False  # up to 2.67: past the scheduler's filters
    stop_after: bool = False  # 2.95: the evacuated server is left stopped
    max_attempts: int = 3
    timeouts: OpTimeouts = field(default_factory=OpTimeouts)


class _EvacuationFailed(Exception):
    def __init__(self, error_type: str, message: str, details: list | None = None):
        super().__init__(message)
        self.error_type, self.message, self.details = error_type, message, details or []


@workflow.defn(name="EvacuateServerWorkflow")
class EvacuateServerWorkflow(StepTracking):
    def __init__(self) -> None:
        super().__init__()
        self._source: str | None = None  # set once the ports were bound elsewhere

    @workflow.run
    async def run(self, inp: EvacuateServerInput) -> str:
        """Returns the host the server was rebuilt on."""
        try:
            return await self._evacuate(inp)
        except _EvacuationFailed as exc:
            self.steps.at(f"failed: {exc.error_type}")
            if self._source:  # the server stays on its source: so do its ports
                await bind_ports(self.steps, inp.ctx, self._source, best=True)
            await control(MigrationActivities.fail_migration, MoveFailedInput(
                ctx=inp.ctx, migration_id=inp.migration_id, message=exc.message,
                error_type=exc.error_type, details=str(exc.details)[:2000] if exc.details
                else "", vm_state=VmState.ERROR, events=self.steps.take()),
                summary=f"fail_migration {exc.error_type}")
            raise ApplicationError(exc.message, type=exc.error_type,
                                   non_retryable=True) from exc

    async def _evacuate(self, inp: EvacuateServerInput) -> str:
        ctx = inp.ctx
        self.steps.at("prepare_migration")
        try:
            plan: MigrationPlan = await control(
                MigrationActivities.prepare_migration,
                MigrationRef(ctx=ctx, migration_id=inp.migration_id), summary="prepare_migration")
            volumes = await control(VolumeActivities.get_volume_disks, ctx,
                                    summary="get_volume_disks")
        except ActivityError as exc:  # deleted meanwhile: the delete owns it now
            raise ApplicationError(failure_message(exc), type=failure_type(exc),
                                   non_retryable=True) from exc
        flavor = plan.old_flavor
        power_on = not inp.stop_after and plan.vm_state != VmState.STOPPED
        placement = move_placement(
            ctx, inp.migration_id, plan, flavor, fail=_EvacuationFailed,
            exhausted="Exceeded maximum number of retries. Exhausted all hosts available "
                      f"for evacuating instance {ctx.server_id}.",
            max_attempts=inp.max_attempts, excluded=[plan.source_host],
            requested_host=None if inp.force else inp.host,
            force_host=inp.host if inp.force else None)

        async def try_host(claim: ClaimResult, attempt: int) -> str:
            host = claim.host
            try:
                self._source = plan.source_host
                await bind_ports(self.steps, ctx, host)
                with self.steps.step("compute_rebuild_instance", host=host,
                                     where=f"spawn on {host} (attempt {attempt})") as step:
                    spawned: SpawnResult = await on_host(
                        HostActivities.spawn,
                        _with_volumes(spawn_input(ctx, plan, flavor), volumes),
                        host, inp.timeouts, summary=step.summary, wait_cancel=False)
                    power_state = spawned.power_state
                    if not power_on:
                        off: PowerActionResult = await on_host(
                            HostPowerActivities.power_off,
                            PowerActionInput(server_id=ctx.server_id, shutdown_timeout_s=0),
                            host, inp.timeouts, summary=f"power_off on {host}")
                        power_state = off.power_state
                    step.details = f"image {plan.image.id}"
            except ActivityError as exc:
                raise HostRejected(failure_message(exc), failure_type(exc)) from exc
            self.steps.at("finish_evacuation")
            await control(EvacuateActivities.finish_evacuation, FinishMoveInput(
                ctx=ctx, migration_id=inp.migration_id, host=host,
                power_state=power_state if power_on else PowerState.SHUTDOWN,
                events=self.steps.take()), summary=f"finish_evacuation on {host}")
            self.steps.at("done")
            return host

        async def release(claim: ClaimResult, why: HostRejected) -> None:
            if why.error_type != errors.HOST_UNAVAILABLE:
                await best_effort(self.steps, HostActivities.destroy_domain,
                                  DestroyInput(server_id=ctx.server_id), claim.host,
                                  inp.timeouts, quiet=True)
            else:  # its worker is gone: destroy whatever a late spawn left when it returns
                await control(HostStateActivities.queue_host_cleanup, QueueHostCleanupInput(
                    ctx=ctx, host=claim.host, reason=f"the evacuation gave up: {why.why}"),
                    summary=f"queue_host_cleanup on {claim.host}")
            await control(MigrationActivities.release_migration_claim,
                          ReleaseMigrationClaimInput(ctx=ctx, migration_id=inp.migration_id,
                                                     dest_host=claim.host),
                          summary=f"release_migration_claim on {claim.host}")

        return await place(self.steps, placement, try_host, release)


def _with_volumes(spawn, volumes):
    spawn.volumes = list(volumes)
    return spawn
