"""The consistency audit (``novaflow audit``): what it compared and what it found.

One dataclass per call, ids and small values only: workflows import this.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AuditScope:
    """What the audit must look at beyond the database: the hosts whose
    domains it compares, and the operations that claim to be running."""

    hosts: list[str]
    workflow_ids: list[str]  # instances' workflows while their task_state is set


@dataclass
class HostDomains:
    host: str
    server_ids: list[str]
    reachable: bool = True


@dataclass
class Discrepancy:
    kind: str  # orphan_allocation | wrong_allocation | unknown_domain | leftover_domain | ...
    subject: str  # the allocation consumer, server or port it is about
    host: str | None
    detail: str
    fixable: bool = False
    fixed: bool = False


@dataclass
class AuditInput:
    domains: list[HostDomains]
    running_workflows: list[str]  # of AuditScope.workflow_ids, those still running
    fix: bool = False


@dataclass
class AuditResult:
    discrepancies: list[Discrepancy] = field(default_factory=list)
    destroy: list[Discrepancy] = field(default_factory=list)  # domains to destroy (fix)
