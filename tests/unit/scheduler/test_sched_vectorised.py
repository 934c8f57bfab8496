"""The numpy batch path must agree with the per-host path on a randomised population.

Every filter's batch mask is compared with host_passes on each live host,
the vectorised weights with the per-host weights, and a whole select_hosts
decision with a plain per-host reference, before and after consuming hosts.
"""

import json
import random

import numpy as np
import pytest

from activities.scheduler.filters import ALL_FILTERS
from activities.scheduler.host_table import HostTable
from activities.scheduler.select import select_hosts
from activities.scheduler.types import Aggregate, FlavorSpec, GroupSpec, HostState, RequestSpec
from activities.scheduler.weighers import build_weighers, weigh_hosts, weigh_rows
from novaflow.settings import SchedulerSettings

AGGREGATES = [
    Aggregate("az2", {"availability_zone": "az-2"}),
    Aggregate("ssd", {"ssd": "true", "gen": "3"}),
    Aggregate("hdd", {"ssd": "false"}),
    Aggregate("big-only", {"instance_type": "m1.large,m1.xlarge"}),
    Aggregate("stack", {"ram_weight_multiplier": "-1.5", "cpu_weight_multiplier": "0.5"}),
]
ARCHES = [("x86_64", "qemu", "hvm"), ("aarch64", "qemu", "hvm"), ("x86_64", "xen", "xen"),
          ("x86_64", "QEMU", "HVM")]


def random_hosts(rng, n):
    hosts = []
    for i in range(n):
        vcpus = rng.choice([2, 4, 8, 16])
        ram = rng.choice([2048, 4096, 8192, 16384])
        disk = rng.choice([20, 50, 100, 400])
        caps = {"cpu_info": {"vendor": rng.choice(["Intel", "AMD"]),
                             "features": rng.sample(["vmx", "avx", "avx2", "sse4"], 2)}}
        if rng.random() < 0.3:
            caps["cpu_info"] = json.dumps(caps["cpu_info"])
        if rng.random() < 0.3:
            caps["gpu"] = rng.choice(["a100", "t4"])
        hosts.append(HostState(
            host=f"h{i % (n - 3)}" if i >= n - 3 else f"h{i}",  # a few multi-node hosts
            nodename=f"n{i}", node_uuid=f"u{i}",
            availability_zone=rng.choice(["nova", "nova", "az-3"]),
            hypervisor_type=rng.choice(["QEMU", "Xen"]),
            hypervisor_version=rng.choice([0, 6_002_000, 8_000_000]),
            supported_instances=rng.sample(ARCHES, rng.randint(0, 2)),
            vcpus=vcpus, memory_mb=ram, local_gb=disk,
            vcpus_used=rng.randint(0, vcpus * 4), memory_mb_used=rng.randint(0, ram),
            local_gb_used=rng.randint(0, disk),
            reserved_host_cpus=rng.choice([0, 1]),
            reserved_host_memory_mb=rng.choice([0, 512]),
            reserved_host_disk_mb=rng.choice([0, 1024]),
            cpu_allocation_ratio=rng.choice([1.0, 4.0, 16.0]),
            ram_allocation_ratio=rng.choice([1.0, 1.5]),
            disk_allocation_ratio=rng.choice([1.0, 1.3]),
            service_disabled=rng.random() < 0.1, service_up=rng.random() > 0.1,
            num_instances=rng.randint(0, 60), num_io_ops=rng.randint(0, 10),
            instance_uuids={f"vm-{rng.randint(0, 40)}" for _ in range(rng.randint(0, 3))},
            aggregates=rng.sample(AGGREGATES, rng.randint(0, 2)),
            capabilities=caps, failed_builds=rng.choice([0, 0, 0, 2]),
        ))
    return hosts


EXTRA_SPECS = [
    {}, {"capabilities:cpu_info:vendor": "Intel"},
    {"capabilities:cpu_info:features": "<in> avx2", "hw:cpu_policy": "dedicated"},
    {"gpu": "<or> a100 <or> h100"}, {"capabilities:hypervisor_type": "s!= Xen"},
    {"aggregate_instance_extra_specs:ssd": "true"}, {"gen": ">= 2"},
    {"capabilities:vcpus_used": "<= 10"}, {"num_instances": "< 30"},
]
IMAGES = [{}, {"hw_architecture": "x86_64"},
          {"hw_architecture": "x86_64", "img_hv_type": "qemu", "hw_vm_mode": "hvm"},
          {"architecture": "aarch64"}, {"img_hv_type": "xen", "img_hv_requested_version": ">=7"}]
QUERIES = [None, '[">=", "$free_ram_mb", 2048]',
           '["and", ["<", "$num_instances", 30], ["not", ["=", "$hypervisor_type", "Xen"]]]',
           '["in", "$availability_zone", "az-3", "az-9"]']


