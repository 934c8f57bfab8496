"""BootServerWorkflow: token check, lookups, schedule, claim, network, spawn.

Workflow id ``boot-<server uuid>``.  A spawn that fails on its host (an error
from the hypervisor, or a worker that never picks the task up) releases that
claim and reschedules with the host excluded, up to ``max_attempts``.  Any
terminal failure releases every claim and port and leaves the server in
ERROR with a fault saying why; the workflow then fails with an
ApplicationError whose type names the failure.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.catalog import CatalogActivities
    from activities.host_reports import HostStateActivities
    from activities.identity import IdentityActivities
    from activities.instances import InstanceActivities
    from activities.network import NetworkActivities
    from activities.scheduler.activities import SchedulerActivities
    from activities.types.catalog import (
        AllocateNetworkInput,
        AttachVolumesInput,
        BlockDeviceSpec,
        ImageInfo,
        LookupInput,
        ReserveVolumesInput,
        ReserveVolumesResult,
    )
    from activities.types.context import OpContext
    from activities.types.hypervisor import DestroyInput, SpawnInput, SpawnResult
    from activities.types.identity import CheckTokenInput
    from activities.types.instances import (
        MarkActiveInput,
        QueueHostCleanupInput,
        RecordEventsInput,
        SetErrorInput,
    )
    from activities.types.scheduling import ClaimInput, ReleaseClaimInput, SelectDestinationsInput
    from activities.volumes import VolumeActivities
    from novaflow import errors

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

# How many times a build re-selects after its claims lost races to other
# builds, before it gives up with NoValidHost.
CLAIM_ROUNDS = 20


@dataclass
class BootServerInput:
    ctx: OpContext
    name: str
    flavor_ref: str
    image_ref: str
    network_ids: list[str] = field(default_factory=list)
    availability_zone: str | None = None
    force_host: str | None = None
    scheduler_hints: dict[str, Any] = field(default_factory=dict)
    max_attempts: int = 3
    timeouts: OpTimeouts = field(default_factory=OpTimeouts)
    # Volumes to reserve and attach; with a boot_index 0 volume, image_ref may be "".
    block_devices: list[BlockDeviceSpec] = field(default_factory=list)


@dataclass
class BootServerResult:
    server_id: str
    host: str
    attempts: int
    tried_hosts: list[str]


class _BuildFailed(Exception):
    """A terminal build failure, carried to the clean-up in ``run``."""

    def __init__(self, error_type: str, message: str, details: list[Any] | None = None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.details = details or []


@workflow.defn(name="BootServerWorkflow")
class BootServerWorkflow(StepTracking):
    def __init__(self) -> None:
        super().__init__()
        self._host: str | None = None
        self._attempt = 0

    @workflow.run
    async def run(self, inp: BootServerInput) -> BootServerResult:
        ctx = inp.ctx
        try:
            return await asyncio.wait_for(self._build(inp),
                                          timeout=inp.timeouts.build_timeout_s)
        except _BuildFailed as exc:
            await self._fail(ctx, exc.error_type, exc.message, exc.details)
        except TimeoutError:
            # ERROR at once (the user sees the timeout when it happens), then undo
            # the build, which may have to wait for a hung host step to end.
            try:
                await self._fail(ctx, errors.BUILD_TIMEOUT,
                                 f"Build of instance {ctx.server_id} timed out after "
                                 f"{inp.timeouts.build_timeout_s:g} seconds", [],
                                 cleanup=False)
            finally:
                await self._cleanup(ctx, inp.timeouts)
        except ActivityError:
            # A step outside the build's own error handling failed (e.g. mark_active
            # refused because a delete took the server over): undo, then fail.
            await self._cleanup(ctx, inp.timeouts)
            raise
        except asyncio.CancelledError:
            # Deleted while building: undo what this build did, then stop.
            self._step = "cancelled: cleaning up"
            await self._cleanup(ctx, inp.timeouts)
            raise
        raise AssertionError("unreachable")

    async def _build(self, inp: BootServerInput) -> BootServerResult:
        ctx = inp.ctx
        t = workflow.now()
        self._step = "check_token"
        try:
            await control(IdentityActivities.check_token, CheckTokenInput(ctx=ctx),
                          summary="check_token")
            self._log.add("check_token", t)
            t = workflow.now()
            self._step = "lookups"
            flavor, image, networks = await asyncio.gather(
                control(CatalogActivities.get_flavor, LookupInput(ctx=ctx, ref=inp.flavor_ref),
                        summary=f"get_flavor {inp.flavor_ref}"),
                self._get_image(inp),
                control(CatalogActivities.get_networks,
                        LookupInput(ctx=ctx, ref="", refs=inp.network_ids),
                        summary="get_networks"),
            )
            self._log.add("lookups", t, details=f"flavor {flavor.name}, image {image.name}")
            volumes: ReserveVolumesResult | None = None
            if inp.block_devices:
                t = workflow.now()
                self._step = "reserve_volumes"
                volumes = await control(VolumeActivities.reserve_volumes,
                                        ReserveVolumesInput(ctx=ctx,
                                                            block_devices=inp.block_devices),
                                        summary="reserve_volumes")
                if volumes.boot_from_volume:
                    # The root disk is the volume: nothing to claim on the host's disk.
                    flavor = dataclasses.replace(flavor, root_gb=0)
                    image = volumes.image or image
        except ActivityError as exc:
            raise _BuildFailed(failure_type(exc) or errors.INVALID_REQUEST,
                               failure_message(exc)) from exc

        tried: list[str] = []
        attempt_errors: list[str] = []
        group_uuid = inp.scheduler_hints.get("group")
        for attempt in range(1, inp.max_attempts + 1):
            self._attempt = attempt
            claim = await self._schedule_and_claim(inp, flavor, image, tried, attempt,
                                                   attempt_errors, group_uuid)
            self._host = claim.host
            workflow.upsert_search_attributes([HOST.value_set(claim.host)])

            t = workflow.now()
            self._step = f"allocate_network (attempt {attempt})"
            try:
                # The steps timed so far are written in the same transaction.
                net = await control(NetworkActivities.allocate_network,
                                    AllocateNetworkInput(ctx=ctx, networks=networks,
                                                         events=self._log.take()),
                                    summary="allocate_network")
            except ActivityError as exc:
                await self._release(ctx, claim.host)
                raise _BuildFailed(failure_type(exc) or errors.NETWORK_ALLOCATION_FAILED,
                                   failure_message(exc)) from exc
            # allocate_network recorded its own event and everything before it.
            if self._log.pending:
                await control(InstanceActivities.record_events,
                              RecordEventsInput(ctx=ctx, events=self._log.take()),
                              summary="record_events")

            t = workflow.now()
            self._step = f"spawn on {claim.host} (attempt {attempt})"
            try:
                spawned: SpawnResult = await on_host(
                    "spawn",
                    SpawnInput(server_id=ctx.server_id, name=inp.name,
                               project_id=ctx.project_id, flavor=flavor,
                               image=ImageInfo(**image.__dict__) if not isinstance(
                                   image, ImageInfo) else image,
                               ports=net.ports, volumes=volumes.disks if volumes else []),
                    claim.host, inp.timeouts, result_type=SpawnResult,
                    summary=f"spawn on {claim.host}, attempt {attempt}",
                    # On cancel (delete, build timeout) stop waiting at once: the
                    # clean-up's destroy runs on the same host, which serialises it
                    # behind a spawn still running there.
                    wait_cancel=False)
            except ActivityError as exc:
                why = failure_message(exc)
                self._log.add(f"spawn (attempt {attempt})", t, result="Error",
                              host=claim.host, details=why)
                attempt_errors.append(f"attempt {attempt} on {claim.host}: {why}")
                tried.append(claim.host)
                self._step = f"rescheduling after {claim.host} failed"
                # A host whose worker is gone cannot run a destroy: do not wait on it.
                await self._release(ctx, claim.host, timeouts=inp.timeouts, build_failed=True,
                                    destroy=failure_type(exc) != errors.HOST_UNAVAILABLE)
                continue
            self._log.add(f"spawn (attempt {attempt})", t, host=claim.host,
                          details=spawned.domain_name)
            if volumes and volumes.disks:
                self._step = "attach_volumes"
                await control(VolumeActivities.attach_volumes,
                              AttachVolumesInput(ctx=ctx, host=claim.host, disks=volumes.disks),
                              summary=f"attach_volumes on {claim.host}")
            self._step = "mark_active"
            await control(InstanceActivities.mark_active,
                          MarkActiveInput(ctx=ctx, host=claim.host, node_uuid=claim.node_uuid,
                                          power_state=spawned.power_state,
                                          events=self._log.take()),
                          summary=f"mark_active on {claim.host}")
            self._step = "done"
            return BootServerResult(server_id=ctx.server_id, host=claim.host,
                                    attempts=attempt, tried_hosts=tried)
        raise _BuildFailed(errors.MAX_RETRIES_EXCEEDED,
                           self._max_retries_message(ctx, attempt_errors),
                           [{"tried_hosts": tried, "attempts": attempt_errors}])

    async def _get_image(self, inp: BootServerInput) -> ImageInfo:
        """The image to boot; a volume-backed server may have none (its volume's comes later)."""
        if not inp.image_ref:
            return ImageInfo(id="", name="")
        return await control(CatalogActivities.get_image,
                             LookupInput(ctx=inp.ctx, ref=inp.image_ref),
                             summary=f"get_image {inp.image_ref}")

    @staticmethod
    def _max_retries_message(ctx: OpContext, attempt_errors: list[str]) -> str:
        return (f"Exceeded maximum number of retries. Exhausted all hosts available for "
                f"retrying build failures for instance {ctx.server_id}. "
                + "; ".join(attempt_errors))

    async def _schedule_and_claim(self, inp: BootServerInput, flavor, image, tried: list[str],
                                  attempt: int, attempt_errors: list[str],
                                  group_uuid: str | None):
        """select_destinations then claim_resources for one attempt.

        A claim that loses a race (the hosts filled up, or a group member
        landed first) selects again with fresh usage; that is not a failed
        attempt.  NoValidHost after a failed attempt is MaxRetriesExceeded.
        """
        ctx = inp.ctx
        for round_ in range(1, CLAIM_ROUNDS + 1):
            t = workflow.now()
            self._step = f"select_destinations (attempt {attempt})"
            try:
                selection = await control(
                    SchedulerActivities.select_destinations,
                    SelectDestinationsInput(
                        ctx=ctx, flavor=flavor, image=image,
                        availability_zone=inp.availability_zone,
                        scheduler_hints=inp.scheduler_hints, ignore_hosts=list(tried),
                        force_host=inp.force_host,
                        num_alternates=inp.max_attempts - attempt),
                    summary=f"select_destinations, attempt {attempt}")
            except ActivityError as exc:
                self._log.add("select_destinations", t, result="Error",
                              details=failure_message(exc))
                if attempt > 1 and failure_type(exc) == errors.NO_VALID_HOST:
                    attempt_errors.append(f"attempt {attempt}: {failure_message(exc)}")
                    raise _BuildFailed(errors.MAX_RETRIES_EXCEEDED,
                                       self._max_retries_message(ctx, attempt_errors),
                                       failure_details(exc)) from exc
                raise _BuildFailed(failure_type(exc) or errors.NO_VALID_HOST,
                                   failure_message(exc), failure_details(exc)) from exc
            self._log.add("select_destinations", t,
                          details="candidates: " + ", ".join(selection.hosts))
            t = workflow.now()
            self._step = f"claim_resources (attempt {attempt})"
            try:
                claim = await control(
                    SchedulerActivities.claim_resources,
                    ClaimInput(ctx=ctx, consumer_id=ctx.server_id, flavor=flavor,
                               candidates=selection.hosts, group_uuid=group_uuid),
                    summary=f"claim_resources, attempt {attempt}"
                            + (f", round {round_}" if round_ > 1 else ""))
            except ActivityError as exc:
                self._log.add("claim_resources", t, result="Error",
                              details=failure_message(exc))
                if failure_type(exc) != errors.CLAIM_CONFLICT:
                    raise _BuildFailed(failure_type(exc) or errors.NO_VALID_HOST,
                                       failure_message(exc)) from exc
                continue
            self._log.add("claim_resources", t, host=claim.host)
            return claim
        raise _BuildFailed(errors.NO_VALID_HOST,
                           f"No valid host was found. Claims kept losing races after "
                           f"{CLAIM_ROUNDS} selections.")

    async def _release(self, ctx: OpContext, host: str, destroy: bool = False,
                       timeouts: OpTimeouts | None = None, build_failed: bool = False) -> None:
        if destroy and timeouts is not None:
            try:
                await on_host("destroy_domain", DestroyInput(server_id=ctx.server_id), host,
                              timeouts, retry=HOST_CLEANUP_RETRY,
                              summary=f"destroy_domain on {host}")
            except ActivityError:
                pass  # the spawn left nothing behind by contract; best effort
        await control(SchedulerActivities.release_claim,
                      ReleaseClaimInput(ctx=ctx, consumer_id=ctx.server_id, host=host,
                                        build_failed=build_failed),
                      summary=f"release_claim on {host}")
        await control(NetworkActivities.deallocate_network, ctx, summary="deallocate_network")

    async def _cleanup(self, ctx: OpContext, timeouts: OpTimeouts) -> None:
        """Undo everything the build may have done, wherever it stopped."""
        if self._host:
            try:
                await on_host("destroy_domain", DestroyInput(server_id=ctx.server_id),
                              self._host, timeouts, retry=HOST_CLEANUP_RETRY,
                              summary=f"destroy_domain on {self._host}")
            except ActivityError as exc:
                # The host is away (or refused): its monitor destroys the domain when
                # it reports again, so a delete need not wait for this host too.
                await control(HostStateActivities.queue_host_cleanup,
                              QueueHostCleanupInput(ctx=ctx, host=self._host,
                                                    reason="build clean-up: "
                                                    + failure_message(exc)),
                              summary=f"queue_host_cleanup on {self._host}")
        await control(SchedulerActivities.release_claim,
                      ReleaseClaimInput(ctx=ctx, consumer_id=ctx.server_id),
                      summary="release all claims")
        await control(NetworkActivities.deallocate_network, ctx, summary="deallocate_network")

    async def _fail(self, ctx: OpContext, error_type: str, message: str, details: list[Any],
                    cleanup: bool = True) -> None:
        self._step = f"failed: {error_type}"
        if cleanup:
            await control(SchedulerActivities.release_claim,
                          ReleaseClaimInput(ctx=ctx, consumer_id=ctx.server_id),
                          summary="release all claims")
            await control(NetworkActivities.deallocate_network, ctx,
                          summary="deallocate_network")
        code = 500
        await control(InstanceActivities.set_error,
                      SetErrorInput(ctx=ctx, message=message, code=code,
                                    details=json.dumps(details, default=str)[:8000],
                                    error_type=error_type, events=self._log.take()),
                      summary=f"set_error {error_type}")
        raise ApplicationError(message, *details, type=error_type, non_retryable=True)


# Keep the workflow's wall-clock budget out of the sandbox's reach.
_ = timedelta
