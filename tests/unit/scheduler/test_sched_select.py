"""select_hosts end to end: which host wins, alternates, drivers, forcing, explanations."""

import json
import random

import pytest

from activities.scheduler.host_table import HostTable
from activities.scheduler.select import (
    Selection,
    consume,
    select_for_instances,
    select_hosts,
)
from activities.scheduler.types import GroupSpec
from novaflow.settings import SchedulerSettings

RAM_ONLY = {"weight_classes": ["RAMWeigher"]}


def _hosts(make_host, *rams):
    return [make_host(f"host-{i}", memory_mb=ram, ram_allocation_ratio=1.0)
            for i, ram in enumerate(rams)]


def test_heaviest_host_first_then_alternates_in_order(make_host, make_spec):
    hosts = _hosts(make_host, 4096, 16384, 8192, 12288)
    sel = select_hosts(hosts, make_spec(), SchedulerSettings(**RAM_ONLY), num_alternates=2,
                       rng=random.Random(0))
    assert sel.hosts == ["host-1", "host-3", "host-2"]
    assert sel.host == "host-1" and sel.alternates == ["host-3", "host-2"]
    assert sel.node_uuids[0] == "uuid-host-1"
    assert sel.weights == sorted(sel.weights, reverse=True)


def test_equal_weights_keep_input_order(make_host, make_spec):
    hosts = _hosts(make_host, 8192, 8192, 8192)
    sel = select_hosts(hosts, make_spec(), SchedulerSettings(**RAM_ONLY), num_alternates=2)
    assert sel.hosts == ["host-0", "host-1", "host-2"]


def test_host_subset_size_picks_randomly_among_top_n(make_host, make_spec):
    hosts = _hosts(make_host, 16384, 15360, 14336, 4096, 2048)
    settings = SchedulerSettings(host_subset_size=3, **RAM_ONLY)
    rng = random.Random(7)
    chosen = {select_hosts(hosts, make_spec(), settings, rng=rng).host for _ in range(200)}
    assert chosen == {"host-0", "host-1", "host-2"}


def test_shuffle_best_same_weighed_hosts(make_host, make_spec):
    hosts = _hosts(make_host, 8192, 8192, 8192, 4096)
    plain = SchedulerSettings(**RAM_ONLY)
    assert {select_hosts(hosts, make_spec(), plain, rng=random.Random(s)).host
            for s in range(50)} == {"host-0"}
    shuffled = SchedulerSettings(shuffle_best_same_weighed_hosts=True, **RAM_ONLY)
    sels = [select_hosts(hosts, make_spec(), shuffled, num_alternates=3, rng=random.Random(s))
            for s in range(50)]
    assert {s.host for s in sels} == {"host-0", "host-1", "host-2"}
    assert all(s.hosts[3] == "host-3" for s in sels)  # the lighter host stays last


def test_chance_driver_random_among_passing_hosts(make_host, make_spec):
    hosts = _hosts(make_host, 16384, 16384, 16384, 1024)  # host-3 too small
    settings = SchedulerSettings(driver="chance_scheduler")
    rng = random.Random(3)
    sels = [select_hosts(hosts, make_spec(memory_mb=2048), settings, num_alternates=1, rng=rng)
            for _ in range(100)]
    assert {s.host for s in sels} == {"host-0", "host-1", "host-2"}
    assert all(len(s.hosts) == 2 and len(set(s.hosts)) == 2 for s in sels)
    assert all("host-3" not in s.hosts for s in sels)


def test_forced_host_bypasses_filters(make_host, make_spec):
    hosts = _hosts(make_host, 16384, 1024)
    spec = make_spec(memory_mb=8192, force_host="host-1", is_admin=True)
    sel = select_hosts(hosts, spec, SchedulerSettings())
    assert sel.hosts == ["host-1"]
    assert sel.explanation.filters_bypassed


