"""A columnar view of host states, so filters and weighers run as numpy operations.

Nova walks a list of HostState objects through every filter in Python, which
costs about half a second per decision at 10,000 hosts.  `HostTable` copies
the numbers the filters and weighers need into numpy arrays once; each
filter's batch method then produces a boolean mask over all rows, and
`HostTable.consume` updates the arrays (and the HostState object) in place
when a host is chosen, so a multi-create or a benchmark never rebuilds it.

The per-host quantities (`ram_usable_mb`, `free_ram_mb`, ...) are defined
here next to the columns that compute them, with the same operations in the
same order, so the vectorised and per-host paths agree to the last bit.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import fields
from typing import Any

import numpy as np

from activities.scheduler.types import HostState, RequestSpec

# HostState fields that consume() changes; anything derived from them must
# never be cached across decisions.
DYNAMIC_FIELDS = frozenset(
    {"vcpus_used", "memory_mb_used", "local_gb_used", "num_instances", "num_io_ops",
     "instance_uuids"}
)
# Fields a re-read of a host may change without rebuilding the table: the
# dynamic ones plus what the database alone changes (service status, failed
# builds, the claim generation).  Profiles and multipliers read none of them.
ROW_FIELDS = DYNAMIC_FIELDS | {"failed_builds", "service_disabled", "service_up", "generation"}


def static_fields(h: HostState) -> list[Any]:
    """Everything about a host the table's derived columns and profiles depend on."""
    return [getattr(h, f.name) for f in fields(h) if f.name not in ROW_FIELDS]


# --- per-host derived quantities -------------------------------------------------

def ram_usable_mb(h: HostState) -> float:
    """RAM still allocatable: total * ratio - reserved - used."""
    return h.memory_mb * h.ram_allocation_ratio - h.reserved_host_memory_mb - h.memory_mb_used


def vcpus_usable(h: HostState) -> float:
    """vCPUs still allocatable: total * ratio - reserved - used."""
    return h.vcpus * h.cpu_allocation_ratio - h.reserved_host_cpus - h.vcpus_used


def disk_usable_mb(h: HostState) -> float:
    """Local disk still allocatable in MB: total * ratio - reserved - used."""
    return (h.local_gb * 1024 * h.disk_allocation_ratio - h.reserved_host_disk_mb
            - h.local_gb_used * 1024)


def free_ram_mb(h: HostState) -> float:
    """Physically free RAM (Nova's free_ram_mb, what RAMWeigher ranks by)."""
    return float(h.memory_mb - h.reserved_host_memory_mb - h.memory_mb_used)


def free_disk_mb(h: HostState) -> float:
    """Physically free local disk in MB (what DiskWeigher ranks by)."""
    return float(h.local_gb * 1024 - h.reserved_host_disk_mb - h.local_gb_used * 1024)


def requested_disk_mb(spec: RequestSpec) -> int:
    """Local disk the flavor needs in MB (root + ephemeral + swap, as Nova's DiskFilter)."""
    f = spec.flavor
    return (f.root_gb + f.ephemeral_gb) * 1024 + f.swap_mb


def aggregate_values(h: HostState, key: str) -> set[str]:
    """Every value the host's aggregates give `key`."""
    return {a.metadata[key] for a in h.aggregates if key in a.metadata}


def aggregate_metadata(h: HostState) -> dict[str, set[str]]:
    """The host's aggregate metadata merged into key -> set of values."""
    merged: dict[str, set[str]] = {}
    for agg in h.aggregates:
        for key, value in agg.metadata.items():
            merged.setdefault(key, set()).add(value)
    return merged


def host_availability_zones(h: HostState) -> frozenset[str]:
    """The host's AZs: from aggregate metadata if any aggregate names one, else its own."""
    zones = aggregate_values(h, "availability_zone")
    return frozenset(zones) if zones else frozenset({h.availability_zone})


def group_members_on_host(h: HostState, spec: RequestSpec) -> int:
    """How many members of the request's server group already sit on this host.

    Two sources can say so: the host's instance list and the group's `hosts`
    (one entry per placed member).  Callers may fill either, so take the larger.
    """
    group = spec.instance_group
    if group is None:
        return 0
    by_uuid = len(h.instance_uuids.intersection(group.members)) if group.members else 0
    by_host = sum(1 for name in group.hosts if name == h.host)
    return max(by_uuid, by_host)


def weight_multiplier(h: HostState, option: str, default: float) -> float:
    """A weigher's multiplier, overridable per host by aggregate metadata (Nova's rule: min)."""
    values = aggregate_values(h, option)
    if values:
        try:
            return min(float(v) for v in values)
        except ValueError:
            pass  # a bad value in metadata falls back to the configured multiplier
    return default


