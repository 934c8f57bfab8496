"""Filters matching what a host is against what the flavor and image ask for.

ComputeCapabilitiesFilter and AggregateInstanceExtraSpecsFilter read flavor
extra specs with Nova's scoping rules: a key with a scope other than their own
("hw:", "trait:", ...) is ignored; an unscoped key is checked by both.
ImagePropertiesFilter matches image architecture / hypervisor type / VM mode
against the host's supported instances and hypervisor version.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

import numpy as np

from activities.scheduler.filters import spec_ops
from activities.scheduler.filters.base import BaseFilter, ProfileFilter
from activities.scheduler.host_table import (
    DYNAMIC_FIELDS,
    HostTable,
    aggregate_metadata,
    aggregate_values,
    stable_key,
)
from activities.scheduler.types import HostState, RequestSpec

_HOST_FIELDS = frozenset(f.name for f in fields(HostState))


# --- ComputeCapabilitiesFilter ---------------------------------------------------

def _capability_requirements(spec: RequestSpec) -> list[tuple[list[str], bool, str]]:
    """(lookup path, unscoped?, requirement) for the extra specs this filter checks."""
    out = []
    for key, req in spec.flavor.extra_specs.items():
        scope = key.split(":")
        if len(scope) == 1:
            out.append((scope, True, str(req)))
        elif scope[0] == "capabilities":
            out.append((scope[1:], False, str(req)))
    return out


def _lookup(host: HostState, path: list[str]) -> Any:
    """Walk a capability path: host fields first, then the capabilities dict; JSON strings
    along the way are parsed (cpu_info is usually one).  None when anything is missing."""
    cap: Any = host
    for seg in path:
        if isinstance(cap, str):
            try:
                cap = json.loads(cap)
            except ValueError:
                return None
        if cap is host:
            value = getattr(host, seg, None) if seg in _HOST_FIELDS else None
            cap = value if value is not None else host.capabilities.get(seg)
        elif isinstance(cap, dict):
            cap = cap.get(seg)
        else:
            return None
        if cap is None:
            return None
    return cap


class ComputeCapabilitiesFilter(BaseFilter):
    """Passes hosts whose capabilities satisfy the flavor's capability extra specs."""

    def applies(self, spec: RequestSpec) -> bool:
        return bool(_capability_requirements(spec))

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        for path, unscoped, req in _capability_requirements(spec):
            # An unscoped key the host knows nothing about is someone else's business.
            if unscoped and path[0] not in _HOST_FIELDS and path[0] not in host.capabilities:
                continue
            cap = _lookup(host, path)
            key = ":".join(path)
            if cap is None:
                return self.reject(f"host has no capability {key}")
            if not spec_ops.match(str(cap), req):
                return self.reject(f"capability {key}={cap} does not match {req!r}")
        return None

    def batch(self, table: HostTable, spec: RequestSpec, alive: np.ndarray) -> np.ndarray:
        roots = frozenset(path[0] for path, _, _ in _capability_requirements(spec))
        if roots & DYNAMIC_FIELDS:
            # Usage changes with every consume(): ask each remaining host.
            return super().batch(table, spec, alive)
        host_roots = sorted(roots & _HOST_FIELDS)

        def key(h: HostState) -> object:
            return (stable_key(h.capabilities),
                    tuple(stable_key(getattr(h, r)) for r in host_roots))

        codes, reps = table.profile((self.name, tuple(host_roots)), key)
        verdicts = np.fromiter((self.host_passes(table.hosts[r], spec) is None for r in reps),
                               dtype=bool, count=len(reps))
        return verdicts[codes]


# --- ImagePropertiesFilter ---------------------------------------------------------

_ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "i386": "i686", "i486": "i686",
                 "i586": "i686", "x86_32": "i686", "arm64": "aarch64"}
_HV_ALIASES = {"xapi": "xen"}
_VM_MODE_ALIASES = {"pv": "xen", "hv": "hvm", "baremetal": "hvm"}


def _canon(value: Any, aliases: dict[str, str]) -> str | None:
    if not value:
        return None
    v = str(value).lower()
    return aliases.get(v, v)


