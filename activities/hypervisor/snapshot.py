"""Host-side snapshot step (createImage, createBackup, shelve) over the
driver's Day2Driver contract: the root disk copied into a queued image of
the image service.  Runs on the host's own queue; never touches the database.
"""

from __future__ import annotations

from temporalio import activity

from activities.hypervisor.day2_host import Day2HostActivities
from activities.types.snapshot import SNAPSHOT_FAILED, SnapshotDomainInput, SnapshotDomainResult


class HostSnapshotActivities(Day2HostActivities):
    """Snapshots on one compute host."""

    @activity.defn(name="snapshot_domain")
    def snapshot_domain(self, inp: SnapshotDomainInput) -> SnapshotDomainResult:
        driver = self.day2("snapshot")
        with self.driver_errors("snapshot", inp.server_id, SNAPSHOT_FAILED):
            size = driver.snapshot(inp.server_id, inp.image_id)
        self.log.info("snapshot taken", server_id=inp.server_id, image_id=inp.image_id,
                      size=size)
        return SnapshotDomainResult(uploaded=size is not None, size=size or 0)

    def all(self) -> list:
        return [self.snapshot_domain]
