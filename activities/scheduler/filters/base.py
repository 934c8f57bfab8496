"""The filter contract: a per-host verdict with a reason, and a batch mask over a HostTable.

Every filter answers `host_passes(host, spec)` with None (passes) or a short
reason naming the filter; that path serves unit tests and per-host
explanations.  `batch(table, spec, alive)` answers for all rows at once as a
boolean mask and is what the scheduler runs; filters that cannot be
vectorised inherit the fallback, which calls host_passes on the rows still
alive only.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from activities.scheduler.host_table import HostTable
from activities.scheduler.types import HostState, RequestSpec
from novaflow.settings import SchedulerSettings


def fmt(x: float) -> str:
    """A number for a human: no trailing .0, at most one decimal."""
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:.1f}"


class BaseFilter:
    """A host filter: reject hosts that cannot take the request, saying why."""

    name: ClassVar[str] = "BaseFilter"

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.name = cls.__name__

    def __init__(self, settings: SchedulerSettings | None = None):
        self.settings = settings if settings is not None else SchedulerSettings()

    def applies(self, spec: RequestSpec) -> bool:
        """Whether the request asks anything of this filter (if not, every host passes)."""
        return True

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        """None if the host passes, else why not."""
        raise NotImplementedError

    def batch(self, table: HostTable, spec: RequestSpec, alive: np.ndarray) -> np.ndarray:
        """Pass mask over every row; only rows set in `alive` need be right."""
        out = np.zeros(len(table), dtype=bool)
        hosts = table.hosts
        for r in np.flatnonzero(alive).tolist():
            out[r] = self.host_passes(hosts[r], spec) is None
        return out

    def reject(self, reason: str) -> str:
        return f"{self.name}: {reason}"


class ProfileFilter(BaseFilter):
    """A filter whose verdict depends only on static host data, grouped into profiles."""

    def profile_key(self, host: HostState) -> object:
        raise NotImplementedError

    def batch(self, table: HostTable, spec: RequestSpec, alive: np.ndarray) -> np.ndarray:
        codes, reps = table.profile(self.name, self.profile_key)
        verdicts = np.fromiter(
            (self.host_passes(table.hosts[r], spec) is None for r in reps),
            dtype=bool, count=len(reps))
        return verdicts[codes]
