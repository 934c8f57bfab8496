"""Extra-spec operators, capability, image-property and aggregate-metadata filters."""

import json

import pytest

from activities.scheduler.filters import (
    AggregateInstanceExtraSpecsFilter,
    AggregateTypeAffinityFilter,
    ComputeCapabilitiesFilter,
    ImagePropertiesFilter,
)
from activities.scheduler.filters.capabilities import hypervisor_version_str, version_satisfies
from activities.scheduler.filters.spec_ops import match
from activities.scheduler.types import Aggregate


@pytest.mark.parametrize("value,req,expected", [
    ("1", "1", True), ("1", "2", False),                    # bare value: equality
    ("123", "= 123", True), ("124", "= 123", True), ("122", "= 123", False),
    ("123", "== 123", True), ("123.0", "== 123", True), ("124", "== 123", False),
    ("124", "!= 123", True), ("123", "!= 123", False),
    ("124", ">= 123", True), ("122", ">= 123", False),
    ("122", "<= 123", True), ("124", "<= 123", False),
    ("abc", "s== abc", True), ("abd", "s== abc", False),
    ("abd", "s!= abc", True), ("abc", "s!= abc", False),
    ("abc", "s< abd", True), ("abe", "s< abd", False),
    ("abd", "s<= abd", True), ("abe", "s<= abd", False),
    ("abe", "s> abd", True), ("abc", "s> abd", False),
    ("abd", "s>= abd", True), ("abc", "s>= abd", False),
    ("12311321", "<in> 11", True), ("12311321", "<in> 99", False),
    ("12311321", "<all-in> 11 32", True), ("12311321", "<all-in> 11 99", False),
    ("13", "<or> 11 <or> 12 <or> 13", True), ("14", "<or> 11 <or> 12", False),
    ("12", "<or> 11 12", False),                            # malformed: only 11 counted
    ("abc", "= 1", False),                                  # non-numeric never matches
    (None, ">= 1", False), ("1", ">=", False),
])
def test_extra_specs_operators(value, req, expected):
    assert match(value, req) is expected


def test_capabilities_scoped_key_matches_host_field(make_host, make_spec):
    f = ComputeCapabilitiesFilter()
    host = make_host(hypervisor_type="QEMU")
    assert f.host_passes(host, make_spec(
        extra_specs={"capabilities:hypervisor_type": "s== QEMU"})) is None
    assert f.host_passes(host, make_spec(
        extra_specs={"capabilities:hypervisor_type": "s== Xen"})) == (
        "ComputeCapabilitiesFilter: capability hypervisor_type=QEMU does not match 's== Xen'")


def test_capabilities_nested_json_cpu_info(make_host, make_spec):
    f = ComputeCapabilitiesFilter()
    host = make_host(capabilities={"cpu_info": json.dumps(
        {"vendor": "Intel", "features": ["vmx", "avx2"]})})
    spec = make_spec(extra_specs={"capabilities:cpu_info:vendor": "Intel",
                                  "capabilities:cpu_info:features": "<in> avx2"})
    assert f.host_passes(host, spec) is None
    missing = make_spec(extra_specs={"capabilities:cpu_info:topology": "1"})
    assert f.host_passes(host, missing) == (
        "ComputeCapabilitiesFilter: host has no capability cpu_info:topology")


def test_capabilities_unscoped_keys_only_checked_when_host_has_them(make_host, make_spec):
    f = ComputeCapabilitiesFilter()
    host = make_host(vcpus=8, capabilities={"gpu": "nvidia"})
    assert f.host_passes(host, make_spec(extra_specs={"unknown_key": "x"})) is None
    assert f.host_passes(host, make_spec(extra_specs={"vcpus": ">= 16"})) is not None
    assert f.host_passes(host, make_spec(extra_specs={"gpu": "nvidia"})) is None
    assert f.host_passes(host, make_spec(extra_specs={"gpu": "amd"})) is not None


def test_capabilities_other_scopes_ignored(make_host, make_spec):
    spec = make_spec(extra_specs={"hw:cpu_policy": "dedicated", "trait:HW_X": "required"})
    assert not ComputeCapabilitiesFilter().applies(spec)
    assert ComputeCapabilitiesFilter().host_passes(make_host(), spec) is None


IMAGE = {"hw_architecture": "x86_64", "img_hv_type": "qemu", "hw_vm_mode": "hvm"}


