"""LibvirtDriver's power actions on libvirt's test driver, and that their
states survive a host worker restart (the persisted domain file)."""

from __future__ import annotations

import uuid

import pytest

from activities.hypervisor.driver import DomainNotFound
from activities.hypervisor.libvirt_driver import LibvirtDriver
from activities.types.catalog import FlavorInfo, ImageInfo
from activities.types.hypervisor import SpawnInput
from novaflow.states import PowerState
from workers.sim_hosts import SimHost


@pytest.fixture
def host(tmp_path):
    sim = SimHost(name="p1", vcpus=4, memory_mb=8192, local_gb=50, availability_zone="nova")
    node = tmp_path / "p1.xml"
    node.write_text(sim.node_xml())

    def open_driver() -> LibvirtDriver:
        return LibvirtDriver(f"test://{node}", "p1", local_gb=50,
                             persist_path=tmp_path / "p1.domains.json",
                             images_dir=str(tmp_path))
    return open_driver


def spawn(driver: LibvirtDriver) -> str:
    server_id = str(uuid.uuid4())
    driver.spawn(SpawnInput(server_id=server_id, name="vm", project_id="p",
                            flavor=FlavorInfo(flavorid="1", name="m1.tiny", vcpus=1,
                                              memory_mb=512, root_gb=1),
                            image=ImageInfo(id="img", name="cirros"), ports=[]))
    return server_id


def test_each_action_reports_the_power_state_libvirt_shows(host):
    d = host()
    sid = spawn(d)
    assert d.power_off(sid, timeout=1).power_state == PowerState.SHUTDOWN
    assert d.power_off(sid, timeout=1).power_state == PowerState.SHUTDOWN  # idempotent
    assert d.power_on(sid).power_state == PowerState.RUNNING
    assert d.reboot(sid).power_state == PowerState.RUNNING
    assert d.pause(sid).power_state == PowerState.PAUSED
    assert d.reboot(sid, hard=True).power_state == PowerState.RUNNING
    assert d.pause(sid).power_state == PowerState.PAUSED
    assert d.unpause(sid).power_state == PowerState.RUNNING
    assert d.suspend(sid).power_state == PowerState.SHUTDOWN
    assert d.resume(sid).power_state == PowerState.RUNNING
    with pytest.raises(DomainNotFound):
        d.power_on(str(uuid.uuid4()))


def test_paused_and_suspended_domains_survive_a_restart(host):
    d = host()
    paused, suspended = spawn(d), spawn(d)
    d.pause(paused)
    d.suspend(suspended)
    d.close()
    d = host()
    assert d.get_domain(paused).power_state == PowerState.PAUSED
    assert d.conn.lookupByUUIDString(suspended).hasManagedSaveImage(0)
    assert d.resume(suspended).power_state == PowerState.RUNNING
