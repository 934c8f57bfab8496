"""Filters on where a host is and whether it works: retry exclusion, service state, AZ."""

from __future__ import annotations

import numpy as np

from activities.scheduler.filters.base import BaseFilter, ProfileFilter
from activities.scheduler.host_table import HostTable, host_availability_zones
from activities.scheduler.types import HostState, RequestSpec


class RetryFilter(BaseFilter):
    """Rejects hosts an earlier attempt of this request already failed on."""

    def applies(self, spec: RequestSpec) -> bool:
        return bool(spec.ignore_hosts)

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        tried = {h.lower() for h in spec.ignore_hosts}
        if host.host.lower() in tried:
            return self.reject("host already tried by an earlier attempt")
        return None

    def batch(self, table: HostTable, spec: RequestSpec, alive: np.ndarray) -> np.ndarray:
        return ~table.mask_of(table.rows_named(spec.ignore_hosts))


class ComputeFilter(BaseFilter):
    """Rejects hosts whose compute service is disabled or down."""

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        if host.service_disabled:
            return self.reject("compute service is disabled")
        if not host.service_up:
            return self.reject(
                f"compute service is down (no report for over "
                f"{self.settings.service_down_time} s)")
        return None

    def batch(self, table: HostTable, spec: RequestSpec, alive: np.ndarray) -> np.ndarray:
        return ~table.service_disabled & table.service_up


class AvailabilityZoneFilter(ProfileFilter):
    """Passes hosts in the requested availability zone (aggregate metadata first)."""

    def applies(self, spec: RequestSpec) -> bool:
        return bool(spec.availability_zone)

    def profile_key(self, host: HostState) -> object:
        # Most hosts have no aggregates: their own zone string is key enough.
        return host_availability_zones(host) if host.aggregates else host.availability_zone

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        if not spec.availability_zone:
            return None
        zones = host_availability_zones(host)
        if spec.availability_zone not in zones:
            return self.reject(
                f"host is in {', '.join(sorted(zones))}, not {spec.availability_zone}")
        return None
