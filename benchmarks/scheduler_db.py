"""The full scheduling activities against the database: select_destinations
(load host states from SQLite, filter, weigh) plus claim_resources (the
compare-and-swap claim), at N compute nodes.

Builds a fresh SQLite database (through the real migrations) with N nodes and
their services (3% disabled, 5% aarch64-only, usage as allocations), then
calls the two activity methods directly, as the control worker would, and
prints one JSON line with per-call medians and p95s.

    python benchmarks/scheduler_db.py --hosts 1000 [--decisions 30]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from activities.scheduler.activities import SchedulerActivities
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
        acts = SchedulerActivities(db, Settings(state_dir=Path(tmp)))
        flavor = FlavorInfo(flavorid="b", name="bench", vcpus=2, memory_mb=4096, root_gb=40)
        image = ImageInfo(id="img", name="img", properties={
            "hw_architecture": "x86_64", "img_hv_type": "qemu", "hw_vm_mode": "hvm"})
        select_ms, claim_ms = [], []
        for _ in range(args.decisions):
            ctx = OpContext(server_id=new_uuid(), project_id="bench", user_id="bench")
            t0 = time.perf_counter()
            sel = acts.select_destinations(SelectDestinationsInput(
                ctx=ctx, flavor=flavor, image=image, num_alternates=2))
            t1 = time.perf_counter()
            acts.claim_resources(ClaimInput(ctx=ctx, consumer_id=ctx.server_id, flavor=flavor,
                                            candidates=sel.hosts))
            t2 = time.perf_counter()
            select_ms.append((t1 - t0) * 1000)
            claim_ms.append((t2 - t1) * 1000)
        total = [a + b for a, b in zip(select_ms, claim_ms, strict=True)]
        db.dispose()
    print(json.dumps({
        "hosts": args.hosts, "decisions": args.decisions,
        "select_median_ms": round(statistics.median(select_ms), 2),
        "select_p95_ms": pct(select_ms, 0.95),
        "claim_median_ms": round(statistics.median(claim_ms), 2),
        "claim_p95_ms": pct(claim_ms, 0.95),
        "total_median_ms": round(statistics.median(total), 2),
        "total_p95_ms": pct(total, 0.95),
    }))


if __name__ == "__main__":
    main()
