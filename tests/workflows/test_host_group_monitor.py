"""HostGroupMonitorWorkflow against fake activities: one batched report per round for
every host of the group, a deleted host dropped, a leftover domain destroyed on its
own host's queue."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from stack import wait_until
from temporalio import activity
from temporalio.worker import Worker

from activities.types.hosts import (
    HostCleanupDoneInput,
    HostGroupReport,
    HostGroupReportInput,
    HostReport,
    Inventory,
    RecordHostReportResult,
    RecordHostReportsInput,
    RecordHostReportsResult,
)
from activities.types.hypervisor import DestroyInput
from novaflow.queues import host_queue
from workflows.host_group_monitor import HostGroupMonitorInput, HostGroupMonitorWorkflow

INV = Inventory(vcpus=4, memory_mb=4096, local_gb=40, cpu_arch="x86_64",
                hypervisor_type="QEMU", hypervisor_version=1)


async def test_one_batched_report_per_round_drops_deleted_hosts(temporal):
    asked: list[list[str]] = []
    recorded: list[list[str]] = []
    destroyed: list[tuple[str, str]] = []
    cleaned: list[str] = []

    @activity.defn(name="report_hosts")
    def report_hosts(inp: HostGroupReportInput) -> HostGroupReport:
        asked.append(list(inp.hostnames))
        return HostGroupReport(reports=[HostReport(hostname=h, inventory=INV, domains=[])
                                        for h in inp.hostnames])

    @activity.defn(name="record_host_reports")
    def record_host_reports(inp: RecordHostReportsInput) -> RecordHostReportsResult:
        names = [r.hostname for r in inp.reports]
        recorded.append(names)
        first = len(recorded) == 1
        return RecordHostReportsResult(report_interval_s=0.2, results={
            h: RecordHostReportResult(registered=h != "h3", report_interval_s=0.2,
                                      destroy=["srv-1"] if first and h == "h2" else [])
            for h in names})

    @activity.defn(name="complete_host_cleanups")
    def complete_host_cleanups(inp: HostCleanupDoneInput) -> None:
        cleaned.extend(inp.server_ids)

    def destroy_on(host: str):
        @activity.defn(name="destroy_domain")
        def destroy_domain(inp: DestroyInput) -> bool:
            destroyed.append((host, inp.server_id))
            return True
        return destroy_domain

    tq = f"tq-{uuid.uuid4()}"
    group_q = f"group-{uuid.uuid4()}"
    pool = ThreadPoolExecutor(8)
    workers = [
        Worker(temporal, task_queue=tq, workflows=[HostGroupMonitorWorkflow],
               activities=[record_host_reports, complete_host_cleanups], activity_executor=pool),
        Worker(temporal, task_queue=group_q, activities=[report_hosts], activity_executor=pool),
        Worker(temporal, task_queue=host_queue("h2"), activities=[destroy_on("h2")],
               activity_executor=pool),
    ]
    for w in workers:
        await w.__aenter__()
    try:
        handle = await temporal.start_workflow(
            HostGroupMonitorWorkflow.run,
            HostGroupMonitorInput(group="g", queue=group_q, hostnames=["h1", "h2", "h3"]),
            id=f"group-{uuid.uuid4()}", task_queue=tq)
        # Rounds every 0.2 s once the first answer says so.
        await wait_until(lambda: len(recorded) >= 3, 30, what=f"3 rounds: {recorded}")
        status = await handle.query(HostGroupMonitorWorkflow.status)
        assert asked[0] == ["h1", "h2", "h3"]
        assert asked[1] == ["h1", "h2"]  # h3's service was deleted
        assert recorded[0] == ["h1", "h2", "h3"]
        assert destroyed == [("h2", "srv-1")]
        assert cleaned == ["srv-1"]
        assert status.hosts == 2
        await handle.terminate()
    finally:
        for w in reversed(workers):
            await w.__aexit__(None, None, None)
        pool.shutdown()
