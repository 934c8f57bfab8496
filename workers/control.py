"""The control worker: every workflow, and the activities that own the
database (Nova's conductor and scheduler), on task queue ``novaflow-control``."""

from __future__ import annotations

import compileall
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.audit import AuditActivities
from activities.build_lookups import BuildLookupActivities
from activities.catalog import CatalogActivities
from activities.control_clock import ControlClockActivities
from activities.day2 import Day2Activities
from activities.evacuate import EvacuateActivities
from activities.host_reports import HostStateActivities
from activities.hosts import HostRegistryActivities
from activities.identity import IdentityActivities, TokenBackend, keystone_backend
from activities.instances import InstanceActivities
from activities.interface_attach import InterfaceAttachActivities
from activities.migrations import MigrationActivities
from activities.network import NetworkActivities
from activities.rebuild import RebuildActivities
from activities.rescue import RescueActivities
from activities.scheduler.activities import SchedulerActivities
from activities.shelve import ShelveActivities
from activities.snapshot import SnapshotActivities
from activities.temporal_ops import TemporalActivities
from activities.volume_attach import VolumeAttachActivities
from activities.volumes import VolumeActivities
from novaflow.queues import CONTROL_QUEUE
from novaflow.settings import Settings
from schema.db import Database
from workers.log_context import LogContextInterceptor
from workflows.audit import AuditWorkflow
from workflows.boot import BootServerWorkflow
from workflows.console import ConsoleOutputWorkflow, RemoteConsoleWorkflow
from workflows.control_monitor import ControlMonitorInput, ControlMonitorWorkflow
from workflows.delete import DeleteServerWorkflow
from workflows.diagnostics import ServerDiagnosticsWorkflow
from workflows.evacuate import EvacuateServerWorkflow
from workflows.guest_action import GuestActionWorkflow
from workflows.host_group_monitor import HostGroupMonitorWorkflow
from workflows.host_monitor import HostMonitorWorkflow
from workflows.interface_attach import AttachInterfaceWorkflow, DetachInterfaceWorkflow
from workflows.live_migrate import LiveMigrateServerWorkflow
from workflows.power import PowerActionWorkflow
from workflows.rebuild import RebuildServerWorkflow
from workflows.register_host import RegisterHostsWorkflow, RegisterHostWorkflow
from workflows.rescue import RescueServerWorkflow, UnrescueServerWorkflow
from workflows.resize import ResizeServerWorkflow
from workflows.shelve import ShelveOffloadWorkflow, ShelveServerWorkflow, UnshelveServerWorkflow
from workflows.snapshot import SnapshotServerWorkflow
from workflows.soft_delete import SoftDeleteServerWorkflow
from workflows.volume_attach import (
    AttachVolumeWorkflow,
    DetachVolumeWorkflow,
    SwapVolumeWorkflow,
)

WORKFLOWS = [BootServerWorkflow, DeleteServerWorkflow, RegisterHostWorkflow,
             RegisterHostsWorkflow]
WORKFLOWS += [PowerActionWorkflow, HostMonitorWorkflow, HostGroupMonitorWorkflow]
WORKFLOWS += [ResizeServerWorkflow, LiveMigrateServerWorkflow, ControlMonitorWorkflow]
WORKFLOWS += [AuditWorkflow, ConsoleOutputWorkflow, RemoteConsoleWorkflow,
              ServerDiagnosticsWorkflow]
WORKFLOWS += [GuestActionWorkflow, RebuildServerWorkflow, SoftDeleteServerWorkflow]
WORKFLOWS += [AttachVolumeWorkflow, DetachVolumeWorkflow, SwapVolumeWorkflow]  # volumes
WORKFLOWS += [AttachInterfaceWorkflow, DetachInterfaceWorkflow]  # interfaces
WORKFLOWS += [RescueServerWorkflow, UnrescueServerWorkflow]  # rescue
WORKFLOWS += [SnapshotServerWorkflow, ShelveServerWorkflow, ShelveOffloadWorkflow,
              UnshelveServerWorkflow, EvacuateServerWorkflow]


