"""Factories for host states and request specs used by the scheduler unit tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from activities.scheduler.types import FlavorSpec, HostState, RequestSpec


def _host(name: str = "host-a", **kw: Any) -> HostState:
    defaults: dict[str, Any] = {
        "nodename": name, "node_uuid": f"uuid-{name}", "vcpus": 8, "memory_mb": 16384,
        "local_gb": 200, "supported_instances": [("x86_64", "qemu", "hvm")],
        "hypervisor_version": 8_002_000, "reserved_host_memory_mb": 0}
    defaults.update(kw)
    return HostState(host=name, **defaults)


def _spec(vcpus: int = 2, memory_mb: int = 2048, root_gb: int = 20, **kw: Any) -> RequestSpec:
    extra_specs = kw.pop("extra_specs", {})
    flavor_name = kw.pop("flavor_name", "m1.small")
    flavor = FlavorSpec(flavor_name, vcpus, memory_mb, root_gb,
                        ephemeral_gb=kw.pop("ephemeral_gb", 0), swap_mb=kw.pop("swap_mb", 0),
                        extra_specs=extra_specs)
    kw.setdefault("instance_uuid", "inst-new")
    return RequestSpec(flavor=flavor, **kw)


@pytest.fixture
def make_host() -> Callable[..., HostState]:
    """make_host(name, **HostState fields) with a roomy x86_64/qemu default."""
    return _host


@pytest.fixture
def make_spec() -> Callable[..., RequestSpec]:
    """make_spec(vcpus, memory_mb, root_gb, **RequestSpec fields, extra_specs=...)."""
    return _spec
