"""Host-side steps of interface attach / detach: plugging and unplugging a
port's interface in a running domain, over the driver's Day2Driver
contract.  They run on the host's own queue and never touch the database
or Neutron."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.hypervisor.day2_driver import Day2Driver, NotSupported
from activities.hypervisor.driver import ComputeDriver, DomainNotFound, DriverError
from activities.types.day2 import NOT_SUPPORTED
from activities.types.interface_attach import (
    INTERFACE_ATTACH_FAILED,
    INTERFACE_DETACH_FAILED,
    HostInterfaceInput,
)
from novaflow import errors, logs


class HostInterfaceActivities:
    """Interface hot-plug on one compute host."""

    def __init__(self, driver: ComputeDriver, hostname: str):
        self.driver = driver
        self.hostname = hostname
        self.log = logs.get_logger("novaflow.host").bind(host=hostname)

    def _run(self, what: str, method: str, inp: HostInterfaceInput, failed: str) -> None:
        if not isinstance(self.driver, Day2Driver):
            raise ApplicationError(f"{self.hostname}'s driver cannot {what}",
                                   type=NOT_SUPPORTED, non_retryable=True)
        try:
            getattr(self.driver, method)(inp.server_id, inp.port)
        except DomainNotFound as exc:
            raise ApplicationError(f"server {inp.server_id} has no domain on {self.hostname}",
                                   type=errors.NOT_FOUND, non_retryable=True) from exc
        except NotSupported as exc:
            raise ApplicationError(str(exc), type=NOT_SUPPORTED, non_retryable=True) from exc
        except DriverError as exc:
            self.log.warning(f"{what} failed", server_id=inp.server_id, error=str(exc))
            raise ApplicationError(f"{what} on {self.hostname} failed: {exc}", type=failed,
                                   non_retryable=True) from exc
        self.log.info(what, server_id=inp.server_id, port_id=inp.port.id)

    @activity.defn(name="attach_interface_device")
    def attach_interface_device(self, inp: HostInterfaceInput) -> None:
        self._run("attach_interface", "attach_interface", inp, INTERFACE_ATTACH_FAILED)

    @activity.defn(name="detach_interface_device")
    def detach_interface_device(self, inp: HostInterfaceInput) -> None:
        self._run("detach_interface", "detach_interface", inp, INTERFACE_DETACH_FAILED)

    def all(self) -> list:
        return [self.attach_interface_device, self.detach_interface_device]
