"""What host workers are asked to do to a domain, and what they answer.

One dataclass per call, ids and small values only: workflows import this.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from activities.types.catalog import FlavorInfo, ImageInfo, PortInfo, VolumeDisk


@dataclass
class SpawnInput:
    server_id: str
    name: str
    project_id: str
    flavor: FlavorInfo
    image: ImageInfo
    ports: list[PortInfo]
    # Volumes to attach (boot from volume: the one with boot_index 0 is the root disk).
    volumes: list[VolumeDisk] = field(default_factory=list)
    # The build attempt this spawn belongs to (0: not a build); the host checks
    # it is still the attempt's chosen host before and after creating anything.
    attempt: int = 0


@dataclass
class ClaimedHost:
    """Where a build currently stands: the host of its current attempt (the
    boot workflow's ``claimed_host`` query), for fencing late spawns."""

    host: str | None
    attempt: int


@dataclass
class SpawnResult:
    host: str
    domain_name: str
    power_state: int


@dataclass
class DestroyInput:
    server_id: str


@dataclass
class PowerActionInput:
    """A power action on one server's domain, run on its host's queue."""

    server_id: str
    hard: bool = False  # reboot: destroy and start again instead of a guest reboot
    shutdown_timeout_s: float = 60.0  # power_off: wait for a clean shutdown this long


@dataclass
class PowerActionResult:
    power_state: int
