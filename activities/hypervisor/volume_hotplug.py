"""Host-side steps of volume attach / detach: this host's Cinder connector,
and plugging / unplugging a volume's disk in a running domain, over the
driver's Day2Driver contract.  They run on the host's own queue and never
touch the database or Cinder."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.hypervisor.day2_driver import Day2Driver, NotSupported
from activities.hypervisor.day2_host import Day2HostActivities
from activities.types.day2 import NOT_SUPPORTED
from activities.types.volume_attach import (
    VOLUME_ATTACH_FAILED,
    VOLUME_DETACH_FAILED,
    HostVolumeInput,
    SwapVolumeDeviceInput,
)


class HostVolumeActivities(Day2HostActivities):
    """Volume hot-plug on one compute host."""

    def _day2(self) -> Day2Driver:
        return self.day2("attach volumes")

    @activity.defn(name="volume_connector")
    def volume_connector(self, _server_id: str) -> dict:
        try:
            return self._day2().volume_connector()
        except NotSupported as exc:
            raise ApplicationError(str(exc), type=NOT_SUPPORTED, non_retryable=True) from exc

    def _run(self, what: str, fn, inp: HostVolumeInput, failed: str) -> None:
        with self.driver_errors(what, inp.server_id, failed):
            fn(inp)
        self.log.info(what, server_id=inp.server_id, volume_id=inp.disk.volume_id,
                      device=inp.disk.device)

    @activity.defn(name="attach_volume_device")
    def attach_volume_device(self, inp: HostVolumeInput) -> None:
        self._run("attach_volume", lambda i: self._day2().attach_volume(
            i.server_id, i.disk, i.disk_bus), inp, VOLUME_ATTACH_FAILED)

    @activity.defn(name="detach_volume_device")
    def detach_volume_device(self, inp: HostVolumeInput) -> None:
        self._run("detach_volume", lambda i: self._day2().detach_volume(i.server_id, i.disk),
                  inp, VOLUME_DETACH_FAILED)

    @activity.defn(name="swap_volume_device")
    def swap_volume_device(self, inp: SwapVolumeDeviceInput) -> None:
        host_inp = HostVolumeInput(server_id=inp.server_id, disk=inp.new, disk_bus=inp.disk_bus)
        self._run("swap_volume", lambda i: self._day2().swap_volume(
            i.server_id, inp.old, i.disk, i.disk_bus), host_inp, VOLUME_ATTACH_FAILED)

    def all(self) -> list:
        return [self.volume_connector, self.attach_volume_device, self.detach_volume_device,
                self.swap_volume_device]
