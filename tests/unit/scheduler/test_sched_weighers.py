"""Weighers: direction of each, min-max normalisation, multipliers and their overrides."""

import numpy as np
import pytest

from activities.scheduler.host_table import HostTable
from activities.scheduler.types import Aggregate, GroupSpec
from activities.scheduler.weighers import (
    BuildFailureWeigher,
    CPUWeigher,
    DiskWeigher,
    IoOpsWeigher,
    NumInstancesWeigher,
    RAMWeigher,
    ServerGroupSoftAffinityWeigher,
    ServerGroupSoftAntiAffinityWeigher,
    build_weighers,
    normalize,
    weigh_hosts,
    weigh_rows,
)
from novaflow.settings import SchedulerSettings


def _only(name, **multipliers):
    return SchedulerSettings(weight_classes=[name], **multipliers)


def _weights(hosts, spec, settings):
    table = HostTable(hosts)
    rows = np.arange(len(hosts))
    vec = weigh_rows(table, rows, spec, build_weighers(settings), settings).tolist()
    assert vec == weigh_hosts(hosts, spec, settings)  # both paths agree exactly
    return vec


def test_normalize_min_max_and_flat():
    assert normalize(np.array([10.0, 20.0, 15.0])).tolist() == [0.0, 1.0, 0.5]
    assert normalize(np.array([7.0, 7.0])) is None


def test_ram_weigher_prefers_free_ram(make_host, make_spec):
    hosts = [make_host("a", memory_mb=4096), make_host("b", memory_mb=8192),
             make_host("c", memory_mb=6144)]
    assert _weights(hosts, make_spec(), _only("RAMWeigher")) == [0.0, 1.0, 0.5]
    stacked = _weights(hosts, make_spec(), _only("RAMWeigher", ram_weight_multiplier=-2.0))
    assert stacked == [-0.0, -2.0, -1.0]


def test_cpu_and_disk_weighers(make_host, make_spec):
    hosts = [make_host("a", vcpus=4, vcpus_used=60), make_host("b", vcpus=4, vcpus_used=0)]
    assert _weights(hosts, make_spec(), _only("CPUWeigher")) == [0.0, 1.0]
    hosts = [make_host("a", local_gb=100, local_gb_used=90), make_host("b", local_gb=100)]
    assert _weights(hosts, make_spec(), _only("DiskWeigher")) == [0.0, 1.0]


def test_num_instances_weigher_off_by_default_and_spreads_when_negative(make_host, make_spec):
    hosts = [make_host("a", num_instances=10), make_host("b", num_instances=0)]
    assert _weights(hosts, make_spec(), _only("NumInstancesWeigher")) == [0.0, 0.0]
    spread = _only("NumInstancesWeigher", num_instances_weight_multiplier=-1.0)
    assert _weights(hosts, make_spec(), spread) == [-1.0, -0.0]


def test_io_ops_weigher_sinks_busy_hosts(make_host, make_spec):
    hosts = [make_host("a", num_io_ops=4), make_host("b", num_io_ops=0)]
    assert _weights(hosts, make_spec(), _only("IoOpsWeigher")) == [-1.0, -0.0]


def test_build_failure_weigher_sinks_failing_hosts(make_host, make_spec):
    hosts = [make_host("a", failed_builds=3), make_host("b")]
    w = _weights(hosts, make_spec(), _only("BuildFailureWeigher"))
    assert w == [0.0, 1_000_000.0]


def test_soft_affinity_weighers(make_host, make_spec):
    hosts = [make_host("a", instance_uuids={"m1", "m2"}), make_host("b", instance_uuids={"m3"}),
             make_host("c")]
    soft = make_spec(instance_group=GroupSpec("g", "soft-affinity", members=["m1", "m2", "m3"]))
    assert _weights(hosts, soft, _only("ServerGroupSoftAffinityWeigher")) == [1.0, 0.5, 0.0]
    anti = make_spec(instance_group=GroupSpec("g", "soft-anti-affinity",
                                              members=["m1", "m2", "m3"]))
    assert _weights(hosts, anti, _only("ServerGroupSoftAntiAffinityWeigher")) == [0.0, 0.5, 1.0]
    # Wrong policy: no effect.
    assert _weights(hosts, soft, _only("ServerGroupSoftAntiAffinityWeigher")) == [0.0] * 3


def test_weights_sum_across_weighers(make_host, make_spec):
    hosts = [make_host("a", memory_mb=8192, local_gb=100),
             make_host("b", memory_mb=4096, local_gb=200)]
    settings = SchedulerSettings(weight_classes=["RAMWeigher", "DiskWeigher"],
                                 disk_weight_multiplier=2.0)
    assert _weights(hosts, make_spec(), settings) == [1.0, 2.0]


def test_aggregate_metadata_overrides_multiplier(make_host, make_spec):
    agg = Aggregate("stack", {"ram_weight_multiplier": "-1.0"})
    hosts = [make_host("a", memory_mb=4096, aggregates=[agg]),
             make_host("b", memory_mb=8192, aggregates=[agg]),
             make_host("c", memory_mb=6144)]
    assert _weights(hosts, make_spec(), _only("RAMWeigher")) == [-0.0, -1.0, 0.5]


def test_single_host_weighs_zero(make_host, make_spec):
    assert _weights([make_host("a")], make_spec(), SchedulerSettings()) == [0.0]


def test_unknown_weigher_is_a_config_error():
    with pytest.raises(ValueError, match="NoSuchWeigher"):
        build_weighers(SchedulerSettings(weight_classes=["NoSuchWeigher"]))


def test_weigher_classes_named_like_nova():
    assert RAMWeigher.name == "RAMWeigher" and CPUWeigher.option == "cpu_weight_multiplier"
    for cls in (DiskWeigher, NumInstancesWeigher, IoOpsWeigher, BuildFailureWeigher,
                ServerGroupSoftAffinityWeigher, ServerGroupSoftAntiAffinityWeigher):
        assert hasattr(SchedulerSettings(), cls.option)
