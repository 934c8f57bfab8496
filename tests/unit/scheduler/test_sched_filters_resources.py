"""RAM, vCPU, disk, instance-count and I/O filters: ratios, reserved amounts, reasons."""

from activities.scheduler.filters import (
    CoreFilter,
    DiskFilter,
    IoOpsFilter,
    NumInstancesFilter,
    RamFilter,
)
from novaflow.settings import SchedulerSettings


def test_ram_filter_passes_with_overcommit(make_host, make_spec):
    # 4096 * 1.5 - 512 - 4000 = 1632 usable >= 1536
    host = make_host(memory_mb=4096, memory_mb_used=4000, reserved_host_memory_mb=512)
    assert RamFilter().host_passes(host, make_spec(memory_mb=1536)) is None


def test_ram_filter_rejects_with_usable_and_requested(make_host, make_spec):
    host = make_host(memory_mb=4096, memory_mb_used=4096, ram_allocation_ratio=1.0,
                     reserved_host_memory_mb=0)
    host.memory_mb_used = 2560
    reason = RamFilter().host_passes(host, make_spec(memory_mb=2048))
    assert reason == "RamFilter: 1536 MB usable RAM < 2048 MB requested"


def test_ram_filter_counts_reserved_memory(make_host, make_spec):
    host = make_host(memory_mb=4096, ram_allocation_ratio=1.0, reserved_host_memory_mb=1024)
    assert RamFilter().host_passes(host, make_spec(memory_mb=3072)) is None
    assert "3072 MB usable RAM < 4000 MB" in RamFilter().host_passes(
        host, make_spec(memory_mb=4000))


def test_ram_filter_never_overcommits_one_instance_against_itself(make_host, make_spec):
    # Usable would be 8192 * 16 but one instance cannot exceed the host's RAM.
    host = make_host(memory_mb=8192, ram_allocation_ratio=16.0)
    reason = RamFilter().host_passes(host, make_spec(memory_mb=8193))
    assert reason == "RamFilter: 8193 MB requested > 8192 MB physical RAM"


def test_core_filter_ratio_and_reason(make_host, make_spec):
    host = make_host(vcpus=4, vcpus_used=62, cpu_allocation_ratio=16.0)
    assert CoreFilter().host_passes(host, make_spec(vcpus=2)) is None
    host.vcpus_used = 63
    assert CoreFilter().host_passes(host, make_spec(vcpus=2)) == (
        "CoreFilter: 1 usable vCPUs < 2 requested")


def test_core_filter_reserved_cpus(make_host, make_spec):
    host = make_host(vcpus=4, cpu_allocation_ratio=1.0, reserved_host_cpus=3)
    assert CoreFilter().host_passes(host, make_spec(vcpus=1)) is None
    assert CoreFilter().host_passes(host, make_spec(vcpus=2)).startswith("CoreFilter: 1 usable")


def test_core_filter_request_larger_than_host(make_host, make_spec):
    host = make_host(vcpus=4, cpu_allocation_ratio=16.0)
    assert CoreFilter().host_passes(host, make_spec(vcpus=5)) == (
        "CoreFilter: 5 vCPUs requested > 4 physical vCPUs")


def test_disk_filter_counts_root_ephemeral_and_swap(make_host, make_spec):
    host = make_host(local_gb=50, local_gb_used=20, disk_allocation_ratio=1.0)
    # 30 GB free = 30720 MB; 20 + 10 GB + 512 MB swap = 31232 MB
    spec = make_spec(root_gb=20, ephemeral_gb=10, swap_mb=512)
    assert DiskFilter().host_passes(host, spec) == (
        "DiskFilter: 30720 MB usable disk < 31232 MB requested")
    assert DiskFilter().host_passes(host, make_spec(root_gb=20, ephemeral_gb=10)) is None


def test_disk_filter_ratio_reserved_and_self_overcommit(make_host, make_spec):
    host = make_host(local_gb=100, disk_allocation_ratio=2.0, local_gb_used=150,
                     reserved_host_disk_mb=1024)
    # 204800 - 1024 - 153600 = 50176 MB usable
    assert DiskFilter().host_passes(host, make_spec(root_gb=49)) is None
    assert "50176 MB usable disk" in DiskFilter().host_passes(host, make_spec(root_gb=50))
    empty = make_host(local_gb=100, disk_allocation_ratio=2.0)
    assert DiskFilter().host_passes(empty, make_spec(root_gb=101)) == (
        "DiskFilter: 103424 MB requested > 102400 MB physical disk")


def test_num_instances_filter(make_host, make_spec):
    f = NumInstancesFilter(SchedulerSettings(max_instances_per_host=3))
    assert f.host_passes(make_host(num_instances=2), make_spec()) is None
    assert f.host_passes(make_host(num_instances=3), make_spec()) == (
        "NumInstancesFilter: 3 instances >= limit 3")


def test_io_ops_filter(make_host, make_spec):
    f = IoOpsFilter(SchedulerSettings(max_io_ops_per_host=8))
    assert f.host_passes(make_host(num_io_ops=7), make_spec()) is None
    assert f.host_passes(make_host(num_io_ops=8), make_spec()) == (
        "IoOpsFilter: 8 I/O operations >= limit 8")
