"""Fake activities for workflow tests, in the style of the Temporal samples:
each fake is registered under the real activity's name, with the real
method's argument and result types, on a fresh task queue per test.

``Cloud`` is the control plane and the hosts as a test scripts them: every
call is recorded as (activity name, host or None, argument); a test sets
``cloud.on[name]`` (control plane) or ``cloud.on_host[host][name]`` to a
function of the argument that returns a result or raises.  Anything not
scripted answers a sensible default, so a test states only what it is about.
"""

from __future__ import annotations

import asyncio
import inspect
import typing
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.build_lookups import BuildLookupActivities
from activities.catalog import CatalogActivities
from activities.day2 import Day2Activities
from activities.evacuate import EvacuateActivities
from activities.host_reports import HostStateActivities
from activities.hypervisor.activities import HostActivities
from activities.hypervisor.day2 import HostDay2Activities
from activities.hypervisor.interface_hotplug import HostInterfaceActivities
from activities.hypervisor.moves import HostMoveActivities
from activities.hypervisor.power import HostPowerActivities
from activities.hypervisor.rescue import HostRescueActivities
from activities.hypervisor.snapshot import HostSnapshotActivities
from activities.hypervisor.volume_hotplug import HostVolumeActivities
from activities.identity import IdentityActivities
from activities.instances import InstanceActivities
from activities.interface_attach import InterfaceAttachActivities
from activities.migrations import MigrationActivities
from activities.network import NetworkActivities
from activities.rebuild import RebuildActivities
from activities.rescue import RescueActivities
from activities.scheduler.activities import SchedulerActivities
from activities.shelve import ShelveActivities
from activities.temporal_ops import TemporalActivities
from activities.types.catalog import (
    AllocateNetworkResult,
    BindPortsResult,
    BuildLookupsInput,
    BuildLookupsResult,
    FlavorInfo,
    ImageInfo,
    LookupInput,
    NetworkInfo,
    PortInfo,
)
from activities.types.day2 import RebuildPlan
from activities.types.hypervisor import PowerActionResult, SpawnResult
from activities.types.identity import CheckTokenInput
from activities.types.instances import DeleteTargets
from activities.types.moves import HostCapabilities, LiveMigrateData, MigrationPlan
from activities.types.scheduling import ClaimResult, SelectDestinationsResult
from activities.types.snapshot import FinishSnapshotResult, SnapshotDomainResult
from activities.volume_attach import VolumeAttachActivities
from activities.volumes import VolumeActivities
from novaflow import errors
from novaflow.queues import host_queue
from novaflow.states import VmState
from workers.control import SANDBOXED_RUNNER
from workflows.boot import BootServerWorkflow
from workflows.delete import DeleteServerWorkflow
from workflows.evacuate import EvacuateServerWorkflow
from workflows.guest_action import GuestActionWorkflow
from workflows.interface_attach import AttachInterfaceWorkflow, DetachInterfaceWorkflow
from workflows.live_migrate import LiveMigrateServerWorkflow
from workflows.power import PowerActionWorkflow
from workflows.rebuild import RebuildServerWorkflow
from workflows.rescue import RescueServerWorkflow, UnrescueServerWorkflow
from workflows.resize import ResizeServerWorkflow
from workflows.shelve import (
    ShelveOffloadWorkflow,
    ShelveServerWorkflow,
    UnshelveServerWorkflow,
)
from workflows.snapshot import SnapshotServerWorkflow
from workflows.soft_delete import SoftDeleteServerWorkflow
from workflows.volume_attach import (
    AttachVolumeWorkflow,
    DetachVolumeWorkflow,
    SwapVolumeWorkflow,
)

WORKFLOWS = [BootServerWorkflow, DeleteServerWorkflow, ResizeServerWorkflow,
             LiveMigrateServerWorkflow, PowerActionWorkflow, GuestActionWorkflow,
             RebuildServerWorkflow, SoftDeleteServerWorkflow]
WORKFLOWS += [SnapshotServerWorkflow, ShelveServerWorkflow, ShelveOffloadWorkflow,
              UnshelveServerWorkflow, EvacuateServerWorkflow, RescueServerWorkflow,
              UnrescueServerWorkflow, AttachVolumeWorkflow, DetachVolumeWorkflow,
              SwapVolumeWorkflow, AttachInterfaceWorkflow, DetachInterfaceWorkflow]

CONTROL = [BuildLookupActivities, CatalogActivities, HostStateActivities, IdentityActivities,
           InstanceActivities, MigrationActivities, NetworkActivities, SchedulerActivities,
           TemporalActivities, VolumeActivities, Day2Activities, RebuildActivities]
CONTROL += [ShelveActivities, EvacuateActivities, RescueActivities, VolumeAttachActivities,
            InterfaceAttachActivities]  # ShelveActivities brings the snapshot ones
HOST = [HostActivities, HostMoveActivities, HostPowerActivities, HostDay2Activities]
HOST += [HostSnapshotActivities, HostRescueActivities, HostVolumeActivities,
         HostInterfaceActivities]

