"""JsonFilter: the scheduler hint `query`, a small JSON language over host variables.

A query is a list `[op, arg, ...]`; args are literals, nested queries, or
`$variable` / `$variable.key` lookups.  Operators: = < > <= >= (first arg
compared with each of the rest), in (first arg is one of the rest), not, or,
and.  Arguments that resolve to nothing are dropped, as in Nova, so a
comparison against a missing variable fails for want of operands.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from typing import Any

from activities.scheduler import host_table as ht
from activities.scheduler.filters.base import BaseFilter
from activities.scheduler.types import HostState, RequestSpec


def _compare(op: Callable[[Any, Any], bool]) -> Callable[[list[Any]], bool]:
    def run(args: list[Any]) -> bool:
        if len(args) < 2:
            return False
        try:
            return all(op(args[0], other) for other in args[1:])
        except TypeError:
            return False  # e.g. a number compared with a string
    return run


_COMMANDS: dict[str, Callable[[list[Any]], Any]] = {
    "=": _compare(operator.eq),
    "<": _compare(operator.lt),
    ">": _compare(operator.gt),
    "<=": _compare(operator.le),
    ">=": _compare(operator.ge),
    "in": lambda args: len(args) >= 2 and args[0] in args[1:],
    "not": lambda args: [not a for a in args],
    "or": any,
    "and": all,
}

# Variables Nova's HostState offers that ours derives rather than stores.
_DERIVED: dict[str, Callable[[HostState], Any]] = {
    "free_ram_mb": ht.free_ram_mb,
    "free_disk_mb": ht.free_disk_mb,
    "vcpus_total": lambda h: h.vcpus,
    "total_usable_ram_mb": lambda h: h.memory_mb,
    "total_usable_disk_gb": lambda h: h.local_gb,
    "usable_ram_mb": ht.ram_usable_mb,
    "usable_vcpus": ht.vcpus_usable,
    "usable_disk_mb": ht.disk_usable_mb,
    "hypervisor_hostname": lambda h: h.nodename,
}


class QueryError(ValueError):
    """The query hint is not valid JSON or uses an unknown operator."""


def _variable(name: str, host: HostState) -> Any:
    path = name[1:].split(".")
    obj = _DERIVED[path[0]](host) if path[0] in _DERIVED else getattr(host, path[0], None)
    if obj is None:
        obj = host.capabilities.get(path[0])
    for item in path[1:]:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(item)
        if obj is None:
            return None
    return obj


def evaluate(query: list[Any], host: HostState) -> Any:
    """Evaluate one (sub)query against a host."""
    if not query:
        return True
    command = _COMMANDS.get(query[0]) if isinstance(query[0], str) else None
    if command is None:
        raise QueryError(f"unknown operator {query[0]!r}")
    args = []
    for arg in query[1:]:
        if isinstance(arg, list):
            arg = evaluate(arg, host)
        elif isinstance(arg, str):
            arg = _variable(arg, host) if arg.startswith("$") else (arg or None)
        if arg is not None:
            args.append(arg)
    return command(args)


def parse_query(raw: Any) -> list[Any] | None:
    """The query hint as a list, or None when there is none."""
    if not raw:
        return None
    if isinstance(raw, list):
        return raw
    try:
        query = json.loads(raw)
    except (TypeError, ValueError) as exc:
        raise QueryError(f"query hint is not JSON: {exc}") from exc
    if not isinstance(query, list):
        raise QueryError("query hint must be a JSON list")
    return query


class JsonFilter(BaseFilter):
    """Passes hosts for which the `query` scheduler hint evaluates true."""

    def applies(self, spec: RequestSpec) -> bool:
        return bool(spec.scheduler_hints.get("query"))

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        try:
            query = parse_query(spec.scheduler_hints.get("query"))
            if query is None:
                return None
            result = evaluate(query, host)
        except QueryError as exc:
            # Nova fails the whole request; here every host is rejected with the reason.
            return self.reject(f"invalid query: {exc}")
        if isinstance(result, list):
            result = any(result)
        return None if result else self.reject("query evaluates false")
