"""Diagnostics read from libvirt's test driver, shaped in Nova's two formats;
a host whose driver cannot read them answers NotSupportedByDriver (the API's 501)."""

from __future__ import annotations

import libvirt
import pytest
from temporalio.exceptions import ApplicationError

from activities.hypervisor.activities import HostActivities
from activities.hypervisor.diagnostics import read_diagnostics
from activities.types.day2 import NOT_SUPPORTED
from activities.types.diagnostics import DiagnosticsInput
from api.diagnostics_view import driver_diagnostics, instance_diagnostics

_XML = """<domain type='test'><name>diag</name>
<uuid>11111111-2222-3333-4444-555555555555</uuid>
<memory unit='MiB'>512</memory><vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os>
<devices>
  <disk type='file' device='disk'><source file='/tmp/d'/><target dev='vda' bus='virtio'/></disk>
  <interface type='bridge'><mac address='fa:16:3e:00:00:01'/><source bridge='br-int'/>
    <model type='virtio'/></interface>
</devices></domain>"""


@pytest.fixture
def domain():
    conn = libvirt.open("test:///default")
    dom = conn.defineXML(_XML)
    dom.create()
    yield dom
    dom.destroy()
    dom.undefine()
    conn.close()


def test_counters_of_a_test_driver_domain(domain):
    d = read_diagnostics(domain, 1)
    assert (d.hypervisor, d.max_memory_kib, d.config_drive) == ("test", 512 * 1024, False)
    assert [c.id for c in d.cpus] == [0, 1]
    assert [k.dev for k in d.disks] == ["vda"]
    (nic,) = d.nics
    assert nic.mac_address == "fa:16:3e:00:00:01" and nic.dev and nic.rx_octets is not None

    flat = driver_diagnostics(d)
    assert {"cpu0_time", "cpu1_time", "memory", "vda_read", "vda_write_req",
            f"{nic.dev}_rx", f"{nic.dev}_tx_drop"} <= set(flat)
    assert flat["memory"] == 512 * 1024

    std = instance_diagnostics(d, uptime=5)
    assert std["state"] == "running" and std["uptime"] == 5
    assert (std["num_cpus"], std["num_disks"], std["num_nics"]) == (2, 1, 1)
    assert std["memory_details"] == {"maximum": 512, "used": 512}
    assert std["disk_details"][0]["read_requests"] == d.disks[0].read_requests


def test_a_driver_without_diagnostics_is_not_supported():
    # Any driver outside the Day2Driver contract (here: none at all) cannot read them.
    acts = HostActivities(object(), "host-x")  # type: ignore[arg-type]
    with pytest.raises(ApplicationError) as err:
        acts.get_diagnostics(DiagnosticsInput(server_id="s"))
    assert err.value.type == NOT_SUPPORTED and err.value.non_retryable
