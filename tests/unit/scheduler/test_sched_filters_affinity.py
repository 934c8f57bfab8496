"""Server-group (anti-)affinity and same/different-host hint filters."""

from activities.scheduler.filters import (
    DifferentHostFilter,
    SameHostFilter,
    ServerGroupAffinityFilter,
    ServerGroupAntiAffinityFilter,
)
from activities.scheduler.types import GroupSpec


def _group(policy, hosts=(), members=(), rules=None):
    return GroupSpec("grp-1", policy, hosts=list(hosts), members=list(members),
                     rules=rules or {})


def test_anti_affinity_rejects_host_with_a_member(make_host, make_spec):
    f = ServerGroupAntiAffinityFilter()
    spec = make_spec(instance_group=_group("anti-affinity", hosts=["host-a"], members=["m1"]))
    assert f.host_passes(make_host("host-b"), spec) is None
    assert f.host_passes(make_host("host-a"), spec) == (
        "ServerGroupAntiAffinityFilter: 1 members of anti-affinity group grp-1 "
        "already on host (max 1)")


def test_anti_affinity_counts_members_by_instance_uuid(make_host, make_spec):
    spec = make_spec(instance_group=_group("anti-affinity", members=["m1", "m2"]))
    host = make_host("host-a", instance_uuids={"m2", "other"})
    assert ServerGroupAntiAffinityFilter().host_passes(host, spec) is not None


def test_anti_affinity_honours_max_server_per_host(make_host, make_spec):
    f = ServerGroupAntiAffinityFilter()
    group = _group("anti-affinity", hosts=["host-a"], rules={"max_server_per_host": 2})
    spec = make_spec(instance_group=group)
    assert f.host_passes(make_host("host-a"), spec) is None
    group.hosts.append("host-a")
    assert "2 members" in f.host_passes(make_host("host-a"), spec)


def test_anti_affinity_lets_a_moving_instance_keep_its_host(make_host, make_spec):
    spec = make_spec(instance_uuid="m1",
                     instance_group=_group("anti-affinity", hosts=["host-a"], members=["m1"]))
    host = make_host("host-a", instance_uuids={"m1"})
    assert ServerGroupAntiAffinityFilter().host_passes(host, spec) is None


def test_anti_affinity_ignores_other_policies(make_host, make_spec):
    spec = make_spec(instance_group=_group("affinity", hosts=["host-a"]))
    assert ServerGroupAntiAffinityFilter().host_passes(make_host("host-a"), spec) is None


def test_affinity_requires_a_member_host(make_host, make_spec):
    f = ServerGroupAffinityFilter()
    spec = make_spec(instance_group=_group("affinity", hosts=["host-a"]))
    assert f.host_passes(make_host("host-a"), spec) is None
    assert f.host_passes(make_host("host-b"), spec) == (
        "ServerGroupAffinityFilter: affinity group grp-1 members are on host-a")


def test_affinity_first_member_goes_anywhere(make_host, make_spec):
    spec = make_spec(instance_group=_group("affinity", members=["inst-new"]))
    assert ServerGroupAffinityFilter().host_passes(make_host("host-b"), spec) is None


def test_same_host_hint(make_host, make_spec):
    f = SameHostFilter()
    spec = make_spec(scheduler_hints={"same_host": ["vm-1", "vm-2"]})
    assert f.host_passes(make_host(instance_uuids={"vm-2"}), spec) is None
    assert f.host_passes(make_host(instance_uuids={"vm-9"}), spec) == (
        "SameHostFilter: none of the same_host instances run here")
    # A single uuid string works as well as a list.
    assert f.host_passes(make_host(instance_uuids={"vm-1"}),
                         make_spec(scheduler_hints={"same_host": "vm-1"})) is None


def test_different_host_hint(make_host, make_spec):
    f = DifferentHostFilter()
    spec = make_spec(scheduler_hints={"different_host": ["vm-1"]})
    assert f.host_passes(make_host(instance_uuids={"vm-2"}), spec) is None
    assert f.host_passes(make_host(instance_uuids={"vm-1"}), spec) == (
        "DifferentHostFilter: runs different_host instance vm-1")
    assert f.host_passes(make_host(instance_uuids={"vm-1"}), make_spec()) is None
