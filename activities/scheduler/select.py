"""Choosing hosts for a request: restrict, filter, weigh, pick, and explain a failure.

This is the pure core the `select_destinations` activity calls after it has
built host states from the database.  The steps follow Nova's filter scheduler:

1. candidates are narrowed to the requested host (a migration target), hosts
   an earlier attempt failed on are dropped (the RetryFilter step, always
   applied), and a forced host/node narrows further and skips the filters
   (as Nova, unless the `_nova_check_type` hint asks for them);
2. the enabled filters run in order, each as a numpy mask; like Nova, the run
   stops at the first filter that leaves no host;
3. weighers rank the survivors; the chosen host is random among the best
   `host_subset_size` (after shuffling equally-best hosts if configured), and
   the next best become alternates.  The chance driver picks at random instead.

The caller claims the chosen host; if the claim or the build fails it retries
with that host in `ignore_hosts`.  The result is JSON-serialisable through
`to_dict()` so it can travel in an ApplicationError's details and a DB fault.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from activities.scheduler.filters import BaseFilter, build_filters
from activities.scheduler.host_table import HostTable, consume
from activities.scheduler.types import GroupSpec, HostState, RequestSpec
from activities.scheduler.weighers import BaseWeigher, build_weighers, weigh_rows
from novaflow.settings import SchedulerSettings

NO_VALID_HOST = "No valid host was found. There are not enough hosts available."

__all__ = ["NO_VALID_HOST", "Explanation", "FilterStep", "HostTable", "Selection", "consume",
           "select_for_instances", "select_hosts"]


@dataclass
class FilterStep:
    """What one filter did: how many candidates it saw and how many it removed."""

    filter: str
    before: int
    removed: int
    removed_hosts: list[str] | None = None  # filled when explaining hosts
    skipped: bool = False  # the request asked nothing of this filter

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"filter": self.filter, "before": self.before,
                             "removed": self.removed}
        if self.skipped:
            d["skipped"] = True
        if self.removed_hosts is not None:
            d["removed_hosts"] = list(self.removed_hosts)
        return d


@dataclass
class Explanation:
    """How the candidates dwindled: the record a NoValidHost fault is written from."""

    total_hosts: int
    driver: str = "filter_scheduler"
    steps: list[FilterStep] = field(default_factory=list)
    retry_excluded: list[str] = field(default_factory=list)  # tried hosts actually removed
    restriction: str | None = None  # e.g. "requested host host-a"
    restriction_matched: int = 0
    filters_bypassed: bool = False  # forced host: filters skipped, as in Nova
    host_reasons: dict[str, str] | None = None  # host -> first rejection, when asked

    def removed_by(self) -> list[tuple[str, int]]:
        """(filter name, hosts removed), in the order the filters ran."""
        return [(s.filter, s.removed) for s in self.steps]

    def fault_message(self) -> str:
        """One line for the instance fault, e.g. '... 3 hosts: RamFilter removed 2.'"""
        parts = []
        if self.restriction:
            parts.append(f"{self.restriction} not found" if not self.restriction_matched
                         else f"only {self.restriction} considered")
        for step in self.steps:
            if not step.removed:
                continue
            text = f"{step.filter} removed {step.removed}"
            if step.filter == "RetryFilter" and self.retry_excluded:
                text += f" (tried: {', '.join(self.retry_excluded)})"
            parts.append(text)
        head = f"{NO_VALID_HOST} {self.total_hosts} host{'' if self.total_hosts == 1 else 's'}"
        return head + (": " + ", ".join(parts) if parts else "") + "."

    def to_dict(self) -> dict[str, Any]:
        return {
            "total_hosts": self.total_hosts,
            "driver": self.driver,
            "steps": [s.to_dict() for s in self.steps],
            "retry_excluded": list(self.retry_excluded),
            "restriction": self.restriction,
            "restriction_matched": self.restriction_matched,
            "filters_bypassed": self.filters_bypassed,
            "host_reasons": dict(self.host_reasons) if self.host_reasons is not None else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Explanation:
        return cls(
            total_hosts=d["total_hosts"], driver=d.get("driver", "filter_scheduler"),
            steps=[FilterStep(**s) for s in d.get("steps", [])],
            retry_excluded=list(d.get("retry_excluded", [])),
            restriction=d.get("restriction"),
            restriction_matched=d.get("restriction_matched", 0),
            filters_bypassed=d.get("filters_bypassed", False),
            host_reasons=d.get("host_reasons"))


@dataclass
class Selection:
    """The chosen host first, then alternates in order; empty when nothing fits."""

    hosts: list[str]
    nodes: list[str]
    node_uuids: list[str]
    weights: list[float]
    explanation: Explanation
    rows: list[int] = field(default_factory=list, repr=False, compare=False)  # table rows

    @property
    def host(self) -> str | None:
        """The chosen host, or None when no host was found."""
        return self.hosts[0] if self.hosts else None

    @property
    def alternates(self) -> list[str]:
        return self.hosts[1:]

    def fault_message(self) -> str:
        return self.explanation.fault_message()

    def to_dict(self) -> dict[str, Any]:
        return {
            "hosts": list(self.hosts), "nodes": list(self.nodes),
            "node_uuids": list(self.node_uuids), "weights": [float(w) for w in self.weights],
            "explanation": self.explanation.to_dict(),
            "fault": None if self.hosts else self.fault_message(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Selection:
        return cls(hosts=list(d["hosts"]), nodes=list(d["nodes"]),
                   node_uuids=list(d["node_uuids"]), weights=list(d["weights"]),
                   explanation=Explanation.from_dict(d["explanation"]))


def _label(table: HostTable, row: int) -> str:
    host, node = table.names[row], table.nodenames[row]
    return host if node in ("", host) else f"{host}/{node}"


def _restrict(table: HostTable, spec: RequestSpec, expl: Explanation,
              explain_hosts: bool) -> tuple[np.ndarray, bool]:
    """Apply requested host, retry exclusion and forced host/node; say whether to filter."""
    alive = np.ones(len(table), dtype=bool)
    if spec.requested_host:
        alive = table.mask_of(table.rows_named([spec.requested_host]))
        expl.restriction = f"requested host {spec.requested_host}"
        expl.restriction_matched = int(alive.sum())

    if spec.ignore_hosts:
        before = int(alive.sum())
        tried = [r for r in table.rows_named(spec.ignore_hosts) if alive[r]]
        alive[tried] = False
        seen = {table.names[r].lower() for r in tried}
        expl.retry_excluded = [h for h in dict.fromkeys(spec.ignore_hosts) if h.lower() in seen]
        step = FilterStep("RetryFilter", before, len(tried))
        if explain_hosts:
            step.removed_hosts = [_label(table, r) for r in tried]
            for r in tried:
                expl.host_reasons[_label(table, r)] = (
                    "RetryFilter: host already tried by an earlier attempt")
        expl.steps.append(step)

    forced = spec.force_host or spec.force_node
    if forced:
        if spec.force_host:
            alive &= table.mask_of(table.rows_named([spec.force_host]))
        if spec.force_node:
            alive &= np.fromiter((n == spec.force_node for n in table.nodenames), dtype=bool,
                                 count=len(table))
        what = " ".join(x for x in (spec.force_host, spec.force_node) if x)
        expl.restriction = f"forced host {what}"
        expl.restriction_matched = int(alive.sum())
    # Forcing skips the filters unless the request explicitly asks for them.
    bypass = bool(forced) and not spec.scheduler_hints.get("_nova_check_type")
    expl.filters_bypassed = bypass
    return alive, bypass


def _run_filters(table: HostTable, spec: RequestSpec, filters: list[BaseFilter],
                 alive: np.ndarray, expl: Explanation, explain_hosts: bool) -> np.ndarray:
    for f in filters:
        if f.name == "RetryFilter":
            continue  # applied in _restrict, always, as Nova strips ignore_hosts
        before = int(np.count_nonzero(alive))
        if not f.applies(spec):
            expl.steps.append(FilterStep(f.name, before, 0, skipped=True))
            continue
        passed = alive & f.batch(table, spec, alive)
        after = int(np.count_nonzero(passed))
        step = FilterStep(f.name, before, before - after)
        if explain_hosts:
            removed = np.flatnonzero(alive & ~passed).tolist()
            step.removed_hosts = [_label(table, r) for r in removed]
            for r in removed:
                reason = f.host_passes(table.hosts[r], spec)
                expl.host_reasons[_label(table, r)] = reason or f"{f.name}: rejected"
        expl.steps.append(step)
        alive = passed
        if after == 0:
            break
    return alive


def _top(weights: np.ndarray, k: int) -> list[int]:
    """Positions of the k heaviest, heaviest first, ties in input order (Nova's stable sort)."""
    n = len(weights)
    if k >= n:
        return np.argsort(-weights, kind="stable").tolist()
    kth = np.partition(weights, n - k)[n - k]
    above = np.flatnonzero(weights > kth)
    ties = np.flatnonzero(weights == kth)[: k - len(above)]
    chosen = np.concatenate([above, ties])
    return chosen[np.argsort(-weights[chosen], kind="stable")].tolist()


def _pick_weighed(weights: np.ndarray, settings: SchedulerSettings, num_alternates: int,
                  rng: random.Random) -> list[int]:
    subset_size = max(1, settings.host_subset_size)
    need = max(subset_size, 1 + num_alternates)
    order = _top(weights, need)
    if settings.shuffle_best_same_weighed_hosts:
        best = np.flatnonzero(weights == weights.max()).tolist()
        if len(best) > 1:
            if len(best) <= need:
                rng.shuffle(best)
                order = best + order[len(best):]
            else:
                order = rng.sample(best, need)
    chosen = rng.choice(order[:subset_size])
    rest = [p for p in order if p != chosen]
    return [chosen, *rest[:num_alternates]]


def select_hosts(hosts: list[HostState] | HostTable, spec: RequestSpec,
                 settings: SchedulerSettings, num_alternates: int = 0,
                 rng: random.Random | None = None, explain_hosts: bool = False,
                 *, filters: list[BaseFilter] | None = None,
                 weighers: list[BaseWeigher] | None = None) -> Selection:
    """Choose a host (and up to `num_alternates` alternates) for one instance.

    Pass a HostTable to reuse columns across decisions; a list is tabulated
    first.  `explain_hosts` adds each removed host's first rejection reason.
    The table is not modified; call `HostTable.consume` once a claim succeeds.
    """
    table = hosts if isinstance(hosts, HostTable) else HostTable(hosts)
    rng = rng if rng is not None else random.Random()
    expl = Explanation(total_hosts=len(table), driver=settings.driver,
                       host_reasons={} if explain_hosts else None)
    alive, bypass = _restrict(table, spec, expl, explain_hosts)
    if not bypass and alive.any():
        active = filters if filters is not None else build_filters(settings)
        alive = _run_filters(table, spec, active, alive, expl, explain_hosts)

    rows = np.flatnonzero(alive)
    if len(rows) == 0:
        return Selection([], [], [], [], expl)
    if settings.driver == "chance_scheduler":
        picked = rng.sample(range(len(rows)), min(len(rows), 1 + num_alternates))
        weights = np.zeros(len(rows))
    else:
        active_w = weighers if weighers is not None else build_weighers(settings)
        weights = weigh_rows(table, rows, spec, active_w, settings)
        picked = _pick_weighed(weights, settings, num_alternates, rng)
    chosen_rows = [int(rows[p]) for p in picked]
    return Selection(
        hosts=[table.names[r] for r in chosen_rows],
        nodes=[table.nodenames[r] for r in chosen_rows],
        node_uuids=[table.hosts[r].node_uuid for r in chosen_rows],
        weights=[float(weights[p]) for p in picked],
        explanation=expl, rows=chosen_rows)


def select_for_instances(hosts: list[HostState] | HostTable, spec: RequestSpec,
                         settings: SchedulerSettings, instance_uuids: list[str],
                         num_alternates: int = 0, rng: random.Random | None = None,
                         explain_hosts: bool = False) -> list[Selection]:
    """Multi-create: one Selection per instance, consuming each chosen host in the table.

    Later instances see earlier ones (usage, and server-group placement through
    a private copy of the group).  Stops after the first empty Selection, which
    is returned last so the caller can fail with its explanation.
    """
    table = hosts if isinstance(hosts, HostTable) else HostTable(hosts)
    rng = rng if rng is not None else random.Random()
    group: GroupSpec | None = None
    if spec.instance_group is not None:
        g = spec.instance_group
        group = replace(g, hosts=list(g.hosts), members=list(g.members), rules=dict(g.rules))
    filters, weighers = build_filters(settings), build_weighers(settings)
    out: list[Selection] = []
    for uuid in instance_uuids:
        one = replace(spec, instance_uuid=uuid, num_instances=1, instance_group=group)
        sel = select_hosts(table, one, settings, num_alternates, rng, explain_hosts,
                           filters=filters, weighers=weighers)
        out.append(sel)
        if not sel.hosts:
            break
        table.consume(sel.rows[0], one)
        if group is not None:
            group.hosts.append(sel.hosts[0])
    return out
