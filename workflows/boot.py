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
    from activities.build_lookups import BuildLookupActivities
    from activities.catalog import CatalogActivities
    from activities.host_reports import HostStateActivities
    from activities.hypervisor.activities import HostActivities
    from activities.hypervisor.fencing import CLAIMED_HOST_QUERY
    from activities.hypervisor.volume_hotplug import HostVolumeActivities
    from activities.identity import IdentityActivities
    from activities.instances import InstanceActivities
    from activities.network import NetworkActivities
    from activities.scheduler.activities import SchedulerActivities
    from activities.types import external_events
    from activities.types.catalog import (
        AllocateNetworkInput,
        AttachVolumesInput,
        BlockDeviceSpec,
        BuildLookupsInput,
        ImageInfo,
        LookupInput,
        ReserveVolumesInput,
        ReserveVolumesResult,
    )
    from activities.types.context import OpContext
    from activities.types.hypervisor import ClaimedHost, DestroyInput, SpawnInput, SpawnResult
    from activities.types.identity import CheckTokenInput
    from activities.types.instances import (
        MarkActiveInput,
        QueueHostCleanupInput,
        RecordEventsInput,
        SetErrorInput,
    )
    from activities.types.scheduling import ClaimInput, ClaimResult, ReleaseClaimInput
    from activities.volumes import VolumeActivities
    from novaflow import errors

from workflows.common import (
    HOST,
    HOST_CLEANUP_RETRY,
    OpTimeouts,
    control,
    failure_message,
    failure_type,
    on_host,
)
from workflows.scheduling import HostRejected, Placement, place
from workflows.steps import StepTracking


@dataclass
class BootServerInput:
    ctx: OpContext
    name: str
    flavor_ref: str
    image_ref: str
    network_ids: list[str] = field(default_factory=list)
    port_ids: list[str] = field(default_factory=list)  # pre-created ports (networks: [{port}])
    availability_zone: str | None = None
    force_host: str | None = None
    scheduler_hints: dict[str, Any] = field(default_factory=dict)
    max_attempts: int = 3
    timeouts: OpTimeouts = field(default_factory=OpTimeouts)
    # Volumes to reserve and attach; with a boot_index 0 volume, image_ref may be "".
    block_devices: list[BlockDeviceSpec] = field(default_factory=list)
    # Nova's vif_plugging_timeout (0: do not wait) and vif_plugging_is_fatal.
    vif_plugging_timeout: float = 0
    vif_plugging_is_fatal: bool = True
    # The image as the API checked it (Nova's API puts it in the request
    # spec): the build does not ask Glance again.  None: it looks it up.
    image: ImageInfo | None = None


@dataclass
class BootServerResult:
    server_id: str
    host: str
    attempts: int
    tried_hosts: list[str]


