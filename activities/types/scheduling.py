"""Choosing a host and claiming its resources.

One dataclass per call, ids and small values only: workflows import this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from activities.types.catalog import FlavorInfo, ImageInfo
from activities.types.context import OpContext


@dataclass
class SelectDestinationsInput:
    ctx: OpContext
    flavor: FlavorInfo
    image: ImageInfo | None = None
    availability_zone: str | None = None
    scheduler_hints: dict[str, Any] = field(default_factory=dict)
    ignore_hosts: list[str] = field(default_factory=list)
    force_host: str | None = None
    requested_host: str | None = None
    num_alternates: int = 2


@dataclass
class SelectDestinationsResult:
    hosts: list[str]  # chosen first, then alternates


@dataclass
class ClaimInput:
    ctx: OpContext
    consumer_id: str
    flavor: FlavorInfo
    candidates: list[str]
    group_uuid: str | None = None  # late affinity check inside the claim


@dataclass
class ClaimResult:
    host: str
    node_uuid: str
    libvirt_uri: str = ""


@dataclass
class ReleaseClaimInput:
    ctx: OpContext
    consumer_id: str
    host: str | None = None  # None: every allocation of the consumer
    build_failed: bool = False  # count a failed build against the host