def test_forced_host_with_check_type_still_filters(make_host, make_spec):
    hosts = _hosts(make_host, 16384, 1024)
    spec = make_spec(memory_mb=8192, force_host="host-1",
                     scheduler_hints={"_nova_check_type": "rebuild"})
    sel = select_hosts(hosts, spec, SchedulerSettings())
    assert sel.hosts == []
    assert sel.fault_message().endswith(
        "2 hosts: only forced host host-1 considered, RamFilter removed 1.")


def test_forced_host_missing(make_host, make_spec):
    sel = select_hosts(_hosts(make_host, 8192), make_spec(force_host="nope"),
                       SchedulerSettings())
    assert sel.hosts == []
    assert sel.fault_message() == (
        "No valid host was found. There are not enough hosts available. "
        "1 host: forced host nope not found.")


def test_forced_node(make_host, make_spec):
    hosts = [make_host("h", nodename="n1"), make_host("h", nodename="n2")]
    sel = select_hosts(hosts, make_spec(force_node="n2"), SchedulerSettings())
    assert (sel.hosts, sel.nodes) == (["h"], ["n2"])


def test_requested_host_restricts_but_still_filters(make_host, make_spec):
    hosts = _hosts(make_host, 16384, 4096)
    ok = select_hosts(hosts, make_spec(requested_host="host-1", memory_mb=2048),
                      SchedulerSettings(), num_alternates=2)
    assert ok.hosts == ["host-1"]
    too_big = select_hosts(hosts, make_spec(requested_host="host-1", memory_mb=8192),
                           SchedulerSettings())
    assert too_big.hosts == []
    assert "only requested host host-1 considered, RamFilter removed 1" in (
        too_big.fault_message())


def test_ignore_hosts_always_excluded_and_explained(make_host, make_spec):
    hosts = _hosts(make_host, 16384, 8192)
    settings = SchedulerSettings(enabled_filters=["RamFilter"], **RAM_ONLY)
    sel = select_hosts(hosts, make_spec(ignore_hosts=["host-0"]), settings)
    assert sel.hosts == ["host-1"]
    assert sel.explanation.retry_excluded == ["host-0"]


def test_explanation_of_no_valid_host(make_host, make_spec):
    hosts = [make_host("host-a", memory_mb=16384), make_host("host-b", memory_mb=1024),
             make_host("host-c", memory_mb=2048, ram_allocation_ratio=1.0, memory_mb_used=1024),
             make_host("host-d", service_disabled=True)]
    spec = make_spec(memory_mb=3072, ignore_hosts=["host-a"])
    sel = select_hosts(hosts, spec, SchedulerSettings(), num_alternates=2)
    expl = sel.explanation
    assert sel.hosts == [] and sel.host is None
    assert expl.total_hosts == 4
    assert expl.retry_excluded == ["host-a"]
    # Nova stops at the filter that leaves nobody.
    assert expl.removed_by() == [("RetryFilter", 1), ("ComputeFilter", 1),
                                 ("AvailabilityZoneFilter", 0), ("RamFilter", 2)]
    assert expl.host_reasons is None
    assert sel.fault_message() == (
        "No valid host was found. There are not enough hosts available. 4 hosts: "
        "RetryFilter removed 1 (tried: host-a), ComputeFilter removed 1, RamFilter removed 2.")


def test_explain_hosts_gives_first_rejection_per_host(make_host, make_spec):
    hosts = [make_host("host-a"), make_host("host-b", memory_mb=1024),
             make_host("host-c", service_disabled=True, memory_mb=1024)]
    spec = make_spec(memory_mb=3072, ignore_hosts=["host-a"])
    sel = select_hosts(hosts, spec, SchedulerSettings(), explain_hosts=True)
    assert sel.explanation.host_reasons == {
        "host-a": "RetryFilter: host already tried by an earlier attempt",
        "host-b": "RamFilter: 3072 MB requested > 1024 MB physical RAM",
        "host-c": "ComputeFilter: compute service is disabled",
    }
    steps = {s.filter: s.removed_hosts for s in sel.explanation.steps}
    assert steps["RamFilter"] == ["host-b"]