def _canon_triple(t: tuple[str, str, str]) -> tuple[str | None, str | None, str | None]:
    return (_canon(t[0], _ARCH_ALIASES), _canon(t[1], _HV_ALIASES),
            _canon(t[2], _VM_MODE_ALIASES))


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = [int(p) for p in text.strip().split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()  # 6.0 == 6.0.0, as distutils' StrictVersion has it
    return tuple(parts)


def hypervisor_version_str(version: int) -> str:
    """Nova's integer hypervisor version (major*1e6 + minor*1e3 + micro) as a dotted string."""
    parts = []
    while version:
        parts.insert(0, str(version % 1000))
        version //= 1000
    return ".".join(parts) or "0"


_CMP = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, "==": lambda a, b: a == b,
        ">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "!=": lambda a, b: a != b}


def version_satisfies(version: int, predicate: str) -> bool:
    """Whether a hypervisor version meets a predicate like '>=6.0, <7'.  Bad input fails."""
    have = _version_tuple(hypervisor_version_str(version))
    for clause in predicate.split(","):
        clause = clause.strip()
        op = next((o for o in ("<=", ">=", "==", "!=", "<", ">") if clause.startswith(o)), "")
        try:
            want = _version_tuple(clause.removeprefix(op))
        except ValueError:
            return False
        if not _CMP[op or "=="](have, want):
            return False
    return True


def _image_wants(spec: RequestSpec) -> tuple[tuple[str | None, str | None, str | None], str | None]:
    p = spec.image_properties
    triple = (p.get("hw_architecture") or p.get("architecture"),
              p.get("img_hv_type") or p.get("hypervisor_type"),
              p.get("hw_vm_mode") or p.get("vm_mode"))
    version = p.get("img_hv_requested_version") or p.get("hypervisor_version_requires")
    return _canon_triple(triple), (str(version) if version else None)


class ImagePropertiesFilter(ProfileFilter):
    """Passes hosts that can run the image's architecture, hypervisor type and VM mode."""

    def applies(self, spec: RequestSpec) -> bool:
        return any(_image_wants(spec)[0])

    def profile_key(self, host: HostState) -> object:
        return (tuple(map(tuple, host.supported_instances)), host.hypervisor_version)

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        wants, version = _image_wants(spec)
        if not any(wants):
            return None
        wanted = "/".join(w or "*" for w in wants)
        if not host.supported_instances:
            return self.reject(f"image needs {wanted}, host advertises no supported instances")
        version_ok = (not host.hypervisor_version or not version
                      or version_satisfies(host.hypervisor_version, version))
        for supported in host.supported_instances:
            offered = _canon_triple(tuple(supported))
            if all(w is None or w == o for w, o in zip(wants, offered, strict=False)):
                if version_ok:
                    return None
                return self.reject(
                    f"hypervisor version {hypervisor_version_str(host.hypervisor_version)} "
                    f"does not satisfy {version}")
        offers = ", ".join("/".join(map(str, s)) for s in host.supported_instances)
        return self.reject(f"image needs {wanted}, host supports {offers}")


# --- aggregate metadata filters ----------------------------------------------------

_AGG_SCOPE = "aggregate_instance_extra_specs"


def _aggregates_key(host: HostState) -> object:
    return stable_key(sorted(stable_key(a.metadata) for a in host.aggregates))


class AggregateInstanceExtraSpecsFilter(ProfileFilter):
    """Passes hosts whose aggregate metadata satisfies the flavor's extra specs."""

    def applies(self, spec: RequestSpec) -> bool:
        return any(len(k.split(":", 1)) == 1 or k.startswith(_AGG_SCOPE + ":")
                   for k in spec.flavor.extra_specs)

    def profile_key(self, host: HostState) -> object:
        return _aggregates_key(host)

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        metadata = aggregate_metadata(host)
        for key, req in spec.flavor.extra_specs.items():
            scope = key.split(":", 1)
            if len(scope) > 1:
                if scope[0] != _AGG_SCOPE:
                    continue
                key = scope[1]
            values = metadata.get(key)
            if not values:
                return self.reject(f"no aggregate of the host sets {key}")
            if not any(spec_ops.match(v, str(req)) for v in values):
                return self.reject(
                    f"aggregate metadata {key}={','.join(sorted(values))} "
                    f"does not match {req!r}")
        return None


class AggregateTypeAffinityFilter(ProfileFilter):
    """Passes hosts whose aggregates allow this flavor (metadata instance_type)."""

    def profile_key(self, host: HostState) -> object:
        return _aggregates_key(host)

    def host_passes(self, host: HostState, spec: RequestSpec) -> str | None:
        values = aggregate_values(host, "instance_type")
        if not values:
            return None
        for value in values:
            if spec.flavor.name in [name.strip() for name in value.split(",")]:
                return None
        return self.reject(
            f"aggregates allow only {','.join(sorted(values))}, not {spec.flavor.name}")
