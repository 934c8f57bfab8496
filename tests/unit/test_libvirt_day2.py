"""LibvirtDriver's day-2 guest actions on libvirt's test driver: an NMI
reaches a running guest, a stopped one is refused as not running, a missing
one is not found."""

from __future__ import annotations

import uuid

import pytest
from test_libvirt_power import host, spawn  # noqa: F401 - the fixture and helper

from activities.hypervisor.day2_driver import Day2Driver, GuestNotRunning, NotSupported
from activities.hypervisor.driver import DomainNotFound


def test_nmi_reaches_a_running_guest_only(host):  # noqa: F811
    d = host()
    sid = spawn(d)
    d.inject_nmi(sid)  # the test driver accepts it, as QEMU does
    d.power_off(sid, timeout=1)
    with pytest.raises(GuestNotRunning):
        d.inject_nmi(sid)
    with pytest.raises(DomainNotFound):
        d.inject_nmi(str(uuid.uuid4()))


def test_a_driver_without_nmi_says_so():
    with pytest.raises(NotSupported):
        Day2Driver().inject_nmi("srv-1")