def test_no_hosts_at_all(make_spec):
    sel = select_hosts([], make_spec(), SchedulerSettings())
    assert sel.hosts == []
    assert sel.fault_message() == (
        "No valid host was found. There are not enough hosts available. 0 hosts.")


def test_to_dict_is_json_and_round_trips(make_host, make_spec):
    hosts = [make_host("host-a", memory_mb=1024), make_host("host-b")]
    sel = select_hosts(hosts, make_spec(memory_mb=3072, ignore_hosts=["host-b"]),
                       SchedulerSettings(), explain_hosts=True)
    data = json.loads(json.dumps(sel.to_dict()))
    assert data["fault"] == sel.fault_message()
    assert data["explanation"]["steps"][0] == {
        "filter": "RetryFilter", "before": 2, "removed": 1, "removed_hosts": ["host-b"]}
    back = Selection.from_dict(data)
    assert back.hosts == [] and back.fault_message() == sel.fault_message()
    assert back.explanation.host_reasons == sel.explanation.host_reasons

    ok = select_hosts(hosts, make_spec(), SchedulerSettings(), num_alternates=1)
    data = json.loads(json.dumps(ok.to_dict()))
    assert data["hosts"] == ok.hosts and data["fault"] is None


def test_consume_adds_request_usage(make_host, make_spec):
    host = make_host(vcpus_used=1, memory_mb_used=512, local_gb_used=10)
    consume(host, make_spec(vcpus=2, memory_mb=2048, root_gb=20, swap_mb=100,
                            instance_uuid="vm-9"))
    assert (host.vcpus_used, host.memory_mb_used, host.local_gb_used) == (3, 2560, 31)
    assert (host.num_instances, host.num_io_ops) == (1, 1)
    assert "vm-9" in host.instance_uuids


def test_table_consume_changes_next_decision(make_host, make_spec):
    table = HostTable(_hosts(make_host, 8192, 6144))
    settings = SchedulerSettings(**RAM_ONLY)
    first = select_hosts(table, make_spec(memory_mb=4096), settings)
    assert first.host == "host-0"
    table.consume(first.rows[0], make_spec(memory_mb=4096))
    assert table.hosts[0].memory_mb_used == 4096
    assert select_hosts(table, make_spec(memory_mb=4096), settings).host == "host-1"


def test_multi_create_spreads_anti_affinity_group(make_host, make_spec):
    hosts = _hosts(make_host, 16384, 8192, 4096)
    group = GroupSpec("g", "anti-affinity", members=["i1", "i2", "i3", "i4"])
    spec = make_spec(memory_mb=1024, instance_group=group)
    sels = select_for_instances(hosts, spec, SchedulerSettings(), ["i1", "i2", "i3", "i4"])
    assert [s.host for s in sels] == ["host-0", "host-1", "host-2", None]
    assert "ServerGroupAntiAffinityFilter removed 3" in sels[-1].fault_message()
    assert group.hosts == []  # the caller's group is left alone


def test_multi_create_affinity_follows_first(make_host, make_spec):
    hosts = _hosts(make_host, 8192, 16384)
    spec = make_spec(memory_mb=1024, instance_group=GroupSpec("g", "affinity"))
    sels = select_for_instances(hosts, spec, SchedulerSettings(**RAM_ONLY), ["i1", "i2", "i3"])
    assert [s.host for s in sels] == ["host-1"] * 3


def test_unknown_filter_is_a_config_error(make_host, make_spec):
    with pytest.raises(ValueError, match="NoSuchFilter"):
        select_hosts([make_host()], make_spec(),
                     SchedulerSettings(enabled_filters=["NoSuchFilter"]))
