"""Compute hosts: registration, inventory and the periodic report of their domains.

One dataclass per call, ids and small values only: workflows import this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Inventory:
    """What a host offers, as its hypervisor reports it: registration and
    every periodic report carry one."""

    vcpus: int
    memory_mb: int
    local_gb: int
    cpu_arch: str
    hypervisor_type: str
    hypervisor_version: int
    cpu_info: dict[str, Any] = field(default_factory=dict)


@dataclass
class RegisterHostInput:
    """A host worker announcing itself and its inventory."""

    hostname: str
    inventory: Inventory
    availability_zone: str = "nova"
    libvirt_uri: str = ""


@dataclass
class RegisterHostResult:
    node_uuid: str
    service_id: str
    created: bool


@dataclass
class HostReportInput:
    hostname: str


@dataclass
class DomainReport:
    server_id: str
    name: str
    power_state: int


@dataclass
class HostReport:
    """What a host's hypervisor says: its inventory and every domain on it."""

    hostname: str
    inventory: Inventory
    domains: list[DomainReport] = field(default_factory=list)


@dataclass
class RecordHostReportInput:
    report: HostReport
    started_at: datetime  # rows changed after this are newer than the report: skipped


@dataclass
class RecordHostReportResult:
    registered: bool  # False: the host's service was deleted, stop monitoring it
    report_interval_s: float
    destroy: list[str] = field(default_factory=list)  # server ids to destroy on the host
    unknown: list[str] = field(default_factory=list)  # domains no server record knows
    changes: list[str] = field(default_factory=list)  # what the report changed


@dataclass
class HostCleanupDoneInput:
    hostname: str
    server_ids: list[str]


@dataclass
class HostGroupReportInput:
    hostnames: list[str]


@dataclass
class HostGroupReport:
    """Every report one host-worker process could make, in one payload."""

    reports: list[HostReport] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # hosts this process does not serve


@dataclass
class RecordHostReportsInput:
    reports: list[HostReport]
    started_at: datetime


@dataclass
class RecordHostReportsResult:
    results: dict[str, RecordHostReportResult] = field(default_factory=dict)
    report_interval_s: float = 10.0


@dataclass
class RegisterHostsInput:
    """Many hosts of one process announcing themselves at once."""

    hosts: list[RegisterHostInput] = field(default_factory=list)
