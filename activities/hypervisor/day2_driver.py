"""The day-2 part of the compute driver contract: actions on a running
guest beyond power (trigger_crash_dump, ...).

A mixin beside ``ComputeDriver`` (driver.py) so that the day-2 operations
grow without touching the core contract.  Each method says what it
guarantees; a backend that cannot do something raises ``NotSupported`` (the
API answers Nova's 400/409/501 for it) rather than pretending.
"""

from __future__ import annotations

from activities.hypervisor.driver import DriverError


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
