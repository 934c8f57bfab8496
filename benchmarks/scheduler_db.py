"""The full scheduling activities against the database: select_destinations
plus claim_resources (the compare-and-swap claim), at N compute nodes.

Builds a fresh SQLite database (through the real migrations) with N nodes and
their services (3% disabled, 5% aarch64-only, usage as allocations), then
calls the two activity methods directly, as the control worker would, in two
phases on the same database:

- ``uncached``: the host cache off, every decision reads every host
  (what select_destinations did before the cache);
- ``cached``: the control worker's host cache in steady state (loaded once,
  then only the change log is read; the worker's own claims are applied in
  memory).

and, as floors measured in the same run: ``kernel`` (filters and weighers
on the cached table, no database), ``read_txn`` (a read transaction with
one indexed query, what a cached select can not go below) and ``write_txn``
(a write transaction updating one row, the floor of any claim).  Prints one
JSON line; ``loadavg`` says how busy the machine was.

    python benchmarks/scheduler_db.py --hosts 1000 [--decisions 30]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import update

from activities.scheduler import placement
from activities.scheduler.activities import SchedulerActivities
from activities.scheduler.select import select_hosts
from activities.types.catalog import FlavorInfo, ImageInfo
from activities.types.context import OpContext
from activities.types.scheduling import ClaimInput, SelectDestinationsInput
from novaflow.settings import Settings
from schema.db import Database
from schema.migrate import upgrade
from schema.models import Allocation, ComputeNode, Service, new_uuid, utcnow

SIZES = [(16, 65536, 500), (32, 131072, 1000), (48, 262144, 2000), (64, 524288, 4000)]


def populate(db: Database, n: int, rng: random.Random) -> None:
    now = utcnow()
    with db.writer() as s:
        for i in range(n):
            vcpus, ram, disk = rng.choice(SIZES)
            arm = 0.03 <= rng.random() < 0.08
            node = ComputeNode(host=f"compute-{i:05d}", hypervisor_hostname=f"compute-{i:05d}",
                               vcpus=vcpus, memory_mb=ram, local_gb=disk,
                               cpu_arch="aarch64" if arm else "x86_64")
            s.add(node)
            s.add(Service(host=node.host, disabled=rng.random() < 0.03, last_seen_up=now))
            fill = rng.random() * 0.9
            if fill > 0.05:
                s.add(Allocation(consumer_id=new_uuid(), node_uuid=node.uuid,
                                 vcpus=int(vcpus * 16 * fill), memory_mb=int(ram * 1.5 * fill),
                                 disk_gb=int(disk * fill)))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--decisions", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        db = Database(url)
        populate(db, args.hosts, rng)
        out = {"hosts": args.hosts, "decisions": args.decisions,
               "loadavg": round(os.getloadavg()[0], 2)}
        for phase, cached in (("uncached", False), ("cached", True)):
            settings = Settings(state_dir=Path(tmp))
            settings.scheduler.host_cache = cached
            acts = SchedulerActivities(db, settings)
            if cached:
                decide(acts)  # the one full load
            select_ms, claim_ms = [], []
            for _ in range(args.decisions):
                s_ms, c_ms = decide(acts)
                select_ms.append(s_ms)
                claim_ms.append(c_ms)
            out.update(figures(phase, select_ms, claim_ms))
        out.update(floors(db, acts, args.decisions))
        db.dispose()
    print(json.dumps(out))


FLAVOR = FlavorInfo(flavorid="b", name="bench", vcpus=2, memory_mb=4096, root_gb=40)
IMAGE = ImageInfo(id="img", name="img", properties={
    "hw_architecture": "x86_64", "img_hv_type": "qemu", "hw_vm_mode": "hvm"})


def select_input(ctx: OpContext) -> SelectDestinationsInput:
    return SelectDestinationsInput(ctx=ctx, flavor=FLAVOR, image=IMAGE, num_alternates=2)


def decide(acts: SchedulerActivities) -> tuple[float, float]:
    """One select_destinations and claim_resources: their times in ms."""
    ctx = OpContext(server_id=new_uuid(), project_id="bench", user_id="bench")
    t0 = time.perf_counter()
    sel = acts.select_destinations(select_input(ctx))
    t1 = time.perf_counter()
    acts.claim_resources(ClaimInput(ctx=ctx, consumer_id=ctx.server_id, flavor=FLAVOR,
                                    candidates=sel.hosts))
    t2 = time.perf_counter()
    return (t1 - t0) * 1000, (t2 - t1) * 1000


def figures(phase: str, select_ms: list[float], claim_ms: list[float]) -> dict:
    total = [a + b for a, b in zip(select_ms, claim_ms, strict=True)]
    return {
        f"{phase}_select_median_ms": round(statistics.median(select_ms), 2),
        f"{phase}_select_p95_ms": pct(select_ms, 0.95),
        f"{phase}_claim_median_ms": round(statistics.median(claim_ms), 2),
        f"{phase}_claim_p95_ms": pct(claim_ms, 0.95),
        f"{phase}_total_median_ms": round(statistics.median(total), 2),
        f"{phase}_total_p95_ms": pct(total, 0.95),
    }


def floors(db: Database, acts: SchedulerActivities, n: int) -> dict:
    """The same run's floors: the kernel alone, a minimal read and write transaction."""
    kernel, read, write = [], [], []
    with db.reader() as s:
        table = acts.host_cache.table(s)
    for _ in range(n):
        ctx = OpContext(server_id=new_uuid(), project_id="bench", user_id="bench")
        spec = acts.request_spec(select_input(ctx))
        t0 = time.perf_counter()
        select_hosts(table, spec, acts.settings.scheduler, num_alternates=2)
        t1 = time.perf_counter()
        with db.reader() as s:
            placement.changes_since(s, 1 << 60)
        t2 = time.perf_counter()
        with db.writer() as s:
            s.execute(update(ComputeNode).where(ComputeNode.id == 1).values(updated_at=utcnow()))
        t3 = time.perf_counter()
        kernel.append((t1 - t0) * 1000)
        read.append((t2 - t1) * 1000)
        write.append((t3 - t2) * 1000)
    return {"floor_kernel_median_ms": round(statistics.median(kernel), 3),
            "floor_read_txn_median_ms": round(statistics.median(read), 3),
            "floor_write_txn_median_ms": round(statistics.median(write), 3)}


if __name__ == "__main__":
    main()
