"""Test doubles for failures the real stack cannot be made to produce, each a
real LibvirtDriver (same interface, same libvirt state) with one step broken,
and the helper that swaps a running host's driver."""

from __future__ import annotations

from activities.hypervisor.driver import DomainInfo, DriverError
from activities.hypervisor.libvirt_driver import LibvirtDriver
from activities.types import SpawnInput
from workers import sim_hosts
from workers.stack import libvirt_driver_factory


class FailingSpawnDriver(LibvirtDriver):
    """A host whose hypervisor refuses every spawn."""

    def spawn(self, inp: SpawnInput) -> DomainInfo:
        raise DriverError("injected: qemu exited while starting the domain")


def restart_host_with(stack_thread, name: str, driver_cls: type[LibvirtDriver] = LibvirtDriver,
                      **driver_kwargs) -> LibvirtDriver:  # noqa: ANN001
    """Restart host ``name``'s worker over a ``driver_cls`` driver (same libvirt state)."""
    st = stack_thread.stack
    host = st.running_hosts[name].host if name in st.running_hosts else next(
        h for h in sim_hosts.prepare(st.state_dir, st.hosts, st.host_specs) if h.name == name)
    if name in st.running_hosts:
        stack_thread.call(st.stop_host(name))
    base = libvirt_driver_factory(host, sim_hosts.libvirt_uri(st.state_dir, host), st.state_dir)
    base.close()
    driver = driver_cls(base.uri, host.name, local_gb=host.local_gb,
                        persist_path=sim_hosts.domains_file(st.state_dir, host),
                        images_dir=base._images_dir, **driver_kwargs)
    stack_thread.call(st.start_host(host, driver=driver))
    return driver
