"""Host-side steps of interface attach / detach: plugging and unplugging a
port's interface in a running domain, over the driver's Day2Driver
contract.  They run on the host's own queue and never touch the database
or Neutron."""

from __future__ import annotations

from temporalio import activity

from activities.hypervisor.day2_host import Day2HostActivities
from activities.types.interface_attach import (
    INTERFACE_ATTACH_FAILED,
    INTERFACE_DETACH_FAILED,
    HostInterfaceInput,
)


class HostInterfaceActivities(Day2HostActivities):
    """Interface hot-plug on one compute host."""

    def _run(self, what: str, method: str, inp: HostInterfaceInput, failed: str) -> None:
        driver = self.day2(what)
        with self.driver_errors(what, inp.server_id, failed):
            getattr(driver, method)(inp.server_id, inp.port)
        self.log.info(what, server_id=inp.server_id, port_id=inp.port.id)

    @activity.defn(name="attach_interface_device")
    def attach_interface_device(self, inp: HostInterfaceInput) -> None:
        self._run("attach_interface", "attach_interface", inp, INTERFACE_ATTACH_FAILED)

    @activity.defn(name="detach_interface_device")
    def detach_interface_device(self, inp: HostInterfaceInput) -> None:
        self._run("detach_interface", "detach_interface", inp, INTERFACE_DETACH_FAILED)

    def all(self) -> list:
        return [self.attach_interface_device, self.detach_interface_device]
