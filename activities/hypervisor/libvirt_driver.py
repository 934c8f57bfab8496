"""The libvirt compute driver: real libvirt-python calls for one host.

Against ``qemu:///system`` it drives KVM/QEMU.  Against libvirt's built-in
test driver (``test:///<node.xml>``, the embedded stack's hosts) the same
calls run on an in-memory hypervisor whose state lives only as long as the
connection; ``persist_path`` keeps that state in a JSON file so a restarted
host worker finds its domains again, as a real host would.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import libvirt

from activities.hypervisor.domain_xml import build_domain_xml, domain_name
from activities.hypervisor.driver import (
    ComputeDriver,
    DomainInfo,
    DomainNotFound,
    DriverError,
    NodeInfo,
)
from activities.types import SpawnInput
from novaflow.states import PowerState

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


class LibvirtDriver(ComputeDriver):
    """A ComputeDriver over one libvirt connection."""

    def __init__(
        self,
        uri: str,
        hostname: str,
        *,
        local_gb: int | None = None,
        persist_path: Path | None = None,
        images_dir: str = "/var/lib/novaflow/instances",
    ):
        self.uri = uri
        self.hostname = hostname
        self.is_test = uri.startswith("test://")
        self.virt_type = "test" if self.is_test else ("kvm" if "qemu" in uri else "qemu")
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

    def _persist(self) -> None:
        if not self._persist_path:
            return
        saved = {}
        for dom in self.conn.listAllDomains():
            saved[dom.UUIDString()] = {
                "xml": dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE),
                "state": _POWER_STATE.get(dom.state()[0], PowerState.NOSTATE),
            }
        tmp = self._persist_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(saved))
        os.replace(tmp, self._persist_path)

    # -- contract --------------------------------------------------------------

    def node_info(self) -> NodeInfo:
        model, memory_mb, cpus, mhz, nodes, sockets, cores, threads = self.conn.getInfo()
        if self.is_test:
            # The test driver stands in for a QEMU host.
            hv_type, hv_version = "QEMU", 8002000
        else:
            hv_type, hv_version = self.conn.getType(), self.conn.getVersion()
        local_gb = self._local_gb
        if local_gb is None:
            st = os.statvfs(self._images_dir if os.path.isdir(self._images_dir) else "/")
            local_gb = st.f_blocks * st.f_frsize // (1024**3)
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

    def _lookup(self, server_id: str) -> libvirt.virDomain:
        try:
            return self.conn.lookupByUUIDString(server_id)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                raise DomainNotFound(f"no domain for server {server_id}") from exc
            raise DriverError(str(exc)) from exc

    @staticmethod
    def _info(dom: libvirt.virDomain) -> DomainInfo:
        state, _max_mem, mem_kib, vcpus, _cpu = dom.info()
        return DomainInfo(server_id=dom.UUIDString(), name=dom.name(),
                          power_state=_POWER_STATE.get(state, PowerState.NOSTATE),
                          vcpus=vcpus, memory_mb=mem_kib // 1024)

    def spawn(self, inp: SpawnInput) -> DomainInfo:
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
                raise DriverError(f"starting {domain_name(inp.server_id)} failed: {exc}") from exc
            self._persist()
            return self._info(dom)

    def destroy(self, server_id: str) -> bool:
        with self._lock:
            try:
                dom = self._lookup(server_id)
            except DomainNotFound:
                return False
            try:
                if dom.isActive():
                    dom.destroy()
                dom.undefine()
            except libvirt.libvirtError as exc:
                if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                    raise DriverError(str(exc)) from exc
            self._persist()
            return True

    def get_domain(self, server_id: str) -> DomainInfo:
        with self._lock:
            return self._info(self._lookup(server_id))

    def list_domains(self) -> list[DomainInfo]:
        with self._lock:
            return [self._info(d) for d in self.conn.listAllDomains()]

    def close(self) -> None:
        with self._lock:
            try:
                self.conn.close()
            except libvirt.libvirtError:
                pass
