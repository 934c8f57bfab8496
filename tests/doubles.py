"""Test doubles for failures the real stack cannot be made to produce, each a
real LibvirtDriver (same interface, same libvirt state) with steps broken,
and the helper that swaps a running host's driver."""

from __future__ import annotations

from functools import partial

from activities.hypervisor.faults import FaultInjectingDriver
from activities.hypervisor.libvirt_driver import LibvirtDriver
from workers import sim_hosts
from workers.host_runner import libvirt_driver_factory

# A host whose hypervisor refuses every spawn.
FailingSpawnDriver = partial(FaultInjectingDriver, faults={"spawn"})
# A host whose hypervisor takes its time starting a domain.
SlowSpawnDriver = partial(FaultInjectingDriver, delays={"spawn": 3.0})


def restart_host_with(stack_thread, name: str, driver_cls=LibvirtDriver,
                      **driver_kwargs) -> LibvirtDriver:
    """Restart host ``name``'s worker over a ``driver_cls`` driver (same libvirt state)."""
    st = stack_thread.stack
    host = st.running_hosts[name].host if name in st.running_hosts else next(
        h for h in sim_hosts.prepare(st.state_dir, st.hosts, st.host_specs) if h.name == name)
    if name in st.running_hosts:
        stack_thread.call(st.stop_host(name))
    driver = libvirt_driver_factory(host, sim_hosts.libvirt_uri(st.state_dir, host),
                                    st.state_dir, driver_cls, **driver_kwargs)
    stack_thread.call(st.start_host(host, driver=driver))
    return driver
