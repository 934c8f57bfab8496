"""The floor a boot is measured against: a no-op workflow of a boot's shape.

`NoopBootWorkflow` makes the same Temporal calls as BootServerWorkflow's
happy path, doing nothing in any of them: check_token; get_flavor,
get_image and get_networks in parallel; select_destinations;
claim_resources; allocate_network (8 local activities in all, with
mark_active last) and one regular activity on a host queue (spawn).
`run_floor` runs it on the given Temporal server with the same number of
workflows and concurrency as the boot benchmark, from a worker in this
process, and returns the same figures (p50/p95 start to result, per second).

Imported lazily by boot.py --floor; it needs temporalio, which the boot
benchmark itself does not.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

LOCAL = {"start_to_close_timeout": timedelta(seconds=30),
         "retry_policy": RetryPolicy(maximum_attempts=3)}


@activity.defn(name="noop_control")
def noop_control(step: str) -> str:
    """A control step that does nothing (a boot's DB read or write)."""
    return step


@activity.defn(name="noop_host")
def noop_host(step: str) -> str:
    """A host step that does nothing (a boot's spawn)."""
    return step


@workflow.defn(name="NoopBootWorkflow")
class NoopBootWorkflow:
    """A boot's happy path with every step a no-op."""

    @workflow.run
    async def run(self, host_queue: str) -> str:
        async def control(step: str) -> str:
            return await workflow.execute_local_activity(noop_control, step, **LOCAL)

        await control("check_token")
        await asyncio.gather(control("get_flavor"), control("get_image"),
                             control("get_networks"))
        await control("select_destinations")
        await control("claim_resources")
        await control("allocate_network")
        await workflow.execute_activity(
            noop_host, "spawn", task_queue=host_queue,
            schedule_to_start_timeout=timedelta(seconds=30),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_attempts=1))
        return await control("mark_active")


async def run_floor(address: str, workflows: int, concurrency: int,
                    namespace: str = "default") -> tuple[list[float], float]:
    """Run `workflows` NoopBootWorkflows, `concurrency` at a time.

    Returns (latencies in ms from start to result, wall time in s).
    """
    from concurrent.futures import ThreadPoolExecutor

    client = await Client.connect(address, namespace=namespace)
    tag = uuid.uuid4().hex[:8]
    queue, host_queue = f"bench-noop-{tag}", f"bench-noop-host-{tag}"
    pool = ThreadPoolExecutor(max_workers=16)
    control_worker = Worker(client, task_queue=queue, workflows=[NoopBootWorkflow],
                            activities=[noop_control], activity_executor=pool)
    host_client = await Client.connect(address, namespace=namespace)
    host_worker = Worker(host_client, task_queue=host_queue, activities=[noop_host],
                         activity_executor=pool)
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> float:
        async with sem:
            t0 = time.perf_counter()
            await client.execute_workflow(NoopBootWorkflow.run, host_queue,
                                          id=f"noop-{tag}-{i}", task_queue=queue)
            return (time.perf_counter() - t0) * 1000

    async with control_worker, host_worker:
        await one(-1)  # warm-up: the worker's first workflow task imports the sandbox
        start = time.perf_counter()
        latencies = await asyncio.gather(*(one(i) for i in range(workflows)))
        wall = time.perf_counter() - start
    pool.shutdown()
    return list(latencies), wall
