"""Retry exclusion, compute service state and availability-zone filters."""

from activities.scheduler.filters import AvailabilityZoneFilter, ComputeFilter, RetryFilter
from activities.scheduler.types import Aggregate


def test_retry_filter_rejects_tried_hosts_case_insensitively(make_host, make_spec):
    spec = make_spec(ignore_hosts=["HOST-A"])
    assert RetryFilter().host_passes(make_host("host-a"), spec) == (
        "RetryFilter: host already tried by an earlier attempt")
    assert RetryFilter().host_passes(make_host("host-b"), spec) is None


def test_retry_filter_without_retries_passes(make_host, make_spec):
    assert not RetryFilter().applies(make_spec())
    assert RetryFilter().host_passes(make_host(), make_spec()) is None


def test_compute_filter_disabled_and_down(make_host, make_spec):
    f = ComputeFilter()
    assert f.host_passes(make_host(), make_spec()) is None
    assert f.host_passes(make_host(service_disabled=True), make_spec()) == (
        "ComputeFilter: compute service is disabled")
    assert f.host_passes(make_host(service_up=False), make_spec()).startswith(
        "ComputeFilter: compute service is down")


def test_az_filter_uses_host_zone(make_host, make_spec):
    f = AvailabilityZoneFilter()
    host = make_host(availability_zone="az-1")
    assert f.host_passes(host, make_spec(availability_zone="az-1")) is None
    assert f.host_passes(host, make_spec(availability_zone="az-2")) == (
        "AvailabilityZoneFilter: host is in az-1, not az-2")


def test_az_filter_without_requested_zone_passes(make_host, make_spec):
    assert AvailabilityZoneFilter().host_passes(make_host(availability_zone="x"),
                                                make_spec()) is None


def test_az_filter_prefers_aggregate_metadata(make_host, make_spec):
    f = AvailabilityZoneFilter()
    host = make_host(availability_zone="nova",
                     aggregates=[Aggregate("rack1", {"availability_zone": "az-east"})])
    assert f.host_passes(host, make_spec(availability_zone="az-east")) is None
    assert f.host_passes(host, make_spec(availability_zone="nova")) == (
        "AvailabilityZoneFilter: host is in az-east, not nova")
