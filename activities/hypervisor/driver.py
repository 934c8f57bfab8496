"""The compute driver contract every hypervisor backend implements.

Guarantees callers rely on (Nova's virt driver contract):
- ``spawn`` either leaves a running domain or nothing at all;
- ``destroy`` succeeds when the domain is already gone;
- every method is safe to call again after a crash halfway (idempotent).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, fields

from activities.types.catalog import FlavorInfo
from activities.types.consoles import ConsoleEndpoint
from activities.types.hosts import Inventory
from activities.types.hypervisor import SpawnInput
from activities.types.moves import HostCapabilities, LiveMigrateData


class DriverError(Exception):
    """The hypervisor refused or failed an operation."""


class DomainNotFound(DriverError):
    """No domain exists for that server."""


class ConsoleUnavailable(DriverError):
    """The guest has no console of that kind (Nova's ConsoleTypeUnavailable)."""


@dataclass(kw_only=True)
class NodeInfo(Inventory):
    """A host's inventory, and the host it describes."""

    hostname: str

    def inventory(self) -> Inventory:
        """The inventory alone, as registration and reports carry it."""
        return Inventory(**{f.name: getattr(self, f.name) for f in fields(Inventory)})


@dataclass
class DomainInfo:
    """One domain on the host: which server, and its power state."""

    server_id: str
    name: str
    power_state: int
    vcpus: int
    memory_mb: int


class ComputeDriver(ABC):
    """A hypervisor backend for one compute host."""

    @abstractmethod
    def node_info(self) -> NodeInfo:
        """The host's inventory."""

    @abstractmethod
    def spawn(self, inp: SpawnInput) -> DomainInfo:
        """Define and start the server's domain; on failure leave nothing behind."""

    @abstractmethod
    def destroy(self, server_id: str) -> bool:
        """Stop and undefine the domain; False (not an error) if it was already gone."""

    @abstractmethod
    def get_domain(self, server_id: str) -> DomainInfo:
        """The domain of the server; raises DomainNotFound."""

    @abstractmethod
    def list_domains(self) -> list[DomainInfo]:
        """Every domain defined on this host."""

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release the connection to the hypervisor."""

    # Power actions.  Each returns the domain afterwards and raises
    # DomainNotFound if there is none.  Not abstract, so test doubles that
    # only care about spawn need not implement them.  Calls for one server are
    # serialised: a destroy issued while a spawn or power action is running
    # takes effect after it, never before.

    def power_on(self, server_id: str) -> DomainInfo:
        """Start a stopped domain (restoring a suspended one's saved state)."""
        raise DriverError(f"{type(self).__name__} does not support power_on")

    def power_off(self, server_id: str, timeout: float = 60.0) -> DomainInfo:
        """Shut the guest down cleanly; after ``timeout`` seconds, pull the plug."""
        raise DriverError(f"{type(self).__name__} does not support power_off")

    def reboot(self, server_id: str, hard: bool = False) -> DomainInfo:
        """Reboot the guest (soft), or destroy and start the domain (hard)."""
        raise DriverError(f"{type(self).__name__} does not support reboot")

    def pause(self, server_id: str) -> DomainInfo:
        """Freeze the domain's vCPUs; its memory stays on the host."""
        raise DriverError(f"{type(self).__name__} does not support pause")

    def unpause(self, server_id: str) -> DomainInfo:
        raise DriverError(f"{type(self).__name__} does not support unpause")

    def suspend(self, server_id: str) -> DomainInfo:
        """Save the domain's memory to disk and stop it (libvirt managed save)."""
        raise DriverError(f"{type(self).__name__} does not support suspend")

    def resume(self, server_id: str) -> DomainInfo:
        """Start a suspended domain from its saved state."""
        raise DriverError(f"{type(self).__name__} does not support resume")

    def console_output(self, server_id: str, length: int | None = None) -> str:
        """The last ``length`` lines of the guest's serial console (all when
        None); raises DomainNotFound."""
        raise DriverError(f"{type(self).__name__} does not support console_output")

    def console_endpoint(self, server_id: str, protocol: str) -> ConsoleEndpoint:
        """Where the guest's ``protocol`` ("vnc", "serial") console listens, read
        from the running domain; raises DomainNotFound, or ConsoleUnavailable
        when the guest has no such console."""
        raise ConsoleUnavailable(f"Unavailable console type {protocol}.")

    # Moves (resize, cold and live migration), each idempotent.  Not abstract,
    # for the same reason as the power actions.

    def _unsupported(self, what: str) -> DriverError:
        return DriverError(f"{type(self).__name__} does not support {what}")

    def prep_resize(self, server_id: str, flavor: FlavorInfo, same_host: bool) -> None:
        """Destination side, first: check this host can take the server with
        ``flavor``; raise DriverError if not.  Creates nothing."""
        raise self._unsupported("prep_resize")

    def migrate_disk_and_power_off(self, server_id: str, old_flavor: FlavorInfo,
                                   new_flavor: FlavorInfo, dest_host: str) -> None:
        """Source side: power the domain off and hand its disks to the destination.

        The definition stays here, shut off, until the move is confirmed or
        reverted.  Refuses to shrink the root disk (Nova: "Unable to resize
        disk down.").  A domain already off is not an error.
        """
        raise self._unsupported("migrate_disk_and_power_off")

    def finish_migration(self, inp: SpawnInput, power_on: bool = True) -> DomainInfo:
        """Destination side, last: define the domain with the new flavor
        (replacing this server's old definition on a same-host resize) and
        start it if ``power_on``.  On failure leaves no new definition."""
        raise self._unsupported("finish_migration")

    def confirm_migration(self, server_id: str, same_host: bool) -> None:
        """Source side, on confirm: drop what the source kept for a revert.
        On a same-host resize the domain is the resized server: keep it."""
        raise self._unsupported("confirm_migration")

    def finish_revert_migration(self, inp: SpawnInput, power_on: bool = True) -> DomainInfo:
        """Source side, on revert: the server's domain here again with the old
        flavor (``inp``), started if ``power_on``."""
        raise self._unsupported("finish_revert_migration")

    def check_can_live_migrate_destination(self, server_id: str, flavor: FlavorInfo,
                                           source: HostCapabilities,
                                           block_migration: bool | None) -> LiveMigrateData:
        """Destination side: compatible cpu arch and hypervisor, room for the
        flavor; leaves a shared-storage test file the source looks for.
        ``block_migration`` None is "auto"."""
        raise self._unsupported("live migration")

    def check_can_live_migrate_source(self, server_id: str, data: LiveMigrateData,
                                      block_migration: bool | None) -> LiveMigrateData:
        """Source side: the domain runs here; resolves block_migration from
        whether the destination's test file is visible (shared storage)."""
        raise self._unsupported("live migration")

    def cleanup_live_migration_destination_check(self, data: LiveMigrateData) -> None:
        """Destination side: remove the shared-storage test file."""
        raise self._unsupported("live migration")

    def pre_live_migration(self, inp: SpawnInput, data: LiveMigrateData) -> None:
        """Destination side: get ready to receive the domain."""
        raise self._unsupported("live migration")

    def live_migrate_to(self, server_id: str, dest: HostCapabilities,
                        data: LiveMigrateData) -> None:
        """Source side: move the running domain to ``dest``; when this returns
        the guest runs there and no longer here.  On failure it still runs here."""
        raise self._unsupported("live migration")

    def post_live_migration_at_destination(self, server_id: str,
                                           data: LiveMigrateData) -> DomainInfo:
        """Destination side, after the switch-over: the domain is defined and
        running (or paused, if it was) here."""
        raise self._unsupported("live migration")

    def post_live_migration(self, server_id: str, data: LiveMigrateData) -> None:
        """Source side, after the switch-over: remove what is left here."""
        raise self._unsupported("live migration")

    def rollback_live_migration_at_destination(self, server_id: str,
                                               data: LiveMigrateData) -> None:
        """Destination side, on failure before the switch-over: remove what
        pre_live_migration prepared.  Succeeds if nothing is there."""
        raise self._unsupported("live migration")