def test_image_properties_match(make_host, make_spec):
    f = ImagePropertiesFilter()
    assert f.host_passes(make_host(), make_spec(image_properties=IMAGE)) is None
    # Old property names and aliases are understood too.
    old = {"architecture": "amd64", "hypervisor_type": "QEMU", "vm_mode": "hv"}
    assert f.host_passes(make_host(), make_spec(image_properties=old)) is None


def test_image_properties_architecture_mismatch(make_host, make_spec):
    host = make_host(supported_instances=[("aarch64", "qemu", "hvm")])
    assert ImagePropertiesFilter().host_passes(host, make_spec(image_properties=IMAGE)) == (
        "ImagePropertiesFilter: image needs x86_64/qemu/hvm, host supports aarch64/qemu/hvm")


def test_image_properties_hypervisor_type_and_vm_mode(make_host, make_spec):
    f = ImagePropertiesFilter()
    host = make_host(supported_instances=[("x86_64", "xen", "xen")])
    assert f.host_passes(host, make_spec(image_properties={"img_hv_type": "qemu"})) is not None
    assert f.host_passes(host, make_spec(image_properties={"hw_vm_mode": "hvm"})) is not None
    assert f.host_passes(host, make_spec(image_properties={"hw_vm_mode": "pv"})) is None


def test_image_properties_no_supported_instances(make_host, make_spec):
    host = make_host(supported_instances=[])
    assert "advertises no supported instances" in ImagePropertiesFilter().host_passes(
        host, make_spec(image_properties=IMAGE))
    assert ImagePropertiesFilter().host_passes(host, make_spec(image_properties={})) is None


def test_image_properties_hypervisor_version(make_host, make_spec):
    f = ImagePropertiesFilter()
    host = make_host(hypervisor_version=6_002_000)
    ok = dict(IMAGE, img_hv_requested_version=">=6.0, <7")
    assert f.host_passes(host, make_spec(image_properties=ok)) is None
    too_old = dict(IMAGE, img_hv_requested_version=">=6.3")
    assert f.host_passes(host, make_spec(image_properties=too_old)) == (
        "ImagePropertiesFilter: hypervisor version 6.2.0 does not satisfy >=6.3")


def test_version_helpers():
    assert hypervisor_version_str(8_002_001) == "8.2.1"
    assert version_satisfies(6_000_000, "==6.0")
    assert not version_satisfies(6_000_000, "!=6")
    assert not version_satisfies(6_000_000, ">=x")


def test_aggregate_extra_specs_scoped_and_unscoped(make_host, make_spec):
    f = AggregateInstanceExtraSpecsFilter()
    host = make_host(aggregates=[Aggregate("fast", {"ssd": "true", "gen": "3"})])
    assert f.host_passes(host, make_spec(extra_specs={
        "aggregate_instance_extra_specs:ssd": "true", "gen": ">= 2"})) is None
    assert f.host_passes(host, make_spec(extra_specs={
        "aggregate_instance_extra_specs:ssd": "false"})) == (
        "AggregateInstanceExtraSpecsFilter: aggregate metadata ssd=true does not match 'false'")


def test_aggregate_extra_specs_missing_key_rejects(make_host, make_spec):
    f = AggregateInstanceExtraSpecsFilter()
    spec = make_spec(extra_specs={"aggregate_instance_extra_specs:ssd": "true"})
    assert f.host_passes(make_host(), spec) == (
        "AggregateInstanceExtraSpecsFilter: no aggregate of the host sets ssd")
    # Keys in other scopes are not this filter's business.
    assert f.host_passes(make_host(), make_spec(
        extra_specs={"capabilities:x": "1", "hw:y": "2"})) is None


def test_aggregate_type_affinity(make_host, make_spec):
    f = AggregateTypeAffinityFilter()
    host = make_host(aggregates=[Aggregate("big", {"instance_type": "m1.large, m1.xlarge"})])
    assert f.host_passes(host, make_spec(flavor_name="m1.xlarge")) is None
    assert f.host_passes(host, make_spec(flavor_name="m1.small")) == (
        "AggregateTypeAffinityFilter: aggregates allow only m1.large, m1.xlarge, not m1.small")
    assert f.host_passes(make_host(), make_spec(flavor_name="m1.small")) is None
