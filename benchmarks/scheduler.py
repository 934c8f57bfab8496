"""Scheduler benchmark: decisions per second of the pure filter scheduler on synthetic hosts.

Builds N hosts in memory (3% disabled, 5% aarch64-only, the rest x86_64/qemu,
mixed sizes and usage, 10% in another AZ), then places a 2 vCPU / 4 GB / 40 GB
instance with an x86_64/qemu/hvm image through AvailabilityZone, Ram, Core,
Disk, Compute, ComputeCapabilities, ImageProperties and the server-group
filters and the RAM/CPU/Disk weighers, consuming each chosen host, and prints
one JSON line.  `--compare` also times Nova's way (every host through every
filter's host_passes, then per-host weighing) for a few decisions.

    python benchmarks/scheduler.py --hosts 10000 [--decisions 30] [--seed 1] [--compare]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from activities.scheduler.filters import build_filters
from activities.scheduler.host_table import HostTable
from activities.scheduler.select import select_hosts
from activities.scheduler.types import (
    Aggregate,
    FlavorSpec,
    HostState,
    RequestSpec,
)
from activities.scheduler.weighers import weigh_hosts
from novaflow.settings import SchedulerSettings

FILTERS = ["AvailabilityZoneFilter", "RamFilter", "CoreFilter", "DiskFilter", "ComputeFilter",
           "ComputeCapabilitiesFilter", "ImagePropertiesFilter",
           "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter"]
WEIGHERS = ["RAMWeigher", "CPUWeigher", "DiskWeigher"]
SIZES = [(16, 65536, 500), (32, 131072, 1000), (48, 262144, 2000), (64, 524288, 4000)]


def synthetic_hosts(n: int, rng: random.Random) -> list[HostState]:
    """N compute nodes with a realistic spread of shapes, usage and defects."""
    other_az = Aggregate("az-2", {"availability_zone": "az-2"})
    hosts = []
    for i in range(n):
        vcpus, ram, disk = rng.choice(SIZES)
        roll = rng.random()
        arm = 0.03 <= roll < 0.08
        arch = "aarch64" if arm else "x86_64"
        fill = rng.random() * 0.9
        hosts.append(HostState(
            host=f"compute-{i:05d}", nodename=f"compute-{i:05d}", node_uuid=f"node-{i}",
            hypervisor_type="QEMU", hypervisor_version=8_002_000, cpu_arch=arch,
            supported_instances=[(arch, "qemu", "hvm")],
            vcpus=vcpus, memory_mb=ram, local_gb=disk,
            vcpus_used=int(vcpus * 16 * fill), memory_mb_used=int(ram * 1.5 * fill),
            local_gb_used=int(disk * fill), reserved_host_memory_mb=512,
            service_disabled=roll < 0.03, num_instances=int(fill * 40),
            aggregates=[other_az] if rng.random() < 0.10 else [],
            capabilities={"cpu_info": {"arch": arch, "vendor": "Intel" if not arm else "ARM"}},
        ))
    return hosts


def request(i: int) -> RequestSpec:
    return RequestSpec(
        instance_uuid=f"bench-{i}", flavor=FlavorSpec("m1.medium", 2, 4096, 40),
        image_properties={"hw_architecture": "x86_64", "img_hv_type": "qemu",
                          "hw_vm_mode": "hvm"},
        availability_zone="nova")


def nova_style_decision(hosts: list[HostState], spec: RequestSpec,
                        settings: SchedulerSettings) -> str:
    """Every host through every filter one at a time, then per-host weighing."""
    passing = hosts
    for f in build_filters(settings):
        passing = [h for h in passing if f.host_passes(h, spec) is None]
    weights = weigh_hosts(passing, spec, settings)
    return passing[max(range(len(passing)), key=weights.__getitem__)].host


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10000)
    parser.add_argument("--decisions", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--compare", action="store_true", help="also time Nova's per-host way")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    settings = SchedulerSettings(enabled_filters=FILTERS, weight_classes=WEIGHERS)
    hosts = synthetic_hosts(args.hosts, rng)

    t0 = time.perf_counter()
    table = HostTable(hosts)
    build_ms = (time.perf_counter() - t0) * 1000

    times, chosen = [], []
    for i in range(args.decisions):
        spec = request(i)
        t0 = time.perf_counter()
        sel = select_hosts(table, spec, settings, num_alternates=2, rng=rng)
        if sel.hosts:
            table.consume(sel.rows[0], spec)
        times.append((time.perf_counter() - t0) * 1000)
        chosen.append(sel.host)

    times_sorted = sorted(times)
    result = {
        "hosts": args.hosts,
        "decisions": args.decisions,
        "median_ms": round(statistics.median(times), 3),
        "p95_ms": round(times_sorted[min(len(times) - 1, int(0.95 * len(times)))], 3),
        "mean_ms": round(statistics.fmean(times), 3),
        "first_decision_ms": round(times[0], 3),
        "table_build_ms": round(build_ms, 3),
        "scheduled": sum(1 for c in chosen if c),
        "distinct_hosts": len({c for c in chosen if c}),
        "filters": FILTERS,
        "weighers": WEIGHERS,
        "seed": args.seed,
    }
    if args.compare:
        fresh = synthetic_hosts(args.hosts, random.Random(args.seed))
        nova_times = []
        for i in range(3):
            t0 = time.perf_counter()
            nova_style_decision(fresh, request(i), settings)
            nova_times.append((time.perf_counter() - t0) * 1000)
        result["per_host_median_ms"] = round(statistics.median(nova_times), 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