TINY = FlavorInfo(flavorid="1", name="m1.tiny", vcpus=1, memory_mb=512, root_gb=1)
SMALL = FlavorInfo(flavorid="2", name="m1.small", vcpus=1, memory_mb=2048, root_gb=20)
IMAGE = ImageInfo(id="img-1", name="cirros")


async def hang_until_cancelled() -> None:
    """A host step still running when the test cancels its workflow."""
    await asyncio.Event().wait()


async def heartbeat_until_cancelled() -> None:
    """A host step still running when its workflow is cancelled, for steps the
    workflow waits on until they end (the cancellation reaches an activity
    with its heartbeat's answer: run these with a short host_heartbeat_s)."""
    while True:
        activity.heartbeat()
        await asyncio.sleep(0.05)


def conflict(what: str = "the host's usage changed") -> ApplicationError:
    return ApplicationError(what, type=errors.CLAIM_CONFLICT, non_retryable=True)


def no_valid_host(what: str = "No valid host was found.") -> ApplicationError:
    return ApplicationError(what, type=errors.NO_VALID_HOST, non_retryable=True)


def failed(what: str, kind: str = errors.SPAWN_FAILED) -> ApplicationError:
    return ApplicationError(what, type=kind, non_retryable=True)


def _activity_methods(classes: list[type]) -> list[Callable[..., Any]]:
    """Each activity of the classes once (subclasses inherit their base's)."""
    out: dict[str, Callable[..., Any]] = {}
    for cls in classes:
        for _name, fn in inspect.getmembers(cls, inspect.isfunction):
            defn = activity._Definition.from_callable(fn)
            if defn is not None:
                out.setdefault(defn.name, fn)
    return list(out.values())


@dataclass
class Cloud:
    """A scripted control plane and hosts; see the module docstring."""

    hosts: list[str]
    on: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    on_host: dict[str, dict[str, Callable[[Any], Any]]] = field(default_factory=dict)
    calls: list[tuple[str, str | None, Any]] = field(default_factory=list)
    plan: MigrationPlan | None = None

    # -- what happened ---------------------------------------------------------

    def called(self, name: str, host: str | None = None) -> list[Any]:
        """The arguments of every call of ``name`` (on ``host``, if given)."""
        return [arg for n, h, arg in self.calls if n == name and (host is None or h == host)]

    def names(self) -> list[str]:
        return [n for n, _h, _a in self.calls]

    def lose_claim_races(self, claim: str, times: int) -> None:
        """Make the next ``times`` calls of ``claim`` lose a race (ClaimConflict)."""
        left = [times]

        def scripted(inp: Any) -> Any:
            if left[0] > 0:
                left[0] -= 1
                raise conflict()
            return self._default(claim, None, inp)

        self.on[claim] = scripted

    # -- defaults ----------------------------------------------------------------

    def _default(self, name: str, host: str | None, arg: Any) -> Any:
        if name == "select_destinations":
            return SelectDestinationsResult(
                hosts=[h for h in self.hosts if h not in arg.ignore_hosts])
        if name in ("claim_resources", "claim_for_migration"):
            return ClaimResult(host=arg.candidates[0], node_uuid=f"node-{arg.candidates[0]}")
        if name == "get_flavor":
            return TINY
        if name == "get_image":
            return IMAGE
        if name == "get_networks":
            return [NetworkInfo(id="net-1", name="private")]
        if name == "allocate_network":
            return AllocateNetworkResult(ports=[PortInfo(
                id="port-1", network_id="net-1", network_name="private",
                ip_address="10.0.0.5", mac_address="fa:16:3e:00:00:01")])
        if name == "bind_ports":
            return BindPortsResult(ports=["port-1"], changed=1)
        if name in ("spawn", "finish_resize", "finish_revert_resize",
                    "post_live_migration_at_destination", "rebuild_domain"):
            return SpawnResult(host=host or "", domain_name="instance-1", power_state=1)
        if name in ("check_can_live_migrate_destination", "check_can_live_migrate_source"):
            return LiveMigrateData()
        if name == "live_migration_precheck":
            return HostCapabilities(host=arg.dest_host, cpu_arch="x86_64",
                                    hypervisor_type="QEMU", hypervisor_version=1)
        if name == "prepare_migration":
            return self.plan
        if name == "begin_resize_decision":
            return arg.ctx
        if name in ("release_claim", "deallocate_network"):
            return 1
        if name in ("destroy_domain", "revert_resize", "abandon_migration"):
            return name != "abandon_migration"
        if name in ("power_on", "power_off", "reboot", "pause", "unpause", "suspend", "resume",
                    "rescue_domain", "unrescue_domain"):
            return PowerActionResult(power_state=1)
        if name == "get_delete_targets":
            return DeleteTargets(hosts=[], down_hosts=[], consumer_ids=[arg.server_id],
                                 workflow_ids=[])
        if name == "prepare_rebuild":
            return RebuildPlan(name="vm1", host=self.hosts[0], vm_state=VmState.ACTIVE,
                               flavor=TINY, image=IMAGE)
        if name == "get_volume_disks":
            return []
        if name == "snapshot_domain":
            return SnapshotDomainResult(uploaded=True, size=1)
        if name == "finish_snapshot":
            return FinishSnapshotResult()
        if name == "finish_shelve":
            return True
        if name == "volume_connector":
            return {"host": host}
        if name == "connect_volume":
            return f"/dev/fake/{arg.volume_id}"
        if name == "finish_power_action":
            return True
        if name == "wait_workflow_closed":
            return "closed"
        return None

    async def _call(self, name: str, host: str | None, arg: Any) -> Any:
        self.calls.append((name, host, arg))
        script = (self.on_host.get(host, {}) if host else self.on).get(name)
        if script is None and name == "build_lookups":
            return await self._build_lookups(arg)
        if script is None:
            return self._default(name, host, arg)
        out = script(arg)
        return await out if inspect.isawaitable(out) else out

    async def _build_lookups(self, arg: BuildLookupsInput) -> BuildLookupsResult:
        """As the real one: the token check, then each lookup, each as its own
        (scripted or default) call, so a test scripts them one by one."""
        ctx = arg.ctx
        await self._call("check_token", None, CheckTokenInput(ctx=ctx))
        flavor = await self._call("get_flavor", None, LookupInput(ctx=ctx, ref=arg.flavor_ref))
        image = arg.image or (
            await self._call("get_image", None, LookupInput(ctx=ctx, ref=arg.image_ref))
            if arg.image_ref else ImageInfo(id="", name=""))
        networks = await self._call("get_networks", None, LookupInput(
            ctx=ctx, ref="", refs=arg.network_ids, ports=arg.port_ids))
        return BuildLookupsResult(flavor=flavor, image=image, networks=networks)

    # -- the fakes ---------------------------------------------------------------

    def _fake(self, method: Callable[..., Any], host: str | None) -> Callable[..., Any]:
        name = activity._Definition.from_callable(method).name
        hints = typing.get_type_hints(method)
        params = [p for p in inspect.signature(method).parameters if p != "self"]

        async def fake(*args: Any) -> Any:
            return await self._call(name, host, args[0] if args else None)

        fake.__annotations__ = {f"a{i}": hints.get(p, Any) for i, p in enumerate(params)}
        fake.__annotations__["return"] = hints.get("return", Any)
        fake.__signature__ = inspect.Signature(
            [inspect.Parameter(f"a{i}", inspect.Parameter.POSITIONAL_ONLY,
                               annotation=hints.get(p, Any)) for i, p in enumerate(params)],
            return_annotation=hints.get("return", Any))
        fake.__name__ = name
        return activity.defn(name=name)(fake)

    def control_activities(self) -> list[Callable[..., Any]]:
        return [self._fake(m, None) for m in _activity_methods(CONTROL)]

    def host_activities(self, host: str) -> list[Callable[..., Any]]:
        return [self._fake(m, host) for m in _activity_methods(HOST)]


