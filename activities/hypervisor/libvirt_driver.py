"""The libvirt compute driver: real libvirt-python calls for one host.

Against ``qemu:///system`` it drives KVM/QEMU.  Against libvirt's built-in
test driver (``test:///<node.xml>``, the embedded stack's hosts) the same
calls run on an in-memory hypervisor whose state lives only as long as the
connection; ``persist_path`` keeps that state in a JSON file so a restarted
host worker finds its domains again, as a real host would.

With ``guest_files`` (real guests) a spawn also fetches the image into the
host's cache, builds the disks, config drive and libvirt networks
(guest_files.py) and a delete removes them.  Several hosts may share one
libvirtd: each sees only the domains whose metadata names it, and reports
``1/inventory_share`` of the machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import libvirt

from activities.hypervisor import networks
from activities.hypervisor.console import console_endpoint_from_xml, read_tail
from activities.hypervisor.domain_xml import (
    METADATA_NS,
    build_domain_xml,
    domain_name,
    owner_host,
)
from activities.hypervisor.driver import (
    ComputeDriver,
    ConsoleUnavailable,
    DomainInfo,
    DomainNotFound,
    DriverError,
    NodeInfo,
)
from activities.hypervisor.guest_files import GuestFiles
from activities.hypervisor.libvirt_day2 import LibvirtDay2Mixin
from activities.types.catalog import FlavorInfo
from activities.types.consoles import ConsoleEndpoint
from activities.types.hypervisor import SpawnInput
from activities.types.moves import HostCapabilities, LiveMigrateData
from novaflow import logs
from novaflow.states import PowerState

log = logs.get_logger("novaflow.libvirt")

# libvirt's domain states -> Nova's power states.
_POWER_STATE = {
    libvirt.VIR_DOMAIN_NOSTATE: PowerState.NOSTATE,
    libvirt.VIR_DOMAIN_RUNNING: PowerState.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: PowerState.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: PowerState.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: PowerState.SHUTDOWN,
    libvirt.VIR_DOMAIN_SHUTOFF: PowerState.SHUTDOWN,
    libvirt.VIR_DOMAIN_CRASHED: PowerState.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: PowerState.SUSPENDED,
}

# Silence libvirt's default handler, which prints every error to stderr;
# errors reach us as libvirtError exceptions anyway.
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)


class LibvirtDriver(LibvirtDay2Mixin, ComputeDriver):
    """A ComputeDriver over one libvirt connection."""

    def __init__(
        self,
        uri: str,
        hostname: str,
        *,
        local_gb: int | None = None,
        persist_path: Path | None = None,
        images_dir: str = "/var/lib/novaflow/instances",
        guest_files: GuestFiles | None = None,
        virt_type: str | None = None,
        inventory_share: int = 1,
    ):
        self.uri = uri
        self.hostname = hostname
        self.is_test = uri.startswith("test://")
        self.virt_type = "test" if self.is_test else (virt_type or "kvm")
        self.files = None if self.is_test else guest_files
        self._share = max(1, inventory_share)
        self._local_gb = local_gb
        self._persist_path = persist_path
        self._images_dir = images_dir
        self._lock = threading.RLock()
        try:
            self.conn = libvirt.open(uri)
        except libvirt.libvirtError as exc:
            raise DriverError(f"cannot connect to {uri}: {exc}") from exc
        self._restore()

    # -- persistence for the in-memory test driver ---------------------------

    def _restore(self) -> None:
        if not self._persist_path or not self._persist_path.exists():
            return
        saved = json.loads(self._persist_path.read_text())
        for entry in saved.values():
            dom = self.conn.defineXML(entry["xml"])
            if entry["state"] in (PowerState.RUNNING, PowerState.PAUSED):
                dom.create()
            if entry["state"] == PowerState.PAUSED:
                dom.suspend()
            if entry.get("saved"):  # suspended: recreate its managed-save image
                dom.create()
                dom.managedSave(0)

    def _persist(self) -> None:
        if not self._persist_path:
            return
        saved = {}
        for dom in self.conn.listAllDomains():
            saved[dom.UUIDString()] = {
                "xml": dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE),
                "state": _POWER_STATE.get(dom.state()[0], PowerState.NOSTATE),
                "saved": bool(dom.hasManagedSaveImage(0)),
            }
        tmp = self._persist_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(saved))
        os.replace(tmp, self._persist_path)

    # -- contract --------------------------------------------------------------

    def node_info(self) -> NodeInfo:
        if self.files is not None:  # called by every host report: Nova's periodic task
            self.files.age_base_images(self.files.remove_unused_min_age_s)
        model, memory_mb, cpus, mhz, nodes, sockets, cores, threads = self.conn.getInfo()
        if self.is_test:
            # The test driver stands in for a QEMU host.
            hv_type, hv_version = "QEMU", 8002000
        else:
            hv_type, hv_version = self.conn.getType(), self.conn.getVersion()
        local_gb = self._local_gb
        if local_gb is None:
            st = os.statvfs(self._images_dir if os.path.isdir(self._images_dir) else "/")
            local_gb = st.f_blocks * st.f_frsize // (1024**3) // self._share
        if self._share > 1:  # hosts sharing one machine each offer their part
            cpus, memory_mb = max(1, cpus // self._share), memory_mb // self._share
        return NodeInfo(
            hostname=self.hostname,
            vcpus=cpus,
            memory_mb=memory_mb,
            local_gb=local_gb,
            cpu_arch=model,
            hypervisor_type=hv_type,
            hypervisor_version=hv_version,
            cpu_info={"arch": model, "mhz": mhz, "topology": {
                "cells": nodes, "sockets": sockets, "cores": cores, "threads": threads}},
        )

    def _owner(self, dom: libvirt.virDomain) -> str:
        """The host a domain belongs to (this one on a libvirtd of its own)."""
        if self.files is None:
            return self.hostname
        try:
            return owner_host(dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, METADATA_NS))
        except libvirt.libvirtError:
            return ""

    def _lookup_any(self, server_id: str) -> libvirt.virDomain:
        """The server's domain on this libvirtd, whichever host owns it."""
        try:
            return self.conn.lookupByUUIDString(server_id)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                raise DomainNotFound(f"no domain for server {server_id}") from exc
            raise DriverError(str(exc)) from exc

    def _lookup(self, server_id: str) -> libvirt.virDomain:
        dom = self._lookup_any(server_id)
        if self._owner(dom) != self.hostname:
            raise DomainNotFound(f"no domain for server {server_id} on {self.hostname}")
        return dom

    @staticmethod
    def _info(dom: libvirt.virDomain) -> DomainInfo:
        state, _max_mem, mem_kib, vcpus, _cpu = dom.info()
        return DomainInfo(server_id=dom.UUIDString(), name=dom.name(),
                          power_state=_POWER_STATE.get(state, PowerState.NOSTATE),
                          vcpus=vcpus, memory_mb=mem_kib // 1024)

    def _xml(self, inp: SpawnInput) -> str:
        """The domain XML; for a real guest, its files are made first."""
        if self.files is None:
            return build_domain_xml(inp, self.virt_type, self._images_dir)
        paths = self.files.prepare(self.conn, inp)
        xml = build_domain_xml(inp, self.virt_type, self._images_dir, paths, self.hostname)
        self.files.save_xml(inp.server_id, xml)
        return xml

    def spawn(self, inp: SpawnInput) -> DomainInfo:
        if self.files is not None and self._lookup_or_none(inp.server_id) is None:
            t = time.monotonic()
            try:
                xml = self._xml(inp)  # outside the lock: a download may take a while
            except Exception:
                self._remove_files(inp.server_id)  # leave nothing behind
                raise
            self.prepare_seconds = time.monotonic() - t
        else:
            xml = build_domain_xml(inp, self.virt_type, self._images_dir)
        with self._lock:
            try:
                existing = self._lookup(inp.server_id)
            except DomainNotFound:
                existing = None
            if existing is not None:  # a retried spawn: finish what was started
                if not existing.isActive():
                    existing.create()
                self._persist()
                return self._info(existing)
            try:
                dom = self.conn.defineXML(xml)
            except libvirt.libvirtError as exc:
                raise DriverError(f"defineXML failed: {exc}") from exc
            try:
                dom.create()
            except libvirt.libvirtError as exc:
                dom.undefine()  # leave nothing behind
                self._remove_files(inp.server_id)
                raise DriverError(f"starting {domain_name(inp.server_id)} failed: {exc}") from exc
            self._persist()
            return self._info(dom)

    def _remove_files(self, server_id: str) -> None:
        """A real guest's files and unused networks go, unless another host
        on this libvirtd owns the server's domain (a move between them)."""
        if self.files is None:
            return
        try:
            self._lookup_any(server_id)
            return  # someone's domain still uses them
        except DomainNotFound:
            pass
        # Networks first: the saved XML that names them goes with the files.
        nets = self._domain_networks(server_id)
        removed = networks.release_unused(self.conn, nets)
        self.files.remove(server_id)
        log.info("removed guest files", host=self.hostname, server_id=server_id,
                 networks=nets, networks_removed=removed)

    def _domain_networks(self, server_id: str) -> list[str]:
        xml = self.files.saved_xml(server_id) if self.files else None
        if not xml:
            return []
        prefix = "network=\"novaflow-"
        return [part.split("\"", 1)[0] for part in xml.split(prefix)[1:]]

    def destroy(self, server_id: str) -> bool:
        with self._lock:
            try:
                dom = self._lookup(server_id)
            except DomainNotFound:
                self._remove_files(server_id)  # a vanished domain's files go too
                return False
            try:
                if dom.isActive():
                    dom.destroy()
                if dom.hasManagedSaveImage(0):
                    dom.managedSaveRemove(0)
                dom.undefine()
            except libvirt.libvirtError as exc:
                if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                    raise DriverError(str(exc)) from exc
            self._remove_files(server_id)
            self._persist()
            return True

    def get_domain(self, server_id: str) -> DomainInfo:
        with self._lock:
            return self._info(self._lookup(server_id))

    def list_domains(self) -> list[DomainInfo]:
        with self._lock:
            return [self._info(d) for d in self.conn.listAllDomains()
                    if self._owner(d) == self.hostname]

    def console_output(self, server_id: str, length: int | None = None) -> str:
        with self._lock:
            self._lookup(server_id)
        if self.files is None:
            return ""  # the test driver's guests print nothing
        return read_tail(self.files.console_log(server_id), length)

    def console_endpoint(self, server_id: str, protocol: str) -> ConsoleEndpoint:
        """Read from the running domain's live XML, as Nova's libvirt driver
        does; the test driver's domains have no console at all, so they answer
        as Nova does for a guest without one: ConsoleUnavailable."""
        with self._lock:
            dom = self._lookup(server_id)
            try:
                xml = dom.XMLDesc(0)
            except libvirt.libvirtError as exc:
                raise DriverError(str(exc)) from exc
        where = None if self.is_test else console_endpoint_from_xml(xml, protocol)
        if where is None:
            raise ConsoleUnavailable(f"Unavailable console type {protocol}.")
        return ConsoleEndpoint(host=where[0], port=where[1])

    # -- power actions ----------------------------------------------------------

    def _act(self, server_id: str, what: str,
             fn: Callable[[libvirt.virDomain], None]) -> DomainInfo:
        """Run ``fn(dom)`` on the server's domain under the lock, then persist."""
        with self._lock:
            dom = self._lookup(server_id)
            try:
                fn(dom)
            except libvirt.libvirtError as exc:
                raise DriverError(f"{what} of {domain_name(server_id)} failed: {exc}") from exc
            self._persist()
            return self._info(dom)

    @staticmethod
    def _state(dom: libvirt.virDomain) -> int:
        return dom.state()[0]

    def power_on(self, server_id: str) -> DomainInfo:
        def start(dom: libvirt.virDomain) -> None:
            if not dom.isActive():
                dom.create()  # also restores a managed-save image
        return self._act(server_id, "power_on", start)

    def power_off(self, server_id: str, timeout: float = 60.0) -> DomainInfo:
        def shutdown(dom: libvirt.virDomain) -> None:
            if dom.isActive():
                dom.shutdown()
        self._act(server_id, "shutdown", shutdown)
        # ACPI shutdown is asynchronous on a real hypervisor: wait for the guest,
        # outside the lock so the host's other work goes on meanwhile.
        deadline = time.monotonic() + timeout
        while self.get_domain(server_id).power_state != PowerState.SHUTDOWN:
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)

        def destroy(dom: libvirt.virDomain) -> None:
            if dom.isActive():
                dom.destroy()  # the guest ignored the shutdown request
        return self._act(server_id, "power_off", destroy)

    def _recreate(self, server_id: str) -> None:
        """Define a vanished domain again from its saved XML (hard reboot)."""
        xml = self.files.saved_xml(server_id) if self.files else None
        if xml is None:
            return
        with self._lock:
            if self._lookup_or_none(server_id) is None:
                try:
                    self.conn.defineXML(xml)
                except libvirt.libvirtError as exc:
                    raise DriverError(f"redefining {domain_name(server_id)} failed: "
                                      f"{exc}") from exc

    def reboot(self, server_id: str, hard: bool = False) -> DomainInfo:
        if hard:
            self._recreate(server_id)

        def hard_reboot(dom: libvirt.virDomain) -> None:
            if dom.hasManagedSaveImage(0):
                dom.managedSaveRemove(0)  # a hard reboot boots afresh
            if dom.isActive():
                dom.destroy()
            dom.create()

        def soft_reboot(dom: libvirt.virDomain) -> None:
            if self._state(dom) != libvirt.VIR_DOMAIN_RUNNING:
                hard_reboot(dom)  # nothing to ask a guest that is not running (Nova falls back too)
                return
            try:
                dom.reboot(0)
            except libvirt.libvirtError:
                hard_reboot(dom)
        return self._act(server_id, "reboot", hard_reboot if hard else soft_reboot)

    def pause(self, server_id: str) -> DomainInfo:
        def pause(dom: libvirt.virDomain) -> None:
            if self._state(dom) != libvirt.VIR_DOMAIN_PAUSED:
                dom.suspend()  # libvirt's "suspend" is Nova's pause
        return self._act(server_id, "pause", pause)

    def unpause(self, server_id: str) -> DomainInfo:
        def unpause(dom: libvirt.virDomain) -> None:
            if self._state(dom) == libvirt.VIR_DOMAIN_PAUSED:
                dom.resume()
        return self._act(server_id, "unpause", unpause)

    def suspend(self, server_id: str) -> DomainInfo:
        def suspend(dom: libvirt.virDomain) -> None:
            if dom.isActive():
                dom.managedSave(0)  # the test driver supports it too
        return self._act(server_id, "suspend", suspend)

    def resume(self, server_id: str) -> DomainInfo:
        def resume(dom: libvirt.virDomain) -> None:
            if not dom.isActive():
                dom.create()  # starts from the managed-save image
            elif self._state(dom) == libvirt.VIR_DOMAIN_PAUSED:
                dom.resume()
        return self._act(server_id, "resume", resume)

    def close(self) -> None:
        with self._lock:
            try:
                self.conn.close()
            except libvirt.libvirtError:
                pass

    # -- moves: resize, cold and live migration ---------------------------------

    @staticmethod
    def _undefine(dom: libvirt.virDomain) -> None:
        if dom.isActive():
            dom.destroy()
        if dom.hasManagedSaveImage(0):
            dom.managedSaveRemove(0)
        dom.undefine()

    @staticmethod
    def _matches(dom: libvirt.virDomain, flavor: FlavorInfo) -> bool:
        _state, max_kib, _mem, vcpus, _cpu = dom.info()
        return max_kib // 1024 == flavor.memory_mb and vcpus == flavor.vcpus

    def _lookup_or_none(self, server_id: str) -> libvirt.virDomain | None:
        try:
            return self._lookup(server_id)
        except DomainNotFound:
            return None

    def _define_and_start(self, inp: SpawnInput, power_on: bool,
                          paused: bool = False) -> DomainInfo:
        """Define ``inp``'s domain and start it; on failure leave no definition."""
        xml = self._xml(inp)
        try:
            dom = self.conn.defineXML(xml)
        except libvirt.libvirtError as exc:
            raise DriverError(f"defineXML failed: {exc}") from exc
        try:
            if power_on:
                dom.create()
                if paused:
                    dom.suspend()
        except libvirt.libvirtError as exc:
            self._undefine(dom)
            raise DriverError(f"starting {domain_name(inp.server_id)} failed: {exc}") from exc
        self._persist()
        return self._info(dom)

    def prep_resize(self, server_id: str, flavor: FlavorInfo, same_host: bool) -> None:
        node = self.node_info()
        if flavor.memory_mb > node.memory_mb:  # overcommit aside, it must fit once
            raise DriverError(f"{self.hostname} has {node.memory_mb} MB, flavor "
                              f"{flavor.name} needs {flavor.memory_mb} MB")
        with self._lock:
            dom = self._lookup_or_none(server_id)
            if dom is not None and not same_host and dom.isActive():
                raise DriverError(f"{domain_name(server_id)} is already running on "
                                  f"{self.hostname}")

    def migrate_disk_and_power_off(self, server_id: str, old_flavor: FlavorInfo,
                                   new_flavor: FlavorInfo, dest_host: str) -> None:
        # The disks live in the instances directory, which the embedded stack's
        # hosts share; copying them to a host without shared storage is not
        # implemented.
        if new_flavor.root_gb < old_flavor.root_gb or (
                new_flavor.ephemeral_gb < old_flavor.ephemeral_gb):
            raise DriverError("Resize error: Unable to resize disk down.")
        with self._lock:
            dom = self._lookup(server_id)
            try:
                if dom.isActive():
                    dom.destroy()
            except libvirt.libvirtError as exc:
                raise DriverError(f"powering off {domain_name(server_id)} failed: {exc}") from exc
            if self.files is not None:
                self.files.backup_for_resize(server_id)  # what a revert puts back
            self._persist()

    def finish_migration(self, inp: SpawnInput, power_on: bool = True) -> DomainInfo:
        with self._lock:
            old = self._lookup_or_none(inp.server_id)
            if old is not None:
                if old.isActive() and self._matches(old, inp.flavor):
                    return self._info(old)  # a retried finish
                self._undefine(old)  # a same-host resize: the old definition gives way
            return self._define_and_start(inp, power_on)

    def confirm_migration(self, server_id: str, same_host: bool) -> None:
        if not same_host:
            self.destroy(server_id)
        if self.files is not None:
            self.files.drop_resize_backup(server_id)

    def finish_revert_migration(self, inp: SpawnInput, power_on: bool = True) -> DomainInfo:
        with self._lock:
            dom = self._lookup_or_none(inp.server_id)
            if self.files is not None and self.files.resize_dir(inp.server_id).exists():
                if dom is not None:
                    self._undefine(dom)
                self.files.restore_from_resize(inp.server_id)  # the old disks again
                return self._define_and_start(inp, power_on)
            if dom is not None and self._matches(dom, inp.flavor):
                try:
                    if power_on and not dom.isActive():
                        dom.create()
                except libvirt.libvirtError as exc:
                    raise DriverError(f"starting {domain_name(inp.server_id)} failed: "
                                      f"{exc}") from exc
                self._persist()
                return self._info(dom)
            if dom is not None:
                self._undefine(dom)  # defined with the new flavor (same-host resize)
            return self._define_and_start(inp, power_on)

    def check_can_live_migrate_destination(self, server_id: str, flavor: FlavorInfo,
                                           source: HostCapabilities,
                                           block_migration: bool | None) -> LiveMigrateData:
        node = self.node_info()
        if node.cpu_arch != source.cpu_arch:
            raise DriverError(f"CPU architecture {node.cpu_arch} of {self.hostname} is not "
                              f"compatible with {source.cpu_arch} of {source.host}")
        if node.hypervisor_type != source.hypervisor_type:
            raise DriverError(f"hypervisor {node.hypervisor_type} of {self.hostname} differs "
                              f"from {source.hypervisor_type} of {source.host}")
        if node.hypervisor_version < source.hypervisor_version:
            raise DriverError(f"hypervisor version {node.hypervisor_version} of "
                              f"{self.hostname} is older than {source.hypervisor_version} "
                              f"of {source.host}")
        if flavor.memory_mb > node.memory_mb:
            raise DriverError(f"{self.hostname} has {node.memory_mb} MB, the server needs "
                              f"{flavor.memory_mb} MB")
        # Nova's shared-storage test: a file the source looks for.
        os.makedirs(self._images_dir, exist_ok=True)
        fd, path = tempfile.mkstemp(prefix=".live-migration-check-", dir=self._images_dir)
        os.close(fd)
        return LiveMigrateData(block_migration=bool(block_migration),
                               test_file=os.path.basename(path))

    def check_can_live_migrate_source(self, server_id: str, data: LiveMigrateData,
                                      block_migration: bool | None) -> LiveMigrateData:
        with self._lock:
            state = self._state(self._lookup(server_id))
        if state not in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_PAUSED):
            raise DriverError(f"{domain_name(server_id)} is not running on {self.hostname}")
        shared = bool(data.test_file) and os.path.exists(
            os.path.join(self._images_dir, data.test_file))
        if block_migration and shared:
            raise DriverError(f"{self.hostname} is not on local storage: Block migration can "
                              "not be used with shared storage.")
        if block_migration is False and not shared:
            raise DriverError(f"{self.hostname} is not on shared storage: Shared storage "
                              "live-migration requires either shared storage or "
                              "boot-from-volume with no local disks.")
        return replace(data, block_migration=not shared, shared_instance_path=shared,
                       paused=state == libvirt.VIR_DOMAIN_PAUSED)

    def cleanup_live_migration_destination_check(self, data: LiveMigrateData) -> None:
        if data.test_file:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self._images_dir, data.test_file))

    def pre_live_migration(self, inp: SpawnInput, data: LiveMigrateData) -> None:
        if not self.is_test:
            return  # migrateToURI3 creates the incoming domain itself
        # The test driver cannot receive a migration: stand in for QEMU's
        # incoming process with the domain defined here and started paused.
        with self._lock:
            dom = self._lookup_or_none(inp.server_id)
            if dom is not None:
                if dom.isActive():
                    return  # a retried step
                self._undefine(dom)
            self._define_and_start(inp, power_on=True, paused=True)

    def live_migrate_to(self, server_id: str, dest: HostCapabilities,
                        data: LiveMigrateData) -> None:
        with self._lock:
            dom = self._lookup(server_id)
            if self.is_test:
                # The domain already waits on the destination (pre_live_migration);
                # the switch-over is the source letting go of its own.
                self._undefine(dom)
                self._persist()
                return
        flags = (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER
                 | libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE)
        if data.block_migration:
            flags |= libvirt.VIR_MIGRATE_NON_SHARED_INC
        uri = f"qemu+tcp://{dest.address or dest.host}/system"
        try:
            dom.migrateToURI3(uri, {}, flags)  # blocks until the guest runs there
        except libvirt.libvirtError as exc:
            raise DriverError(f"live migration to {dest.host} failed: {exc}") from exc
        with self._lock:
            self._persist()

    def post_live_migration_at_destination(self, server_id: str,
                                           data: LiveMigrateData) -> DomainInfo:
        with self._lock:
            dom = self._lookup(server_id)
            try:
                if not data.paused and self._state(dom) == libvirt.VIR_DOMAIN_PAUSED:
                    dom.resume()
            except libvirt.libvirtError as exc:
                raise DriverError(f"resuming {domain_name(server_id)} failed: {exc}") from exc
            self._persist()
            return self._info(dom)

    def post_live_migration(self, server_id: str, data: LiveMigrateData) -> None:
        self.destroy(server_id)  # normally nothing is left (undefined at the switch-over)

    def rollback_live_migration_at_destination(self, server_id: str,
                                               data: LiveMigrateData) -> None:
        self.destroy(server_id)
