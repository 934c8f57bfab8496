"""Host-side snapshot step (createImage, createBackup, shelve) over the
driver's Day2Driver contract: the root disk copied into a queued image of
the image service.  Runs on the host's own queue; never touches the database.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.hypervisor.day2_driver import Day2Driver, NotSupported
from activities.hypervisor.driver import ComputeDriver, DomainNotFound, DriverError
from activities.types.day2 import NOT_SUPPORTED
from activities.types.snapshot import SNAPSHOT_FAILED, SnapshotDomainInput, SnapshotDomainResult
from novaflow import errors, logs


class HostSnapshotActivities:
    """Snapshots on one compute host."""

    def __init__(self, driver: ComputeDriver, hostname: str):
        self.driver = driver
        self.hostname = hostname
        self.log = logs.get_logger("novaflow.host").bind(host=hostname)

    @activity.defn(name="snapshot_domain")
    def snapshot_domain(self, inp: SnapshotDomainInput) -> SnapshotDomainResult:
        if not isinstance(self.driver, Day2Driver):
            raise ApplicationError(f"{self.hostname}'s driver cannot snapshot",
                                   type=NOT_SUPPORTED, non_retryable=True)
        try:
            size = self.driver.snapshot(inp.server_id, inp.image_id)
        except DomainNotFound as exc:
            raise ApplicationError(f"server {inp.server_id} has no domain on {self.hostname}",
                                   type=errors.NOT_FOUND, non_retryable=True) from exc
        except NotSupported as exc:
            raise ApplicationError(str(exc), type=NOT_SUPPORTED, non_retryable=True) from exc
        except DriverError as exc:
            self.log.warning("snapshot failed", server_id=inp.server_id, error=str(exc))
            raise ApplicationError(f"snapshot on {self.hostname} failed: {exc}",
                                   type=SNAPSHOT_FAILED, non_retryable=True) from exc
        self.log.info("snapshot taken", server_id=inp.server_id, image_id=inp.image_id,
                      size=size)
        return SnapshotDomainResult(uploaded=size is not None, size=size or 0)

    def all(self) -> list:
        return [self.snapshot_domain]
