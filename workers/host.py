"""A compute host's worker: its hypervisor driver's activities on the host's
own task queue, ``novaflow-host-<hostname>``.

On start it registers the host with the control plane (a RegisterHostWorkflow
carrying the inventory libvirt reports), so new hosts need no manual
discover step, and starts (or wakes) the host's HostMonitorWorkflow, which
keeps its heartbeat and power states current.  It never opens the database.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from activities.hypervisor.activities import HostActivities
from activities.hypervisor.day2 import HostDay2Activities
from activities.hypervisor.driver import ComputeDriver
from activities.hypervisor.fencing import Fence
from activities.hypervisor.group import HostGroupActivities
from activities.hypervisor.interface_hotplug import HostInterfaceActivities
from activities.hypervisor.moves import HostMoveActivities
from activities.hypervisor.power import HostPowerActivities
from activities.hypervisor.rescue import HostRescueActivities
from activities.hypervisor.snapshot import HostSnapshotActivities
from activities.hypervisor.volume_hotplug import HostVolumeActivities
from activities.types.hosts import RegisterHostInput, RegisterHostResult, RegisterHostsInput
from novaflow import logs
from novaflow.queues import CONTROL_QUEUE, host_group_queue, host_queue
from workers.heartbeat import HeartbeatInterceptor
from workers.log_context import LogContextInterceptor
from workflows.host_group_monitor import HostGroupMonitorInput, HostGroupMonitorWorkflow
from workflows.host_monitor import HostMonitorInput, HostMonitorWorkflow
from workflows.register_host import RegisterHostsWorkflow, RegisterHostWorkflow

log = logs.get_logger("novaflow.host")


async def register_host(client: Client, driver: ComputeDriver, hostname: str,
                        availability_zone: str, libvirt_uri: str,
                        monitor: bool = True) -> RegisterHostResult:
    """Announce the host and its inventory to the control plane.

    ``monitor=False``: a host group's monitor reports for it (start_host_group_monitor).
    """
    info = driver.node_info()
    result = await client.execute_workflow(
        RegisterHostWorkflow.run,
        RegisterHostInput(hostname=hostname, inventory=info.inventory(),
                          availability_zone=availability_zone, libvirt_uri=libvirt_uri),
        id=f"register-host-{hostname}",
        task_queue=CONTROL_QUEUE,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary=f"register compute host {hostname}",
    )
    if monitor:
        await start_host_monitor(client, hostname)
    return result


_BUSY = {RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED,
         RPCStatusCode.UNAVAILABLE}


async def register_hosts(client: Client, entries: list[RegisterHostInput], group: str,
                         chunk: int = 100, parallel: int = 2) -> None:
    """Register many hosts in batches of ``chunk``, ``parallel`` batches at a time.

    The database serialises the batches' writes anyway; more at once only made
    each local activity outlast its workflow task and the server answer "busy".
    """
    batches = [entries[i:i + chunk] for i in range(0, len(entries), chunk)]
    limit = asyncio.Semaphore(parallel)

    async def one(n: int, batch: list[RegisterHostInput]) -> None:
        async with limit:
            handle = await client.start_workflow(
                RegisterHostsWorkflow.run, RegisterHostsInput(hosts=batch),
                id=f"register-hosts-{group}-{n}", task_queue=CONTROL_QUEUE,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                static_summary=f"register {len(batch)} compute hosts of {group}")
            for attempt in range(10):
                try:
                    await handle.result()
                    return
                except RPCError as exc:  # a busy server: ask again for the same result
                    if exc.status not in _BUSY or attempt == 9:
                        raise
                    await asyncio.sleep(0.5 * (attempt + 1))

    await asyncio.gather(*(one(n, b) for n, b in enumerate(batches)))


async def start_host_monitor(client: Client, hostname: str) -> None:
    """Start the host's monitor, or wake the running one to report at once."""
    await client.start_workflow(
        HostMonitorWorkflow.run, HostMonitorInput(hostname=hostname),
        id=f"host-monitor-{hostname}", task_queue=CONTROL_QUEUE,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        start_signal="report_now",
        static_summary=f"monitor compute host {hostname}",
    )


def build_host_worker(client: Client, driver: ComputeDriver, hostname: str,
                      max_threads: int = 8, executor: ThreadPoolExecutor | None = None,
                      pollers: int | None = None) -> Worker:
    """A worker for one host's queue (not yet running).

    A process serving many hosts passes one shared ``executor`` and a single
    poller each, so threads and long polls do not grow five- and eight-fold
    per host.
    """
    acts = HostActivities(driver, hostname, fence=Fence(client, hostname))
    return Worker(
        client,
        task_queue=host_queue(hostname),
        activities=(acts.all() + HostPowerActivities(driver, hostname).all()
                    + HostMoveActivities(driver, hostname).all()
                    + HostDay2Activities(driver, hostname).all()
                    + HostVolumeActivities(driver, hostname).all()
                    + HostInterfaceActivities(driver, hostname).all()
                    + HostRescueActivities(driver, hostname).all()
                    + HostSnapshotActivities(driver, hostname).all()),
        interceptors=[LogContextInterceptor(), HeartbeatInterceptor()],
        activity_executor=executor or ThreadPoolExecutor(
            max_workers=max_threads, thread_name_prefix=f"{hostname}-activity"),
        max_concurrent_activities=max_threads,
        max_concurrent_activity_task_polls=pollers,
    )


def build_host_group_worker(client: Client, group: HostGroupActivities, name: str,
                            executor: ThreadPoolExecutor) -> Worker:
    """The worker of a many-host process's group queue: its batched reports."""
    return Worker(client, task_queue=host_group_queue(name), activities=group.all(),
                  activity_executor=executor, max_concurrent_activities=4)


async def start_host_group_monitor(client: Client, name: str, hostnames: list[str],
                                   report_interval_s: float) -> None:
    """Start the group's monitor (or wake the running one): one report for all its hosts."""
    await client.start_workflow(
        HostGroupMonitorWorkflow.run,
        HostGroupMonitorInput(group=name, queue=host_group_queue(name), hostnames=hostnames,
                              report_interval_s=report_interval_s),
        id=f"host-group-monitor-{name}", task_queue=CONTROL_QUEUE,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
        static_summary=f"monitor {len(hostnames)} compute hosts of {name}",
    )
