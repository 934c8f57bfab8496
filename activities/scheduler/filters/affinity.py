"""Placement relative to other instances: server groups and same/different-host hints."""

from __future__ import annotations

from typing import Any

import numpy as np

from activities.scheduler.filters.base import BaseFilter
from activities.scheduler.host_table import HostTable, group_members_on_host
from activities.scheduler.types import HostState, RequestSpec


def _group_policy(spec: RequestSpec) -> str | None:
    return spec.instance_group.policy if spec.instance_group else None


def _max_per_host(spec: RequestSpec) -> int:
    rules = spec.instance_group.rules if spec.instance_group else {}
    return int(rules.get("max_server_per_host", 1) if rules else 1)


class ServerGroupAntiAffinityFilter(BaseFilter):
    """Rejects hosts already holding max_server_per_host members of an anti-affinity group."""

    def applies(self, spec: RequestSpec) -> bool:
        return _group_policy(spec) == "anti-affinity"

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        if not self.applies(spec):
            return None
        # A move may re-check the instance's own host; it must not count itself.
        if spec.instance_uuid and spec.instance_uuid in host.instance_uuids:
            return None
        on_host = group_members_on_host(host, spec)
        limit = _max_per_host(spec)
        if on_host >= limit:
            return self.reject(
                f"{on_host} members of anti-affinity group {spec.instance_group.uuid} "
                f"already on host (max {limit})")
        return None

    def batch(self, table: HostTable, spec: RequestSpec, alive: np.ndarray) -> np.ndarray:
        ok = table.group_member_counts(spec) < _max_per_host(spec)
        if spec.instance_uuid:
            ok[table.rows_holding([spec.instance_uuid])] = True
        return ok


class ServerGroupAffinityFilter(BaseFilter):
    """Passes only the hosts where members of an affinity group already run."""

    # As in Nova, group.hosts (one entry per placed member) says whether any
    # member is placed yet; until one is, every host passes.

    def applies(self, spec: RequestSpec) -> bool:
        return _group_policy(spec) == "affinity" and bool(spec.instance_group.hosts)

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        if not self.applies(spec):
            return None
        if group_members_on_host(host, spec) > 0:
            return None
        group = spec.instance_group
        return self.reject(
            f"affinity group {group.uuid} members are on {', '.join(sorted(set(group.hosts)))}")

    def batch(self, table: HostTable, spec: RequestSpec, alive: np.ndarray) -> np.ndarray:
        return table.group_member_counts(spec) > 0


def _hint_uuids(spec: RequestSpec, key: str) -> list[str]:
    value: Any = spec.scheduler_hints.get(key)
    if not value:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


class SameHostFilter(BaseFilter):
    """Passes hosts running one of the instances named in the same_host hint."""

    def applies(self, spec: RequestSpec) -> bool:
        return bool(_hint_uuids(spec, "same_host"))

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        wanted = _hint_uuids(spec, "same_host")
        if wanted and not host.instance_uuids.intersection(wanted):
            return self.reject("none of the same_host instances run here")
        return None

    def batch(self, table: HostTable, spec: RequestSpec, alive: np.ndarray) -> np.ndarray:
        return table.mask_of(table.rows_holding(_hint_uuids(spec, "same_host")))


class DifferentHostFilter(BaseFilter):
    """Rejects hosts running any of the instances named in the different_host hint."""

    def applies(self, spec: RequestSpec) -> bool:
        return bool(_hint_uuids(spec, "different_host"))

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        clash = host.instance_uuids.intersection(_hint_uuids(spec, "different_host"))
        if clash:
            return self.reject(f"runs different_host instance {min(clash)}")
        return None

    def batch(self, table: HostTable, spec: RequestSpec, alive: np.ndarray) -> np.ndarray:
        return ~table.mask_of(table.rows_holding(_hint_uuids(spec, "different_host")))
