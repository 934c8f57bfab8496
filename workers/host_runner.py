"""One machine's compute hosts: a worker per host on its own task queue.

Each simulated host has its own libvirt connection (the test driver by
default; ``virt="qemu"``: real guests on the shared qemu:///system).  Past
``host_group_above`` hosts, their workers share one thread pool and a
single poller each, register in batches, and report as one host group.

The embedded stack runs a HostRunner inside its own process (the tests stop
and restart single hosts through it); ``novaflow worker hosts`` runs one in
a process of its own, as ``novaflow up`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.hypervisor import libvirtd
from activities.hypervisor.driver import ComputeDriver
from activities.hypervisor.group import HostGroupActivities
from activities.hypervisor.libvirt_driver import LibvirtDriver
from activities.types.hosts import RegisterHostInput
from novaflow.settings import Settings
from workers import real_hosts, sim_hosts
from workers.host import (
    build_host_group_worker,
    build_host_worker,
    register_host,
    register_hosts,
    start_host_group_monitor,
)

GROUP = "embedded"  # the host group of the stack's own simulated hosts
DriverFactory = Callable[[sim_hosts.SimHost, str, Path], ComputeDriver]


def libvirt_driver_factory(host: sim_hosts.SimHost, uri: str, state_dir: Path,
                           driver_cls: type[LibvirtDriver] = LibvirtDriver,
                           **kwargs: Any) -> ComputeDriver:
    """A simulated host's driver: libvirt's test driver, domains kept on disk."""
    return driver_cls(uri, host.name, local_gb=host.local_gb,
                      persist_path=sim_hosts.domains_file(state_dir, host),
                      images_dir=str((state_dir / "instances").resolve()), **kwargs)


@dataclass
class RunningHost:
    """A host worker that is running, and what it needs to stop."""

    host: sim_hosts.SimHost
    driver: ComputeDriver
    worker: Worker
    task: asyncio.Task


class HostRunner:
    """Starts, stops and restarts one machine's host workers."""

    def __init__(self, client: Client, settings: Settings, virt: str = "test",
                 driver_factory: DriverFactory = libvirt_driver_factory):
        self.client = client
        self.settings = settings
        self.virt = virt
        self.driver_factory = driver_factory
        self.running: dict[str, RunningHost] = {}
        self.test_image: tuple[Path, Path] | None = None
        self._group: HostGroupActivities | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._workers: list[tuple[Worker, asyncio.Task]] = []

    @property
    def state_dir(self) -> Path:
        return self.settings.state_dir

    async def prepare_real_guests(self, count: int) -> None:
        """Packages, libvirtd, the test image and the kvm/qemu probe."""
        self.test_image = await asyncio.to_thread(real_hosts.build_test_image)
        virt_type = await asyncio.to_thread(real_hosts.prepare_machine, self.test_image[0])
        self.driver_factory = real_hosts.driver_factory(self.settings, virt_type, count)

    async def start_all(self, hosts: list[sim_hosts.SimHost]) -> None:
        """Start every host: one by one, or as a group past ``host_group_above``."""
        if self.virt == "qemu":
            await self.prepare_real_guests(len(hosts))
        if len(hosts) > self.settings.host_group_above and self.virt != "qemu":
            await self._start_group(hosts)
        else:
            for host in hosts:
                await self.start_host(host)

    async def _start_group(self, hosts: list[sim_hosts.SimHost]) -> None:
        """Many hosts: their workers share threads, register in batches, report as one."""
        self._executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="sim-host")
        self._group = HostGroupActivities({})
        entries = []
        for host in hosts:
            running = await self.start_host(host, register=False)
            entries.append(RegisterHostInput(
                hostname=host.name, inventory=running.driver.node_info().inventory(),
                availability_zone=host.availability_zone,
                libvirt_uri=sim_hosts.libvirt_uri(self.state_dir, host)))
        await register_hosts(self.client, entries, GROUP)
        worker = build_host_group_worker(self.client, self._group, GROUP, self._executor)
        self._workers.append((worker, asyncio.create_task(worker.run())))
        await start_host_group_monitor(self.client, GROUP, [h.name for h in hosts],
                                       float(self.settings.report_interval))

    async def start_host(self, host: sim_hosts.SimHost, driver: ComputeDriver | None = None,
                         register: bool = True) -> RunningHost:
        """Start (or restart) one host's worker and register the host."""
        uri = (libvirtd.QEMU_URI if self.virt == "qemu"
               else sim_hosts.libvirt_uri(self.state_dir, host))
        driver = driver or self.driver_factory(host, uri, self.state_dir)
        grouped = self._group is not None
        worker = build_host_worker(self.client, driver, host.name,
                                   executor=self._executor, pollers=1 if grouped else None)
        task = asyncio.create_task(worker.run())
        if register:
            await register_host(self.client, driver, host.name, host.availability_zone, uri,
                                monitor=not grouped)
        if grouped:
            self._group.drivers[host.name] = driver
        running = RunningHost(host=host, driver=driver, worker=worker, task=task)
        self.running[host.name] = running
        return running

    async def stop_host(self, name: str) -> None:
        """Stop a host's worker, as if the host died (its queue goes unpolled)."""
        running = self.running.pop(name)
        if self._group is not None:
            self._group.drivers.pop(name, None)  # its reports stop, as a dead host's would
        await running.worker.shutdown()
        with contextlib.suppress(Exception):
            await running.task
        running.driver.close()

    async def stop(self) -> None:
        # All at once: one by one, 1,000 hosts took a minute to stop.
        await asyncio.gather(*(self.stop_host(name) for name in list(self.running)))
        for worker, task in self._workers:
            with contextlib.suppress(Exception):
                await worker.shutdown()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 15)
        if self._executor is not None:
            self._executor.shutdown(wait=False)
