"""Weighers: rank the hosts that passed the filters, as Nova's weight handler does.

Each weigher gives every candidate a raw value; the values are min-max
normalised to 0..1 over the candidates (all equal -> all 0), multiplied by the
weigher's multiplier (from settings, or the minimum of any aggregate metadata
override of the same option name) and summed.  Higher total wins.  With one
candidate or none, every weight is 0, as in Nova.

`weigh_rows` is the vectorised path the scheduler uses; `weigh_hosts` is the
plain per-host path, kept for tests and for readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from activities.scheduler import host_table as ht
from activities.scheduler.host_table import HostTable
from activities.scheduler.types import HostState, RequestSpec
from novaflow.settings import SchedulerSettings


class BaseWeigher:
    """A raw per-host value (higher is better before the multiplier) and its option."""

    name: ClassVar[str] = "BaseWeigher"
    option: ClassVar[str] = ""  # the SchedulerSettings field holding the multiplier

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.name = cls.__name__

    def applies(self, spec: RequestSpec) -> bool:
        """False when every host would get the same raw value for this request."""
        return True

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        raise NotImplementedError

    def batch(self, table: HostTable, spec: RequestSpec, rows: np.ndarray) -> np.ndarray:
        return np.fromiter((self.weigh(table.hosts[r], spec) for r in rows.tolist()),
                           dtype=np.float64, count=len(rows))


class RAMWeigher(BaseWeigher):
    """Prefers hosts with more free RAM (spreads; a negative multiplier stacks)."""

    option = "ram_weight_multiplier"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return ht.free_ram_mb(host)

    def batch(self, table: HostTable, spec: RequestSpec, rows: np.ndarray) -> np.ndarray:
        return table.free_ram_mb()[rows]


class CPUWeigher(BaseWeigher):
    """Prefers hosts with more allocatable vCPUs."""

    option = "cpu_weight_multiplier"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return ht.vcpus_usable(host)

    def batch(self, table: HostTable, spec: RequestSpec, rows: np.ndarray) -> np.ndarray:
        return table.vcpus_usable()[rows]


class DiskWeigher(BaseWeigher):
    """Prefers hosts with more free local disk."""

    option = "disk_weight_multiplier"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return ht.free_disk_mb(host)

    def batch(self, table: HostTable, spec: RequestSpec, rows: np.ndarray) -> np.ndarray:
        return table.free_disk_mb()[rows]


class NumInstancesWeigher(BaseWeigher):
    """Ranks by instance count (multiplier 0 by default; negative spreads)."""

    option = "num_instances_weight_multiplier"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return float(host.num_instances)

    def batch(self, table: HostTable, spec: RequestSpec, rows: np.ndarray) -> np.ndarray:
        return table.num_instances[rows].astype(np.float64)


class IoOpsWeigher(BaseWeigher):
    """Ranks by I/O-heavy tasks in flight (default multiplier -1: busy hosts sink)."""

    option = "io_ops_weight_multiplier"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return float(host.num_io_ops)

    def batch(self, table: HostTable, spec: RequestSpec, rows: np.ndarray) -> np.ndarray:
        return table.num_io_ops[rows].astype(np.float64)


class _GroupWeigher(BaseWeigher):
    policy: ClassVar[str] = ""
    sign: ClassVar[float] = 1.0

    def applies(self, spec: RequestSpec) -> bool:
        return spec.instance_group is not None and spec.instance_group.policy == self.policy

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        if not self.applies(spec):
            return 0.0
        return self.sign * ht.group_members_on_host(host, spec)

    def batch(self, table: HostTable, spec: RequestSpec, rows: np.ndarray) -> np.ndarray:
        if not self.applies(spec):
            return np.zeros(len(rows))
        return self.sign * table.group_member_counts(spec)[rows].astype(np.float64)



class ServerGroupSoftAffinityWeigher(_GroupWeigher):
    """Prefers hosts already holding members of a soft-affinity group."""

    option = "soft_affinity_weight_multiplier"
    policy = "soft-affinity"


class ServerGroupSoftAntiAffinityWeigher(_GroupWeigher):
    """Prefers hosts holding fewer members of a soft-anti-affinity group."""

    option = "soft_anti_affinity_weight_multiplier"
    policy = "soft-anti-affinity"
    sign = -1.0


class BuildFailureWeigher(BaseWeigher):
    """Sinks hosts with recent failed builds (the huge default multiplier dominates)."""

    option = "build_failure_weight_multiplier"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return -float(host.failed_builds)

    def batch(self, table: HostTable, spec: RequestSpec, rows: np.ndarray) -> np.ndarray:
        return -table.failed_builds[rows]


ALL_WEIGHERS: dict[str, type[BaseWeigher]] = {
    cls.name: cls
    for cls in (RAMWeigher, CPUWeigher, DiskWeigher, NumInstancesWeigher, IoOpsWeigher,
                ServerGroupSoftAffinityWeigher, ServerGroupSoftAntiAffinityWeigher,
                BuildFailureWeigher)
}


def build_weighers(settings: SchedulerSettings) -> list[BaseWeigher]:
    """The configured weighers, in order; an unknown name raises."""
    unknown = [n for n in settings.weight_classes if n not in ALL_WEIGHERS]
    if unknown:
        raise ValueError(f"unknown scheduler weighers: {', '.join(unknown)}")
    return [ALL_WEIGHERS[name]() for name in settings.weight_classes]


def normalize(values: np.ndarray) -> np.ndarray | None:
    """Min-max normalise to 0..1; None when all values are equal (they all weigh 0)."""
    lo, hi = values.min(), values.max()
    if lo == hi:
        return None
    return (values - lo) / (hi - lo)


def weigh_rows(table: HostTable, rows: np.ndarray, spec: RequestSpec,
               weighers: Sequence[BaseWeigher], settings: SchedulerSettings) -> np.ndarray:
    """Total weight of each candidate row (vectorised path)."""
    total = np.zeros(len(rows))
    if len(rows) <= 1:
        return total
    for weigher in weighers:
        default = float(getattr(settings, weigher.option))
        multiplier = table.multipliers(weigher.option, default)
        if not isinstance(multiplier, float):
            multiplier = multiplier[rows]
        elif multiplier == 0.0:
            continue  # contributes nothing; skip the work
        if not weigher.applies(spec):
            continue
        normalised = normalize(weigher.batch(table, spec, rows))
        if normalised is not None:
            total += multiplier * normalised
    return total


def weigh_hosts(hosts: Sequence[HostState], spec: RequestSpec,
                settings: SchedulerSettings) -> list[float]:
    """Total weight of each host, one host at a time (reference path)."""
    total = [0.0] * len(hosts)
    if len(hosts) <= 1:
        return total
    for weigher in build_weighers(settings):
        raw = [weigher.weigh(h, spec) for h in hosts]
        lo, hi = min(raw), max(raw)
        if lo == hi:
            continue
        default = float(getattr(settings, weigher.option))
        for i, h in enumerate(hosts):
            multiplier = ht.weight_multiplier(h, weigher.option, default)
            total[i] += multiplier * ((raw[i] - lo) / (hi - lo))
    return total
