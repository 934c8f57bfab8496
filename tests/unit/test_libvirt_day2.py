"""LibvirtDriver's day-2 actions on libvirt's test driver: an NMI reaches a
running guest, a stopped one is refused as not running, a missing one is not
found; a rebuild defines the same server again from the new image."""

from __future__ import annotations

import uuid

import pytest
from test_libvirt_power import host, spawn  # noqa: F401 - the fixture and helper

from activities.hypervisor.day2_driver import Day2Driver, GuestNotRunning, NotSupported
from activities.hypervisor.driver import DomainNotFound
from activities.types.catalog import FlavorInfo, ImageInfo
from activities.types.hypervisor import SpawnInput
from novaflow.states import PowerState


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



def test_rebuild_defines_the_domain_again_from_the_new_image(host):  # noqa: F811
    d = host()
    sid = spawn(d)
    assert 'id="img"' in d.conn.lookupByUUIDString(sid).XMLDesc(0)
    inp = SpawnInput(server_id=sid, name="vm", project_id="p",
                     flavor=FlavorInfo(flavorid="1", name="m1.tiny", vcpus=1, memory_mb=512,
                                       root_gb=1),
                     image=ImageInfo(id="img-2", name="new"), ports=[])
    assert d.rebuild(inp).power_state == PowerState.RUNNING
    assert 'id="img-2"' in d.conn.lookupByUUIDString(sid).XMLDesc(0)
    assert d.rebuild(inp, power_on=False).power_state == PowerState.SHUTDOWN  # was stopped
    assert [x.server_id for x in d.list_domains()] == [sid]