def random_spec(rng, i):
    group = None
    if rng.random() < 0.5:
        members = [f"vm-{rng.randint(0, 40)}" for _ in range(rng.randint(0, 6))]
        group = GroupSpec("g", rng.choice(["affinity", "anti-affinity", "soft-affinity",
                                           "soft-anti-affinity"]),
                          hosts=[f"h{rng.randint(0, 60)}" for _ in range(rng.randint(0, 3))],
                          members=members,
                          rules=rng.choice([{}, {"max_server_per_host": 2}]))
    hints = {}
    if rng.random() < 0.3:
        hints["same_host"] = [f"vm-{rng.randint(0, 40)}" for _ in range(2)]
    if rng.random() < 0.3:
        hints["different_host"] = f"vm-{rng.randint(0, 40)}"
    query = rng.choice(QUERIES)
    if query:
        hints["query"] = query
    return RequestSpec(
        instance_uuid=rng.choice([f"new-{i}", f"vm-{rng.randint(0, 40)}"]),
        flavor=FlavorSpec(rng.choice(["m1.small", "m1.large"]), rng.choice([1, 2, 4, 8]),
                          rng.choice([512, 2048, 4096, 8192]), rng.choice([0, 10, 40]),
                          ephemeral_gb=rng.choice([0, 5]), swap_mb=rng.choice([0, 512]),
                          extra_specs=rng.choice(EXTRA_SPECS)),
        image_properties=rng.choice(IMAGES),
        availability_zone=rng.choice([None, "nova", "az-2", "az-3"]),
        scheduler_hints=hints, instance_group=group,
        ignore_hosts=rng.sample([f"H{k}" for k in range(60)], rng.randint(0, 3)))


@pytest.mark.parametrize("seed", range(5))
def test_filter_batches_match_host_passes(seed):
    rng = random.Random(seed)
    hosts = random_hosts(rng, 120)
    table = HostTable(hosts)
    settings = SchedulerSettings(max_instances_per_host=40, max_io_ops_per_host=6)
    for i in range(60):
        spec = random_spec(rng, i)
        alive = np.array([rng.random() < 0.8 for _ in hosts])
        for name, cls in ALL_FILTERS.items():
            f = cls(settings)
            per_host = [alive[r] and f.host_passes(h, spec) is None for r, h in enumerate(hosts)]
            vector = (alive & f.batch(table, spec, alive)).tolist()
            if not f.applies(spec):
                vector = alive.tolist()  # the scheduler skips a filter that does not apply
            assert vector == per_host, (name, spec)
        if i % 10 == 9:
            # Usage changes must show up in both paths (and in no stale cache).
            row = rng.randrange(len(hosts))
            table.consume(row, spec)


@pytest.mark.parametrize("seed", range(5))
def test_weights_match_per_host(seed):
    rng = random.Random(100 + seed)
    hosts = random_hosts(rng, 80)
    table = HostTable(hosts)
    settings = SchedulerSettings(num_instances_weight_multiplier=-0.7, disk_weight_multiplier=2)
    weighers = build_weighers(settings)
    for i in range(20):
        spec = random_spec(rng, i)
        rows = np.array(sorted(rng.sample(range(len(hosts)), rng.randint(0, 60))), dtype=np.int64)
        vector = weigh_rows(table, rows, spec, weighers, settings).tolist()
        assert vector == weigh_hosts([hosts[r] for r in rows], spec, settings)
        table.consume(rng.randrange(len(hosts)), spec)


def reference_select(hosts, spec, settings, num_alternates):
    """Nova's algorithm one host at a time, for subset size 1 without shuffling."""
    lowered = {h.lower() for h in spec.ignore_hosts}
    candidates = [h for h in hosts if h.host.lower() not in lowered]
    for name in settings.enabled_filters:
        f = ALL_FILTERS[name](settings)
        candidates = [h for h in candidates if f.host_passes(h, spec) is None]
    weights = weigh_hosts(candidates, spec, settings)
    order = sorted(range(len(candidates)), key=lambda k: weights[k], reverse=True)
    return [(candidates[k].host, candidates[k].nodename) for k in order[:1 + num_alternates]]


@pytest.mark.parametrize("seed", range(4))
def test_select_matches_per_host_reference(seed):
    rng = random.Random(200 + seed)
    hosts = random_hosts(rng, 150)
    table = HostTable(hosts)
    settings = SchedulerSettings(
        enabled_filters=list(ALL_FILTERS), max_instances_per_host=55,
        num_instances_weight_multiplier=-1.0)
    lenient = SchedulerSettings(max_instances_per_host=55)  # default filter list
    for i in range(40):
        spec = random_spec(rng, i)
        for s in (settings, lenient):
            sel = select_hosts(table, spec, s, num_alternates=3, rng=random.Random(i))
            expected = reference_select(hosts, spec, s, 3)
            assert list(zip(sel.hosts, sel.nodes, strict=True)) == expected
        if sel.hosts:
            table.consume(sel.rows[0], spec)
