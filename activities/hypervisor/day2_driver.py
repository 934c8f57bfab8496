"""The day-2 part of the compute driver contract: actions on a running
guest beyond power (trigger_crash_dump, ...).

A mixin beside ``ComputeDriver`` (driver.py) so that the day-2 operations
grow without touching the core contract.  Each method says what it
guarantees; a backend that cannot do something raises ``NotSupported`` (the
API answers Nova's 400/409/501 for it) rather than pretending.
"""

from __future__ import annotations

from activities.hypervisor.driver import DomainInfo, DriverError
from activities.types.catalog import ImageInfo, PortInfo, VolumeDisk
from activities.types.diagnostics import GuestDiagnostics
from activities.types.hypervisor import SpawnInput


class NotSupported(DriverError):
    """This hypervisor (or this guest's image) cannot do that."""


class GuestNotRunning(DriverError):
    """The guest must be running for that."""


class Day2Driver:
    """Day-2 guest actions; the defaults refuse with NotSupported."""

    def inject_nmi(self, server_id: str) -> None:
        """Send the guest a non-maskable interrupt (Nova's trigger_crash_dump),
        so a kernel configured for it writes a crash dump.  Raises
        DomainNotFound, GuestNotRunning, or NotSupported."""
        raise NotSupported(f"{type(self).__name__} cannot inject an NMI")

    def get_diagnostics(self, server_id: str) -> GuestDiagnostics:
        """The running guest's counters (Nova's ``get_diagnostics``): vCPU
        times, disk and interface statistics, memory.  Raises DomainNotFound,
        GuestNotRunning when the domain is not running, or NotSupported."""
        raise NotSupported(f"{type(self).__name__} cannot read diagnostics")

    def rebuild(self, inp: SpawnInput, preserve_ephemeral: bool = False,
                power_on: bool = True) -> DomainInfo:
        """The server's domain again from ``inp.image`` with the same ports and
        volumes (Nova's rebuild: destroy, then spawn on the same host), left
        stopped unless ``power_on``.  Idempotent: a retried rebuild finishes
        the spawn.  A backend whose spawn creates the root disk from the image
        keeps the ephemeral disk when ``preserve_ephemeral`` (the test driver
        has no disks to keep).  On failure no domain is left (spawn's contract)."""
        self.destroy(inp.server_id)
        dom = self.spawn(inp)
        if not power_on:
            dom = self.power_off(inp.server_id, timeout=0)
        return dom

    def snapshot(self, server_id: str, image_id: str) -> int | None:
        """Copy the guest's root disk into the queued image ``image_id`` of
        the image service (Nova's ``snapshot``), running or not.  Returns
        the bytes written, or None where the hypervisor has no disk to copy
        (libvirt's test driver: the image is then made active empty).
        Raises DomainNotFound, or DriverError leaving nothing behind here."""
        raise NotSupported(f"{type(self).__name__} cannot snapshot a guest")

    def live_migration_force_complete(self, server_id: str) -> None:
        """Make the running live migration of the guest converge now (Nova's
        force_complete).  Raises NotSupported where this host's migrations
        cannot be forced."""
        raise NotSupported(f"{type(self).__name__} cannot force a live migration to complete")

    # -- volume hot-plug (os-volume_attachments) ---------------------------------

    def volume_connector(self) -> dict:
        """This host's connector for Cinder (os-brick's ``get_connector_properties``)."""
        raise NotSupported(f"{type(self).__name__} cannot attach volumes")

    def attach_volume(self, server_id: str, disk: VolumeDisk, bus: str = "virtio") -> None:
        """Plug ``disk`` into the server's domain at ``disk.device``: live if it
        runs, and in its persistent definition.  Idempotent: a disk already
        there from the same source is no error; another disk at that device
        is (DriverError).  Raises DomainNotFound, or NotSupported."""
        raise NotSupported(f"{type(self).__name__} cannot attach volumes")

    def detach_volume(self, server_id: str, disk: VolumeDisk) -> None:
        """Unplug the disk at ``disk.device`` from the server's domain (live and
        persistent).  Succeeds if it is not there (any more)."""
        raise NotSupported(f"{type(self).__name__} cannot detach volumes")

    def swap_volume(self, server_id: str, old: VolumeDisk, new: VolumeDisk,
                    bus: str = "virtio") -> None:
        """Put ``new`` where ``old`` is (same device), the guest's data copied
        over first where the back end has it (Nova's swap_volume).  On failure
        ``old`` is plugged back.  Idempotent: ``new`` already there is done."""
        self.detach_volume(server_id, old)
        try:
            self.attach_volume(server_id, new, bus)
        except Exception:
            self.attach_volume(server_id, old, bus)
            raise

    # -- interface hot-plug (os-interface) -----------------------------------------

    def attach_interface(self, server_id: str, port: PortInfo) -> None:
        """Plug an interface with the port's MAC into the server's domain (live
        if it runs, and persistent).  Idempotent: that MAC already there is no
        error.  Raises DomainNotFound, or NotSupported."""
        raise NotSupported(f"{type(self).__name__} cannot attach interfaces")

    def detach_interface(self, server_id: str, port: PortInfo) -> None:
        """Unplug the interface with the port's MAC; succeeds if it is not there."""
        raise NotSupported(f"{type(self).__name__} cannot detach interfaces")

    # -- rescue ---------------------------------------------------------------------

    def rescue(self, inp: SpawnInput, rescue_image: ImageInfo) -> DomainInfo:
        """Boot the server from ``rescue_image`` with its own disks attached
        after the rescue disk (Nova's rescue); the original domain is kept to
        be restored by ``unrescue``.  Idempotent: a rescued domain stays."""
        raise NotSupported(f"{type(self).__name__} cannot rescue")

    def unrescue(self, server_id: str) -> DomainInfo:
        """The original domain back, running.  Idempotent."""
        raise NotSupported(f"{type(self).__name__} cannot unrescue")

