"""A compute host's worker: its hypervisor driver's activities on the host's
own task queue, ``novaflow-host-<hostname>``.

On start it registers the host with the control plane (a RegisterHostWorkflow
carrying the inventory libvirt reports), so new hosts need no manual
discover step, and starts (or wakes) the host's HostMonitorWorkflow, which
keeps its heartbeat and power states current.  It never opens the database.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.worker import Worker

from activities.hypervisor.activities import HostActivities
from activities.hypervisor.day2 import HostDay2Activities
from activities.hypervisor.driver import ComputeDriver
from activities.hypervisor.moves import HostMoveActivities
from activities.hypervisor.power import HostPowerActivities
from activities.types.hosts import RegisterHostInput, RegisterHostResult
from novaflow import logs
from novaflow.queues import CONTROL_QUEUE, host_queue
from workers.log_context import LogContextInterceptor
from workflows.host_monitor import HostMonitorInput, HostMonitorWorkflow
from workflows.register_host import RegisterHostWorkflow

log = logs.get_logger("novaflow.host")


async def register_host(client: Client, driver: ComputeDriver, hostname: str,
                        availability_zone: str, libvirt_uri: str) -> RegisterHostResult:
    """Announce the host and its inventory to the control plane."""
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
    await start_host_monitor(client, hostname)
    return result


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
                      max_threads: int = 8) -> Worker:
    """A worker for one host's queue (not yet running)."""
    acts = HostActivities(driver, hostname)
    return Worker(
        client,
        task_queue=host_queue(hostname),
        activities=(acts.all() + HostPowerActivities(driver, hostname).all()
                    + HostMoveActivities(driver, hostname).all()
                    + HostDay2Activities(driver, hostname).all()),
        interceptors=[LogContextInterceptor()],
        activity_executor=ThreadPoolExecutor(max_workers=max_threads,
                                             thread_name_prefix=f"{hostname}-activity"),
        max_concurrent_activities=max_threads,
    )
