"""The compute driver contract every hypervisor backend implements.

Guarantees callers rely on (Nova's virt driver contract):
- ``spawn`` either leaves a running domain or nothing at all;
- ``destroy`` succeeds when the domain is already gone;
- every method is safe to call again after a crash halfway (idempotent).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from activities.types import SpawnInput


class DriverError(Exception):
    """The hypervisor refused or failed an operation."""


class DomainNotFound(DriverError):
    """No domain exists for that server."""


@dataclass
class NodeInfo:
    """What a host offers, as its hypervisor reports it."""

    hostname: str
    vcpus: int
    memory_mb: int
    local_gb: int
    cpu_arch: str
    hypervisor_type: str
    hypervisor_version: int
    cpu_info: dict = field(default_factory=dict)


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

    def close(self) -> None:
        """Release the connection to the hypervisor."""