def consume(host: HostState, spec: RequestSpec) -> None:
    """Add one instance of the request's flavor to a host state (Nova's consume_from_request)."""
    flavor = spec.flavor
    host.vcpus_used += flavor.vcpus
    host.memory_mb_used += flavor.memory_mb
    host.local_gb_used += flavor.disk_gb
    host.num_instances += 1
    # A build is an I/O-heavy task until it finishes, as Nova counts it.
    host.num_io_ops += 1
    if spec.instance_uuid:
        host.instance_uuids.add(spec.instance_uuid)


# --- the table -------------------------------------------------------------------

def _f64(values: Iterable[float]) -> np.ndarray:
    return np.fromiter(values, dtype=np.float64)


_FIELDS = ("memory_mb", "vcpus", "local_gb", "memory_mb_used", "vcpus_used", "local_gb_used",
           "reserved_host_memory_mb", "reserved_host_cpus", "reserved_host_disk_mb",
           "ram_allocation_ratio", "cpu_allocation_ratio", "disk_allocation_ratio",
           "num_instances", "num_io_ops", "failed_builds", "service_disabled", "service_up")
_NUMERIC = operator.attrgetter(*_FIELDS)


class HostTable:
    """Numpy columns over a fixed list of HostState objects (row i is hosts[i])."""

    def __init__(self, hosts: Sequence[HostState]):
        self.hosts: list[HostState] = list(hosts)
        hs = self.hosts
        self.names: list[str] = [h.host for h in hs]
        self.nodenames: list[str] = [h.nodename for h in hs]
        self._name_index: dict[str, list[int]] | None = None  # built on first lookup

        # One pass over the objects; numpy slices the columns out of the matrix.
        m = np.array([_NUMERIC(h) for h in hs], dtype=np.float64).reshape(len(hs), len(_FIELDS))
        col = {name: m[:, i].copy() for i, name in enumerate(_FIELDS)}
        self.memory_mb, self.vcpus, self.local_gb = col["memory_mb"], col["vcpus"], col["local_gb"]
        self.memory_mb_used = col["memory_mb_used"]
        self.vcpus_used = col["vcpus_used"]
        self.local_gb_used = col["local_gb_used"]
        self.reserved_ram = col["reserved_host_memory_mb"]
        self.reserved_cpus = col["reserved_host_cpus"]
        self.reserved_disk_mb = col["reserved_host_disk_mb"]
        # Static halves of the *_usable expressions: (total * ratio) - reserved.
        self.ram_limit = self.memory_mb * col["ram_allocation_ratio"] - self.reserved_ram
        self.cpu_limit = self.vcpus * col["cpu_allocation_ratio"] - self.reserved_cpus
        self.disk_limit_mb = (self.local_gb * 1024 * col["disk_allocation_ratio"]
                              - self.reserved_disk_mb)
        self.num_instances = col["num_instances"].astype(np.int64)
        self.num_io_ops = col["num_io_ops"].astype(np.int64)
        self.failed_builds = col["failed_builds"]
        self.service_disabled = col["service_disabled"] != 0
        self.service_up = col["service_up"] != 0
        self._aggregate_keys = {k for h in hs for a in h.aggregates for k in a.metadata}

        self._profiles: dict[Hashable, tuple[np.ndarray, list[int]]] = {}
        self._multipliers: dict[str, np.ndarray | None] = {}
        self._uuid_rows: dict[str, list[int]] | None = None

    def __len__(self) -> int:
        return len(self.hosts)

    # --- usage, same expressions as the per-host functions above -------------------

    def ram_usable_mb(self) -> np.ndarray:
        return self.ram_limit - self.memory_mb_used

    def vcpus_usable(self) -> np.ndarray:
        return self.cpu_limit - self.vcpus_used

    def disk_usable_mb(self) -> np.ndarray:
        return self.disk_limit_mb - self.local_gb_used * 1024

    def free_ram_mb(self) -> np.ndarray:
        return self.memory_mb - self.reserved_ram - self.memory_mb_used

    def free_disk_mb(self) -> np.ndarray:
        return self.local_gb * 1024 - self.reserved_disk_mb - self.local_gb_used * 1024

    # --- lookups -------------------------------------------------------------------

    @property
    def _rows_by_name(self) -> dict[str, list[int]]:
        if self._name_index is None:
            self._name_index = {}
            for i, name in enumerate(self.names):
                self._name_index.setdefault(name.lower(), []).append(i)
        return self._name_index

    def rows_named(self, names: Iterable[str]) -> list[int]:
        """Rows whose host name matches any of `names` (case-insensitively, as Nova)."""
        rows: list[int] = []
        for name in names:
            rows.extend(self._rows_by_name.get(str(name).lower(), ()))
        return rows

    def mask_of(self, rows: Iterable[int]) -> np.ndarray:
        mask = np.zeros(len(self.hosts), dtype=bool)
        mask[list(rows)] = True
        return mask

    def row(self, host: str, nodename: str | None = None) -> int:
        """The row of a host (and node, when a host has several)."""
        for r in self._rows_by_name.get(host.lower(), ()):
            if nodename is None or self.nodenames[r] == nodename:
                return r
        raise KeyError(f"no host {host!r} node {nodename!r} in the table")

    def rows_holding(self, instance_uuids: Iterable[str]) -> list[int]:
        """Rows of the hosts on which any of the given instances run."""
        if self._uuid_rows is None:
            # A list per uuid: stale data can show an instance on two hosts mid-move.
            self._uuid_rows = {}
            for i, h in enumerate(self.hosts):
                for u in h.instance_uuids:
                    self._uuid_rows.setdefault(u, []).append(i)
        rows: list[int] = []
        for u in instance_uuids:
            rows.extend(self._uuid_rows.get(u, ()))
        return rows

    def group_member_counts(self, spec: RequestSpec) -> np.ndarray:
        """Vectorised group_members_on_host() for every row."""
        n = len(self.hosts)
        group = spec.instance_group
        by_uuid = np.zeros(n, dtype=np.int64)
        by_host = np.zeros(n, dtype=np.int64)
        if group is None:
            return by_uuid
        if group.members:
            np.add.at(by_uuid, self.rows_holding(set(group.members)), 1)
        for name in group.hosts:
            # group.hosts compares exactly, like the per-host helper.
            rows = [r for r in self._rows_by_name.get(name.lower(), ()) if self.names[r] == name]
            by_host[rows] += 1
        return np.maximum(by_uuid, by_host)

    def profile(self, key: Hashable, keyfunc: Callable[[HostState], Hashable]
                ) -> tuple[np.ndarray, list[int]]:
        """Group rows by a static per-host key: (code per row, representative row per code).

        A filter whose verdict depends only on that key evaluates host_passes once
        per representative and broadcasts it with `verdicts[codes]`.  The key
        function must only read fields consume() never changes.
        """
        cached = self._profiles.get(key)
        if cached is None:
            index: dict[Hashable, int] = {}
            reps: list[int] = []
            codes = np.empty(len(self.hosts), dtype=np.int64)
            for i, h in enumerate(self.hosts):
                k = keyfunc(h)
                code = index.get(k)
                if code is None:
                    code = index[k] = len(reps)
                    reps.append(i)
                codes[i] = code
            cached = self._profiles[key] = (codes, reps)
        return cached

    def multipliers(self, option: str, default: float) -> np.ndarray | float:
        """Per-row weigher multipliers when aggregates override them, else the scalar."""
        if option not in self._multipliers:
            self._multipliers[option] = (
                _f64(weight_multiplier(h, option, np.nan) for h in self.hosts)
                if option in self._aggregate_keys else None)
        arr = self._multipliers[option]
        if arr is None:
            return default
        return np.where(np.isnan(arr), default, arr)

    # --- mutation ------------------------------------------------------------------

    def replace_row(self, row: int, host: HostState) -> bool:
        """Put a re-read state of the same host in a row, if only ROW_FIELDS changed.

        Returns False (and changes nothing) when a static field changed: the
        caller rebuilds the table then.
        """
        old = self.hosts[row]
        if old.host != host.host or static_fields(old) != static_fields(host):
            return False
        self.hosts[row] = host
        self.vcpus_used[row] = host.vcpus_used
        self.memory_mb_used[row] = host.memory_mb_used
        self.local_gb_used[row] = host.local_gb_used
        self.num_instances[row] = host.num_instances
        self.num_io_ops[row] = host.num_io_ops
        self.failed_builds[row] = host.failed_builds
        self.service_disabled[row] = bool(host.service_disabled)
        self.service_up[row] = bool(host.service_up)
        if old.instance_uuids != host.instance_uuids:
            self._uuid_rows = None
        return True

    def consume(self, row: int, spec: RequestSpec) -> None:
        """Add the request's usage to one row and to its HostState object."""
        h = self.hosts[row]
        consume(h, spec)
        self.vcpus_used[row] = h.vcpus_used
        self.memory_mb_used[row] = h.memory_mb_used
        self.local_gb_used[row] = h.local_gb_used
        self.num_instances[row] = h.num_instances
        self.num_io_ops[row] = h.num_io_ops
        if self._uuid_rows is not None and spec.instance_uuid:
            rows = self._uuid_rows.setdefault(spec.instance_uuid, [])
            if row not in rows:
                rows.append(row)


def stable_key(value: Any) -> str:
    """A hashable rendering of nested host data (capabilities dicts, lists) for profiles."""
    return json.dumps(value, sort_keys=True, default=repr)
