"""What the host-side day-2 activities share: the host's driver, name and
log, the check that the driver speaks the Day2Driver contract, and one
translation of driver failures into the error types workflows and the API
read (no domain -> not found, unsupported -> NotSupported, any other driver
failure -> the step's own failure type, logged)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio.exceptions import ApplicationError

from activities.hypervisor.day2_driver import Day2Driver, NotSupported
from activities.hypervisor.driver import ComputeDriver, DomainNotFound, DriverError
from activities.types.day2 import NOT_SUPPORTED
from novaflow import errors, logs


class Day2HostActivities:
    """Base of a host's day-2 activity classes."""

    def __init__(self, driver: ComputeDriver, hostname: str):
        self.driver = driver
        self.hostname = hostname
        self.log = logs.get_logger("novaflow.host").bind(host=hostname)

    def day2(self, what: str) -> Day2Driver:
        """The driver, if it can do day-2 operations; else NotSupported."""
        if not isinstance(self.driver, Day2Driver):
            raise ApplicationError(f"{self.hostname}'s driver cannot {what}",
                                   type=NOT_SUPPORTED, non_retryable=True)
        return self.driver

    @contextmanager
    def driver_errors(self, what: str, server_id: str, failed: str) -> Iterator[None]:
        """Driver failures inside the block as non-retryable ApplicationErrors."""
        try:
            yield
        except DomainNotFound as exc:
            raise ApplicationError(f"server {server_id} has no domain on {self.hostname}",
                                   type=errors.NOT_FOUND, non_retryable=True) from exc
        except NotSupported as exc:
            raise ApplicationError(str(exc), type=NOT_SUPPORTED, non_retryable=True) from exc
        except DriverError as exc:
            self.log.warning(f"{what} failed", server_id=server_id, error=str(exc))
            raise ApplicationError(f"{what} on {self.hostname} failed: {exc}", type=failed,
                                   non_retryable=True) from exc
