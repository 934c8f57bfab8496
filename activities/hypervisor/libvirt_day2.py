"""The libvirt driver's day-2 guest actions (the Day2Driver contract in
day2_driver.py), kept apart from libvirt_driver.py's core so both can grow
independently.  ``LibvirtDriver`` inherits this mixin; it relies on the
driver's ``_lookup`` and ``_lock``.
"""

from __future__ import annotations

import libvirt

from activities.hypervisor import disks
from activities.hypervisor.day2_driver import Day2Driver, GuestNotRunning, NotSupported
from activities.hypervisor.domain_xml import domain_name
from activities.hypervisor.driver import DomainInfo, DriverError
from activities.types.hypervisor import SpawnInput

# libvirt's "this driver does not implement that" codes.
_UNSUPPORTED = {libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_OPERATION_UNSUPPORTED}


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