def control_activities(client: Client, db: Database, settings: Settings,
                       token_backend: TokenBackend | None = None) -> list:
    """Every control-queue activity, bound to its dependencies."""
    catalog = CatalogActivities(db, settings)
    instances = InstanceActivities(db, settings)
    network = NetworkActivities(db, settings)
    scheduler = SchedulerActivities(db, settings)
    hosts = HostRegistryActivities(db, settings)
    identity = IdentityActivities(token_backend or keystone_backend(settings))
    temporal = TemporalActivities(client)
    return [
        identity.check_token,
        BuildLookupActivities(identity, catalog).build_lookups,
        catalog.get_flavor, catalog.get_image, catalog.get_networks,
        scheduler.select_destinations, scheduler.claim_resources, scheduler.release_claim,
        network.allocate_network, network.deallocate_network, network.bind_ports,
        instances.set_task_state, instances.mark_active, instances.set_error,
        instances.record_events, instances.mark_deleted, instances.get_instance_location,
        hosts.register_host, hosts.register_hosts,
        temporal.wait_workflow_closed,
        *HostStateActivities(db, settings).all(),
        *VolumeActivities(db, settings).all(),
        *MigrationActivities(db, settings).all(),
        *ControlClockActivities(db, settings).all(),
        *AuditActivities(db, settings).all(),
        temporal.running_workflows,
        *Day2Activities(db, settings).all(),
        *RebuildActivities(db, settings).all(),
        *VolumeAttachActivities(db, settings).all(),
        *InterfaceAttachActivities(db, settings).all(),
        *RescueActivities(db, settings).all(),
        *SnapshotActivities(db, settings).all(),
        *ShelveActivities(db, settings).all(),
        *EvacuateActivities(db, settings).all(),
    ]


def precompile_workflows() -> None:
    """Write the workflow modules' bytecode if it is missing or stale.

    The sandbox executes each workflow's module afresh for every run; without
    a bytecode cache (``PYTHONDONTWRITEBYTECODE``, set on these machines)
    that meant compiling its source every time: measured, a boot burst spent
    10% of the control worker's CPU in the compiler."""
    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "workflows"),
                           quiet=1)


# Deterministic modules the sandbox may share between workflow runs instead of
# re-executing them for each (Temporal's advice: pass through models and
# helpers in separate files).  The workflow definitions themselves stay
# sandboxed.  Measured: re-importing these was a quarter of the control
# worker's busy CPU during a boot burst (no bytecode cache here, so every
# run also recompiled them).
PASSTHROUGH_MODULES = ("novaflow", "activities", "workflows.common", "workflows.steps",
                       "workflows.scheduling", "workflows.move_steps")
SANDBOXED_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES))

# The control worker runs its workflows outside the sandbox, as Temporal's
# Python SDK allows for workflows known to be deterministic
# (``NOVAFLOW_WORKFLOW_SANDBOX=1`` puts it back).  Measured under
# ten parallel boots: the sandbox (each run re-executing its workflow module,
# each payload's serialisation context computed inside it) was 30% of the
# control worker's CPU, and its CPU per boot fell from 9.4 s to 6.8 s over 60
# boots and deletes without it.  Determinism is still checked, where it costs
# a production worker nothing: the workflow tests (tests/workflows) and the
# replay of every recorded history (tests/replay, ``novaflow replay``) run
# sandboxed, so a workflow that reads the clock or imports a module with side
# effects fails there; tests/unit/test_layers.py keeps workflows/ off the
# database, the network, libvirt and the clock.
WORKFLOW_RUNNER = UnsandboxedWorkflowRunner()


def build_control_worker(client: Client, db: Database, settings: Settings,
                         token_backend: TokenBackend | None = None,
                         max_threads: int = 16) -> Worker:
    """A worker for the control queue (not yet running)."""
    precompile_workflows()
    return Worker(
        client,
        task_queue=CONTROL_QUEUE,
        workflows=WORKFLOWS,
        workflow_runner=SANDBOXED_RUNNER if settings.workflow_sandbox else WORKFLOW_RUNNER,
        activities=control_activities(client, db, settings, token_backend),
        interceptors=[LogContextInterceptor()],
        activity_executor=ThreadPoolExecutor(max_workers=max_threads,
                                             thread_name_prefix="control-activity"),
        max_concurrent_activities=max_threads,
    )


async def start_control_monitor(client: Client, settings: Settings) -> None:
    """Start the control plane's heartbeat, unless a control worker already did."""
    await client.start_workflow(
        ControlMonitorWorkflow.run,
        ControlMonitorInput(
            report_interval_s=float(settings.report_interval),
            audit_every=settings.audit_interval // max(1, settings.report_interval)
            if settings.audit_interval else 0),
        id="control-monitor", task_queue=CONTROL_QUEUE,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary="the control plane's heartbeat")
