"""The libvirt driver's day-2 guest actions (the Day2Driver contract in
day2_driver.py), kept apart from libvirt_driver.py's core so both can grow
independently.  ``LibvirtDriver`` inherits this mixin; it relies on the
driver's ``_lookup`` and ``_lock``.
"""

from __future__ import annotations

import base64
import os
import shutil
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

import libvirt

from activities.hypervisor import disks, networks
from activities.hypervisor.day2_driver import Day2Driver, GuestNotRunning, NotSupported
from activities.hypervisor.diagnostics import read_diagnostics
from activities.hypervisor.domain_xml import METADATA_NS, domain_name, network_interface_xml
from activities.hypervisor.driver import DomainInfo, DriverError
from activities.types.catalog import ImageInfo, PortInfo, VolumeDisk
from activities.types.diagnostics import GuestDiagnostics
from activities.types.hypervisor import SpawnInput
from novaflow.states import PowerState

ET.register_namespace("nf", METADATA_NS)
ET.register_namespace("nfr", f"{METADATA_NS}/rescue")

# libvirt's "this driver does not implement that" codes.
_UNSUPPORTED = {libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_OPERATION_UNSUPPORTED}


def volume_disk_xml(disk: VolumeDisk, bus: str) -> str:
    """A volume's <disk> element, as the domain XML of a boot writes it."""
    return f"""<disk type='file' device='disk'>
  <driver name='qemu' type='raw' cache='none'/>
  <source file={quoteattr(disk.path)}/>
  <target dev={quoteattr(disk.device)} bus={quoteattr(bus)}/>
  <serial>{escape(disk.volume_id[:20])}</serial>
</disk>"""


def _disk_at(root: ET.Element, device: str) -> ET.Element | None:
    for d in root.iter("disk"):
        target = d.find("target")
        if target is not None and target.get("dev") == device:
            return d
    return None


def interface_xml(port: PortInfo) -> str:
    """A port's <interface>, as the test driver's domain XML of a boot writes it."""
    return f"""<interface type='bridge'>
  <mac address={quoteattr(port.mac_address)}/>
  <source bridge='br-int'/>
  <model type='virtio'/>
</interface>"""


def _interface_with(root: ET.Element, mac: str) -> ET.Element | None:
    for i in root.iter("interface"):
        m = i.find("mac")
        if m is not None and (m.get("address") or "").lower() == mac.lower():
            return i
    return None