class Env:
    """A control worker and one worker per live host, for one test."""

    def __init__(self, client: Client, hosts: int = 3, dead: tuple[int, ...] = ()):
        tag = uuid.uuid4().hex[:8]
        self.client = client
        self.queue = f"tq-{tag}"
        self.cloud = Cloud(hosts=[f"h{i + 1}-{tag}" for i in range(hosts)])
        self.live = [h for i, h in enumerate(self.cloud.hosts) if i not in dead]
        self._workers: list[Worker] = []
        self._tasks: list[asyncio.Task] = []

    def host(self, n: int) -> str:
        """The name of host ``n`` (1-based)."""
        return self.cloud.hosts[n - 1]

    async def __aenter__(self) -> Env:
        self._workers.append(Worker(self.client, task_queue=self.queue, workflows=WORKFLOWS,
                                    workflow_runner=SANDBOXED_RUNNER,
                                    activities=self.cloud.control_activities()))
        for h in self.live:
            self._workers.append(Worker(self.client, task_queue=host_queue(h),
                                        activities=self.cloud.host_activities(h)))
        self._tasks = [asyncio.create_task(w.run()) for w in self._workers]
        return self

    async def __aexit__(self, *_exc: Any) -> None:
        for w in self._workers:
            await w.shutdown()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def start(self, run: Any, inp: Any, prefix: str) -> Any:
        return await self.client.start_workflow(run, inp, id=f"{prefix}-{uuid.uuid4()}",
                                                task_queue=self.queue)


def plan(source: str, *, new: FlavorInfo = SMALL, kind: str = "resize",
         vm_state: str = VmState.ACTIVE) -> MigrationPlan:
    """What prepare_migration reads for a move of a tiny server on ``source``."""
    return MigrationPlan(migration_id="mig-1", migration_type=kind, name="vm1",
                         source_host=source, source_node_uuid=f"node-{source}",
                         vm_state=vm_state, power_state=1, old_flavor=TINY, new_flavor=new,
                         image=IMAGE, ports=[],
                         source=HostCapabilities(host=source, cpu_arch="x86_64",
                                                 hypervisor_type="QEMU", hypervisor_version=1))
