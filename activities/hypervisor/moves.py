"""Host-side steps of resize, cold and live migration, on the host's own queue.

Named after Nova's compute manager methods; each is one driver call and never
touches the database.  A driver refusal becomes a non-retryable
``MigrationStepFailed`` whose message names the host, so the workflow's
fault and instance-action event say what failed and where.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.hypervisor.driver import ComputeDriver, DriverError
from activities.types.hypervisor import DestroyInput, SpawnResult
from activities.types.moves import (
    ConfirmResizeInput,
    FinishResizeInput,
    LiveCheckDestInput,
    LiveCheckSourceInput,
    LiveMigrateData,
    LiveMigrationInput,
    LiveMigrationStepInput,
    PreLiveMigrationInput,
    PrepResizeInput,
    ResizeInstanceInput,
)
from novaflow import logs

MIGRATION_STEP_FAILED = "MigrationStepFailed"


class HostMoveActivities:
    """The move steps of one compute host."""

    def __init__(self, driver: ComputeDriver, hostname: str):
        self.driver = driver
        self.hostname = hostname
        self.log = logs.get_logger("novaflow.host").bind(host=hostname)

    def _run(self, step: str, server_id: str, fn: Callable[[], Any]) -> Any:
        try:
            out = fn()
        except DriverError as exc:
            self.log.warning(f"{step} failed", server_id=server_id, error=str(exc))
            raise ApplicationError(f"{step} on {self.hostname} failed: {exc}",
                                   type=MIGRATION_STEP_FAILED, non_retryable=True) from exc
        self.log.info(step, server_id=server_id)
        return out

    def _spawned(self, dom) -> SpawnResult:
        return SpawnResult(host=self.hostname, domain_name=dom.name,
                           power_state=dom.power_state)

    # -- resize and cold migration ---------------------------------------------

    @activity.defn(name="prep_resize")
    def prep_resize(self, inp: PrepResizeInput) -> None:
        self._run("prep_resize", inp.server_id,
                  lambda: self.driver.prep_resize(inp.server_id, inp.flavor, inp.same_host))

    @activity.defn(name="resize_instance")
    def resize_instance(self, inp: ResizeInstanceInput) -> None:
        self._run("resize_instance", inp.server_id,
                  lambda: self.driver.migrate_disk_and_power_off(
                      inp.server_id, inp.old_flavor, inp.new_flavor, inp.dest_host))

    @activity.defn(name="finish_resize")
    def finish_resize(self, inp: FinishResizeInput) -> SpawnResult:
        return self._spawned(self._run(
            "finish_resize", inp.spawn.server_id,
            lambda: self.driver.finish_migration(inp.spawn, inp.power_on)))

    @activity.defn(name="confirm_resize")
    def confirm_resize(self, inp: ConfirmResizeInput) -> None:
        self._run("confirm_resize", inp.server_id,
                  lambda: self.driver.confirm_migration(inp.server_id, inp.same_host))

    @activity.defn(name="revert_resize")
    def revert_resize(self, inp: DestroyInput) -> bool:
        """The destination side of a revert: the resized domain goes."""
        return self._run("revert_resize", inp.server_id,
                         lambda: self.driver.destroy(inp.server_id))

    @activity.defn(name="finish_revert_resize")
    def finish_revert_resize(self, inp: FinishResizeInput) -> SpawnResult:
        return self._spawned(self._run(
            "finish_revert_resize", inp.spawn.server_id,
            lambda: self.driver.finish_revert_migration(inp.spawn, inp.power_on)))

    # -- live migration ----------------------------------------------------------

    @activity.defn(name="check_can_live_migrate_destination")
    def check_can_live_migrate_destination(self, inp: LiveCheckDestInput) -> LiveMigrateData:
        return self._run("check_can_live_migrate_destination", inp.server_id,
                         lambda: self.driver.check_can_live_migrate_destination(
                             inp.server_id, inp.flavor, inp.source, inp.block_migration))

    @activity.defn(name="check_can_live_migrate_source")
    def check_can_live_migrate_source(self, inp: LiveCheckSourceInput) -> LiveMigrateData:
        return self._run("check_can_live_migrate_source", inp.server_id,
                         lambda: self.driver.check_can_live_migrate_source(
                             inp.server_id, inp.data, inp.block_migration_requested))

    @activity.defn(name="cleanup_live_migration_destination_check")
    def cleanup_live_migration_destination_check(self, inp: LiveMigrationStepInput) -> None:
        self._run("cleanup_live_migration_destination_check", inp.server_id,
                  lambda: self.driver.cleanup_live_migration_destination_check(inp.data))

    @activity.defn(name="pre_live_migration")
    def pre_live_migration(self, inp: PreLiveMigrationInput) -> None:
        self._run("pre_live_migration", inp.spawn.server_id,
                  lambda: self.driver.pre_live_migration(inp.spawn, inp.data))

    @activity.defn(name="live_migration")
    def live_migration(self, inp: LiveMigrationInput) -> None:
        self._run("live_migration", inp.server_id,
                  lambda: self.driver.live_migrate_to(inp.server_id, inp.dest, inp.data))

    @activity.defn(name="post_live_migration_at_destination")
    def post_live_migration_at_destination(self, inp: LiveMigrationStepInput) -> SpawnResult:
        return self._spawned(self._run(
            "post_live_migration_at_destination", inp.server_id,
            lambda: self.driver.post_live_migration_at_destination(inp.server_id, inp.data)))

    @activity.defn(name="post_live_migration")
    def post_live_migration(self, inp: LiveMigrationStepInput) -> None:
        self._run("post_live_migration", inp.server_id,
                  lambda: self.driver.post_live_migration(inp.server_id, inp.data))

    @activity.defn(name="rollback_live_migration_at_destination")
    def rollback_live_migration_at_destination(self, inp: LiveMigrationStepInput) -> None:
        self._run("rollback_live_migration_at_destination", inp.server_id,
                  lambda: self.driver.rollback_live_migration_at_destination(
                      inp.server_id, inp.data))

    def all(self) -> list:
        return [
            self.prep_resize, self.resize_instance, self.finish_resize, self.confirm_resize,
            self.revert_resize, self.finish_revert_resize,
            self.check_can_live_migrate_destination, self.check_can_live_migrate_source,
            self.cleanup_live_migration_destination_check, self.pre_live_migration,
            self.live_migration, self.post_live_migration_at_destination,
            self.post_live_migration, self.rollback_live_migration_at_destination,
        ]