class LibvirtDay2Mixin(Day2Driver):
    """Day-2 guest actions over libvirt-python."""

    def rebuild(self, inp: SpawnInput, preserve_ephemeral: bool = False,
                power_on: bool = True) -> DomainInfo:
        # One step under the driver's lock: a delete's destroy waits for the
        # whole rebuild, never slips between its destroy and its spawn (which
        # would leave a domain behind the delete).
        with self._lock:
            return super().rebuild(inp, preserve_ephemeral, power_on)

    def snapshot(self, server_id: str, image_id: str) -> int | None:
        self._lookup(server_id)  # DomainNotFound if it is not here
        if self.files is None:  # the test driver: no disk to copy
            return None
        disk = self.files.dir(server_id) / "disk"
        if not disk.exists():
            raise DriverError(f"{domain_name(server_id)} has no root disk here")
        out = self.files.dir(server_id) / f"snapshot-{image_id}.qcow2"
        try:
            disks.flatten(disk, out)
            size = out.stat().st_size
            self.files.lookups.upload(image_id, out)
        finally:
            out.unlink(missing_ok=True)
            out.with_suffix(".tmp").unlink(missing_ok=True)
        return size

    def inject_nmi(self, server_id: str) -> None:
        with self._lock:
            dom = self._lookup(server_id)
            try:
                dom.injectNMI(0)
            except libvirt.libvirtError as exc:
                code = exc.get_error_code()
                if code in _UNSUPPORTED:
                    raise NotSupported(f"{self.uri} cannot inject an NMI: {exc}") from exc
                if code == libvirt.VIR_ERR_OPERATION_INVALID or not dom.isActive():
                    raise GuestNotRunning(f"{domain_name(server_id)} is not running") from exc
                raise DriverError(f"inject NMI into {domain_name(server_id)} failed: "
                                  f"{exc}") from exc

    def get_diagnostics(self, server_id: str) -> GuestDiagnostics:
        with self._lock:
            dom = self._lookup(server_id)
            try:
                power_state = self._info(dom).power_state
                if power_state != PowerState.RUNNING:
                    raise GuestNotRunning(f"{domain_name(server_id)} is not running")
                return read_diagnostics(dom, power_state)
            except libvirt.libvirtError as exc:
                raise DriverError(f"diagnostics of {domain_name(server_id)} failed: "
                                  f"{exc}") from exc

    def live_migration_force_complete(self, server_id: str) -> None:
        # No lock: the migration itself runs outside it, and this must reach it.
        dom = self._lookup(server_id)
        if self.is_test:
            return  # the test driver's switch-over is instant: nothing left to force
        try:
            dom.migrateStartPostCopy(0)
        except libvirt.libvirtError as exc:
            # Our migrations run without VIR_MIGRATE_POSTCOPY, and pausing the
            # guest would leave it paused on the destination: refuse.
            raise NotSupported(f"cannot force the live migration of "
                               f"{domain_name(server_id)} to complete: {exc}") from exc

    # -- volume hot-plug ----------------------------------------------------------

    def volume_connector(self) -> dict:
        return {"host": self.hostname, "platform": os.uname().machine, "os_type": "linux",
                "multipath": False, "initiator": f"iqn.2026-12.dev.novaflow:{self.hostname}"}

    def _redefine(self, dom: libvirt.virDomain, change) -> None:
        """The test driver has no device hot-plug: change the persistent
        definition instead (what the next start would run with)."""
        root = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        change(root)
        try:
            self.conn.defineXML(ET.tostring(root, encoding="unicode"))
        except libvirt.libvirtError as exc:
            raise DriverError(f"redefining {domain_name(dom.UUIDString())} failed: "
                              f"{exc}") from exc

    def attach_volume(self, server_id: str, disk: VolumeDisk, bus: str = "virtio") -> None:
        xml = volume_disk_xml(disk, bus)
        with self._lock:
            dom = self._lookup(server_id)
            root = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
            there = _disk_at(root, disk.device)
            if there is not None:
                source = there.find("source")
                if source is not None and source.get("file") == disk.path:
                    return  # a retried attach
                raise DriverError(f"{domain_name(server_id)} has another disk at "
                                  f"{disk.device}")
            if self.files is not None and not os.path.exists(disk.path):
                # The file back end's connect step (os-brick's connect_volume).
                os.makedirs(os.path.dirname(disk.path), exist_ok=True)
                with open(disk.path, "wb") as f:
                    f.truncate(disk.size_gb * 1024**3)
            self._plug(dom, xml, f"attaching {disk.volume_id} to {domain_name(server_id)}")
            self._persist()

    @staticmethod
    def _hotplug_flags(dom) -> int:
        """The persistent definition always; the running guest too when it runs."""
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
        if dom.isActive():
            flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
        return flags

    def _plug(self, dom, xml: str, what: str) -> None:
        """Hot-plug a device; libvirt's test driver, which cannot, gets it in
        its persistent definition instead."""
        try:
            dom.attachDeviceFlags(xml, self._hotplug_flags(dom))
        except libvirt.libvirtError as exc:
            if not (self.is_test and exc.get_error_code() in _UNSUPPORTED):
                raise DriverError(f"{what} failed: {exc}") from exc
            self._redefine(dom, lambda r: r.find("devices").append(ET.fromstring(xml)))

    def _unplug(self, dom, xml: str, find, what: str) -> None:
        """Hot-unplug a device (``find`` locates it in a definition); the test
        driver's is dropped from its persistent definition instead."""
        try:
            dom.detachDeviceFlags(xml, self._hotplug_flags(dom))
        except libvirt.libvirtError as exc:
            if not (self.is_test and exc.get_error_code() in _UNSUPPORTED):
                raise DriverError(f"{what} failed: {exc}") from exc

            def drop(r: ET.Element) -> None:
                devices, found = r.find("devices"), find(r)
                if devices is not None and found is not None:
                    devices.remove(found)
            self._redefine(dom, drop)

    def detach_volume(self, server_id: str, disk: VolumeDisk) -> None:
        with self._lock:
            dom = self._lookup(server_id)
            root = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
            there = _disk_at(root, disk.device)
            if there is None:
                return  # gone already
            xml = ET.tostring(there, encoding="unicode")
            self._unplug(dom, xml, lambda r: _disk_at(r, disk.device),
                         f"detaching {disk.device} from {domain_name(server_id)}")
            self._persist()

    def swap_volume(self, server_id: str, old: VolumeDisk, new: VolumeDisk,
                    bus: str = "virtio") -> None:
        with self._lock:
            root = ET.fromstring(self._lookup(server_id).XMLDesc(
                libvirt.VIR_DOMAIN_XML_INACTIVE))
            there = _disk_at(root, new.device)
            source = there.find("source") if there is not None else None
            if source is not None and source.get("file") == new.path:
                return  # a retried swap
            if self.files is not None and os.path.exists(old.path):
                # The guest keeps its data (Nova copies with a block rebase).
                shutil.copyfile(old.path, new.path)
            super().swap_volume(server_id, old, new, bus)

    # -- interface hot-plug ---------------------------------------------------------

    def attach_interface(self, server_id: str, port: PortInfo) -> None:
        # A real guest's NIC joins its network's libvirt network, made on
        # first use as a boot makes it.
        xml = (network_interface_xml(port.mac_address, networks.ensure(self.conn,
                                                                      port.network_id))
               if self.files is not None else interface_xml(port))
        with self._lock:
            dom = self._lookup(server_id)
            root = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
            if _interface_with(root, port.mac_address) is not None:
                return  # a retried attach
            self._plug(dom, xml, f"attaching port {port.id} to {domain_name(server_id)}")
            self._persist()

    def detach_interface(self, server_id: str, port: PortInfo) -> None:
        with self._lock:
            dom = self._lookup(server_id)
            root = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
            there = _interface_with(root, port.mac_address)
            if there is None:
                return  # gone already
            self._unplug(dom, ET.tostring(there, encoding="unicode"),
                         lambda r: _interface_with(r, port.mac_address),
                         f"detaching port {port.id} from {domain_name(server_id)}")
            self._persist()
            if self.files is not None:  # its network goes with its last guest
                networks.release_unused(self.conn, [port.network_id])

    # -- rescue -------------------------------------------------------------------------

    # libvirt keeps one metadata element per namespace: the saved original
    # gets a namespace of its own.
    _RESCUE_TAG = f"{{{METADATA_NS}/rescue}}original"

    def _saved_original(self, root: ET.Element) -> str | None:
        meta = root.find("metadata")
        found = meta.find(self._RESCUE_TAG) if meta is not None else None
        return base64.b64decode(found.text or "").decode() if found is not None else None

    def rescue(self, inp: SpawnInput, rescue_image: ImageInfo) -> DomainInfo:
        if self.files is not None:  # a real guest: the rescue image's disk, made
            try:
                self.files.prepare_rescue(inp.server_id, rescue_image.id, inp.flavor.root_gb)
            except (OSError, RuntimeError) as exc:
                raise DriverError(f"rescue disk of {domain_name(inp.server_id)}: "
                                  f"{exc}") from exc
        with self._lock:
            dom = self._lookup(inp.server_id)
            original = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
            root = ET.fromstring(original)
            if self._saved_original(root) is None:
                # The original definition rides in the rescue domain's metadata,
                # so unrescue finds it after any restart.
                meta = root.find("metadata")
                if meta is None:
                    meta = ET.SubElement(root, "metadata")
                saved = ET.SubElement(meta, self._RESCUE_TAG)
                saved.text = base64.b64encode(original.encode()).decode()
                devices = root.find("devices")
                disks = [d for d in devices.findall("disk") if d.get("device") == "disk"]
                letters = iter("bcdefghijklmnopqrstuvwxyz")
                for d in sorted(disks, key=lambda d: d.find("target").get("dev")):
                    d.find("target").set("dev", f"vd{next(letters)}")
                rescue_disk = ET.fromstring(
                    f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                    f"<source file={quoteattr(f'{self._images_dir}/{inp.server_id}/disk.rescue')}/>"
                    f"<target dev='vda' bus='virtio'/></disk>")
                devices.insert(0, rescue_disk)
                image_meta = root.find(f"metadata/{{{METADATA_NS}}}instance/"
                                       f"{{{METADATA_NS}}}image")
                if image_meta is not None:
                    image_meta.set("rescue_id", rescue_image.id)
                try:
                    if dom.isActive():
                        dom.destroy()
                    dom = self.conn.defineXML(ET.tostring(root, encoding="unicode"))
                except libvirt.libvirtError as exc:
                    raise DriverError(f"rescue of {domain_name(inp.server_id)} failed: "
                                      f"{exc}") from exc
            if not dom.isActive():
                dom.create()
            self._persist()
            return self._info(dom)

    def unrescue(self, server_id: str) -> DomainInfo:
        with self._lock:
            dom = self._lookup(server_id)
            original = self._saved_original(
                ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)))
            try:
                if original is not None:
                    if dom.isActive():
                        dom.destroy()
                    dom = self.conn.defineXML(original)
                if not dom.isActive():
                    dom.create()
            except libvirt.libvirtError as exc:
                raise DriverError(f"unrescue of {domain_name(server_id)} failed: "
                                  f"{exc}") from exc
            if self.files is not None:  # Nova removes the rescue files
                self.files.rescue_disk(server_id).unlink(missing_ok=True)
            self._persist()
            return self._info(dom)