class BuildFailed(Exception):
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
        self._host: str | None = None  # the last host claimed: a clean-up destroys there
        self._claimed = ClaimedHost(host=None, attempt=0)
        self._plugged: set[str] = set()  # ports whose network-vif-plugged came
        self._vif_failed: set[str] = set()
        self._has_volumes = False  # the build asked for volumes: a failure releases them

    @workflow.signal(name=external_events.SIGNAL)
    def external_event(self, event: external_events.ExternalEvent) -> None:
        """An event from os-server-external-events (e.g. Neutron's vif-plugged)."""
        if event.name == "network-vif-plugged":
            (self._plugged if event.status != "failed" else self._vif_failed).add(event.tag)

    @workflow.query(name=CLAIMED_HOST_QUERY)
    def claimed_host(self) -> ClaimedHost:
        """The host and attempt the build stands on now (none once it gave the
        host up, failed or was deleted): hosts fence late spawns with it."""
        return self._claimed

    @workflow.run
    async def run(self, inp: BootServerInput) -> BootServerResult:
        ctx = inp.ctx
        try:
            return await asyncio.wait_for(self._build(inp),
                                          timeout=inp.timeouts.build_timeout_s)
        except BuildFailed as exc:
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
            self.steps.at("cancelled: cleaning up")
            await self._cleanup(ctx, inp.timeouts)
            raise
        raise AssertionError("unreachable")

    async def _build(self, inp: BootServerInput) -> BootServerResult:
        ctx = inp.ctx
        try:
            if workflow.patched("boot-one-lookup"):
                flavor, image, networks = await self._lookups(inp)
            else:
                with self.steps.step("check_token"):
                    await control(IdentityActivities.check_token, CheckTokenInput(ctx=ctx),
                                  summary="check_token")
                with self.steps.step("lookups") as step:
                    flavor, image, networks = await asyncio.gather(
                        control(CatalogActivities.get_flavor,
                                LookupInput(ctx=ctx, ref=inp.flavor_ref),
                                summary=f"get_flavor {inp.flavor_ref}"),
                        self._get_image(inp),
                        control(CatalogActivities.get_networks,
                                LookupInput(ctx=ctx, ref="", refs=inp.network_ids,
                                            ports=inp.port_ids),
                                summary="get_networks"),
                    )
                    step.details = f"flavor {flavor.name}, image {image.name}"
            volumes: ReserveVolumesResult | None = None
            if inp.block_devices:
                self._has_volumes = True
                self.steps.at("reserve_volumes")
                volumes = await control(VolumeActivities.reserve_volumes,
                                        ReserveVolumesInput(ctx=ctx,
                                                            block_devices=inp.block_devices),
                                        summary="reserve_volumes")
                if volumes.boot_from_volume:
                    # The root disk is the volume: nothing to claim on the host's disk.
                    flavor = dataclasses.replace(flavor, root_gb=0)
                    image = volumes.image or image
        except ActivityError as exc:
            raise BuildFailed(failure_type(exc) or errors.INVALID_REQUEST,
                              failure_message(exc)) from exc

        placement = Placement(
            ctx=ctx, flavor=flavor, image=image, claim_step="claim_resources",
            claim=lambda hosts, summary: control(
                SchedulerActivities.claim_resources,
                ClaimInput(ctx=ctx, consumer_id=ctx.server_id, flavor=flavor, candidates=hosts,
                           group_uuid=inp.scheduler_hints.get("group")), summary=summary),
            fail=BuildFailed,
            exhausted="Exceeded maximum number of retries. Exhausted all hosts available for "
                      f"retrying build failures for instance {ctx.server_id}.",
            max_attempts=inp.max_attempts, availability_zone=inp.availability_zone,
            scheduler_hints=inp.scheduler_hints, force_host=inp.force_host)

        async def try_host(claim: ClaimResult, attempt: int) -> BootServerResult:
            self._host = claim.host
            self._claimed = ClaimedHost(host=claim.host, attempt=attempt)
            workflow.upsert_search_attributes([HOST.value_set(claim.host)])
            spawned = await self._spawn(inp, claim.host, attempt, flavor, image, networks,
                                        volumes)
            if volumes and volumes.disks:
                self.steps.at("attach_volumes")
                connector: dict = {}
                if workflow.patched("boot-host-volume-connector"):
                    # The host's own connector for Cinder (os-brick's, in Nova).
                    try:
                        connector = await on_host(HostVolumeActivities.volume_connector,
                                                  ctx.server_id, claim.host, inp.timeouts,
                                                  summary=f"volume_connector on {claim.host}")
                    except ActivityError:
                        connector = {}  # a host that cannot tell: the activity's default
                await control(VolumeActivities.attach_volumes,
                              AttachVolumesInput(ctx=ctx, host=claim.host, disks=volumes.disks,
                                                 connector=connector),
                              summary=f"attach_volumes on {claim.host}")
            self.steps.at("mark_active")
            await control(InstanceActivities.mark_active,
                          MarkActiveInput(ctx=ctx, host=claim.host, node_uuid=claim.node_uuid,
                                          power_state=spawned.power_state,
                                          events=self.steps.take()),
                          summary=f"mark_active on {claim.host}")
            self.steps.at("done")
            return BootServerResult(server_id=ctx.server_id, host=claim.host,
                                    attempts=attempt, tried_hosts=list(tried))

        tried: list[str] = []

        async def release(claim: ClaimResult, why: HostRejected) -> None:
            tried.append(claim.host)
            self._claimed = ClaimedHost(host=None, attempt=self._claimed.attempt)
            # A host whose worker is gone cannot run a destroy: do not wait on it,
            # but have it destroy whatever a late spawn left when it returns.
            unavailable = why.error_type == errors.HOST_UNAVAILABLE
            if unavailable and workflow.patched("boot-queue-cleanup-on-lost-host"):
                await control(HostStateActivities.queue_host_cleanup,
                              QueueHostCleanupInput(ctx=ctx, host=claim.host,
                                                    reason="the build gave this host up: "
                                                    + why.why),
                              summary=f"queue_host_cleanup on {claim.host}")
            await self._release(ctx, claim.host, timeouts=inp.timeouts, build_failed=True,
                                destroy=not unavailable)

        return await place(self.steps, placement, try_host, release)

    async def _spawn(self, inp: BootServerInput, host: str, attempt: int, flavor, image,
                     networks, volumes: ReserveVolumesResult | None) -> SpawnResult:
        """Ports, then the domain on ``host``; a host that fails is HostRejected."""
        ctx = inp.ctx
        self.steps.at(f"allocate_network (attempt {attempt})")
        # Events for this attempt's bindings only (a rescheduled port binds anew).
        self._plugged.clear()
        self._vif_failed.clear()
        try:
            # The steps timed so far are written in the same transaction.
            net = await control(NetworkActivities.allocate_network,
                                AllocateNetworkInput(
                                    ctx=ctx, networks=networks, events=self.steps.take(),
                                    host=host, availability_zone=inp.availability_zone or ""),
                                summary="allocate_network")
        except ActivityError as exc:
            await self._release(ctx, host)
            raise BuildFailed(failure_type(exc) or errors.NETWORK_ALLOCATION_FAILED,
                              failure_message(exc)) from exc
        # allocate_network recorded its own event and everything before it.
        if self.steps.pending:
            await control(InstanceActivities.record_events,
                          RecordEventsInput(ctx=ctx, events=self.steps.take()),
                          summary="record_events")
        try:
            with self.steps.step(f"spawn (attempt {attempt})", host=host,
                                 where=f"spawn on {host} (attempt {attempt})") as step:
                spawned: SpawnResult = await on_host(
                    HostActivities.spawn,
                    SpawnInput(server_id=ctx.server_id, name=inp.name,
                               project_id=ctx.project_id, flavor=flavor, image=image,
                               ports=net.ports, volumes=volumes.disks if volumes else [],
                               attempt=attempt),
                    host, inp.timeouts, summary=f"spawn on {host}, attempt {attempt}",
                    # On cancel (delete, build timeout) stop waiting at once: the
                    # clean-up's destroy runs on the same host, which serialises it
                    # behind a spawn still running there.
                    wait_cancel=False)
                step.details = spawned.domain_name
        except ActivityError as exc:
            raise HostRejected(failure_message(exc), failure_type(exc)) from exc
        if net.ports and inp.vif_plugging_timeout > 0 \
                and workflow.patched("boot-wait-vif-plugged"):
            await self._wait_vif_plugged(inp, host, attempt, [p.id for p in net.ports])
        return spawned

    async def _wait_vif_plugged(self, inp: BootServerInput, host: str, attempt: int,
                                port_ids: list[str]) -> None:
        """Nova's wait for network-vif-plugged of every port: on timeout (or a
        failed event) the host is given up if vif_plugging_is_fatal, else the
        build goes on."""
        event = f"wait_vif_plugged (attempt {attempt})"
        self.steps.at(event)
        start = workflow.now()
        try:
            await workflow.wait_condition(
                lambda: set(port_ids) <= self._plugged or bool(self._vif_failed),
                timeout=inp.vif_plugging_timeout)
            ok = not self._vif_failed
        except TimeoutError:
            ok = False
        details = ("plugged: " + ", ".join(port_ids) if ok else
                   f"not plugged within {inp.vif_plugging_timeout:g}s: "
                   + ", ".join(sorted(set(port_ids) - self._plugged)))
        if ok or not inp.vif_plugging_is_fatal:
            self.steps.record(event, start, host=host, details=details)
            return
        message = f"Virtual Interface creation failed ({details})"
        self.steps.record(event, start, "Error", host, message)
        raise HostRejected(message, errors.SPAWN_FAILED)

    async def _lookups(self, inp: BootServerInput) -> tuple[Any, ImageInfo, Any]:
        """The token check and the lookups in one local activity; the events
        check_token and lookups are recorded as before (a failed token check
        under check_token, a failed lookup under lookups)."""
        start = workflow.now()
        self.steps.at("check_token, lookups")
        try:
            found = await control(
                BuildLookupActivities.build_lookups,
                BuildLookupsInput(ctx=inp.ctx, flavor_ref=inp.flavor_ref,
                                  image_ref=inp.image_ref, network_ids=inp.network_ids,
                                  port_ids=inp.port_ids, image=inp.image),
                summary=f"check_token, get_flavor {inp.flavor_ref}, "
                        f"get_image {inp.image_ref or '(none)'}, get_networks")
        except ActivityError as exc:
            token = failure_type(exc) in (errors.INVALID_TOKEN, "KeystoneUnavailable")
            if not token:
                self.steps.record("check_token", start)
            self.steps.record("check_token" if token else "lookups", start, "Error",
                              details=failure_message(exc))
            raise
        self.steps.record("check_token", start)
        self.steps.record("lookups", start,
                          details=f"flavor {found.flavor.name}, image {found.image.name}")
        return found.flavor, found.image, found.networks

    async def _get_image(self, inp: BootServerInput) -> ImageInfo:
        """The image to boot; a volume-backed server may have none (its volume's comes later)."""
        if not inp.image_ref:
            return ImageInfo(id="", name="")
        return await control(CatalogActivities.get_image,
                             LookupInput(ctx=inp.ctx, ref=inp.image_ref),
                             summary=f"get_image {inp.image_ref}")

    async def _release(self, ctx: OpContext, host: str, destroy: bool = False,
                       timeouts: OpTimeouts | None = None, build_failed: bool = False) -> None:
        if destroy and timeouts is not None:
            try:
                await on_host(HostActivities.destroy_domain,
                              DestroyInput(server_id=ctx.server_id), host,
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
        self._claimed = ClaimedHost(host=None, attempt=self._claimed.attempt)
        if self._host:
            try:
                await on_host(HostActivities.destroy_domain,
                              DestroyInput(server_id=ctx.server_id), self._host, timeouts,
                              retry=HOST_CLEANUP_RETRY,
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
        self.steps.at(f"failed: {error_type}")
        self._claimed = ClaimedHost(host=None, attempt=self._claimed.attempt)
        if cleanup:
            await control(SchedulerActivities.release_claim,
                          ReleaseClaimInput(ctx=ctx, consumer_id=ctx.server_id),
                          summary="release all claims")
            await control(NetworkActivities.deallocate_network, ctx,
                          summary="deallocate_network")
            if self._has_volumes and workflow.patched("boot-release-volumes-on-failure"):
                # Nova's _cleanup_volumes after a build that will not go on: the
                # attachments deleted, the delete_on_termination volumes too.
                await control(VolumeActivities.release_volumes, ctx,
                              summary="release_volumes")
        code = 500
        await control(InstanceActivities.set_error,
                      SetErrorInput(ctx=ctx, message=message, code=code,
                                    details=json.dumps(details, default=str)[:8000],
                                    error_type=error_type, events=self.steps.take()),
                      summary=f"set_error {error_type}")
        raise ApplicationError(message, *details, type=error_type, non_retryable=True)


# Keep the workflow's wall-clock budget out of the sandbox's reach.
_ = timedelta
