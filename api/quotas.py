"""Per-project quotas, counted from what the project holds (Nova's count-based
quota driver): limits are the settings' defaults overridden by ``Quota`` rows.

``enforce_quota`` is the check every operation that grows a project calls
(create, resize) inside its own session; it raises Nova's 403 "Quota exceeded
for ..." when a limit would be passed.  ``project_lock`` serialises the
check-then-write of one project's creates inside this API process, so two
concurrent requests cannot both take the last slot.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from sqlmodel import Session, func, select

from api.errors import Forbidden
from novaflow.settings import Settings, get_settings
from schema.models import Instance, KeyPair, Quota, QuotaClass, ServerGroup

# What the Compute API's quota sets show, in Nova's order.
RESOURCES = ("instances", "cores", "ram", "key_pairs", "metadata_items", "server_groups",
             "server_group_members")
# The resources whose usage is counted from instances (enforced at create/resize).
INSTANCE_RESOURCES = ("instances", "cores", "ram")

_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)


def project_lock(project_id: str) -> asyncio.Lock:
    """The lock around one project's quota check and the writes it allows."""
    return _locks[project_id]


def default_limits(settings: Settings | None = None) -> dict[str, int]:
    q = (settings or get_settings()).quota
    return {r: int(getattr(q, r)) for r in RESOURCES}


def class_limits(session: Session, class_name: str = "default",
                 settings: Settings | None = None) -> dict[str, int]:
    """A quota class's limits: the configured defaults, then the class's own
    (os-quota-class-sets); the "default" class is every project's default."""
    limits = default_limits(settings)
    for row in session.exec(select(QuotaClass).where(QuotaClass.class_name == class_name)):
        if row.resource in limits:
            limits[row.resource] = row.hard_limit
    return limits


def project_limits(session: Session, project_id: str,
                   settings: Settings | None = None) -> dict[str, int]:
    """The project's hard limits: the default class's, then its own overrides."""
    limits = class_limits(session, "default", settings)
    for row in session.exec(select(Quota).where(Quota.project_id == project_id)):
        if row.resource in limits:
            limits[row.resource] = row.hard_limit
    return limits


def project_usage(session: Session, project_id: str, user_id: str | None = None
                  ) -> dict[str, int]:
    """What the project holds now: every instance not yet deleted counts."""
    flavors = session.exec(select(Instance.flavor).where(
        Instance.project_id == project_id, Instance.deleted == False)).all()  # noqa: E712
    usage = dict.fromkeys(RESOURCES, 0)
    usage["instances"] = len(flavors)
    usage["cores"] = sum(int((f or {}).get("vcpus", 0)) for f in flavors)
    usage["ram"] = sum(int((f or {}).get("memory_mb", 0)) for f in flavors)
    usage["server_groups"] = session.exec(select(func.count()).select_from(ServerGroup).where(
        ServerGroup.project_id == project_id)).one()
    if user_id is not None:
        usage["key_pairs"] = session.exec(select(func.count()).select_from(KeyPair).where(
            KeyPair.user_id == user_id)).one()
    return usage


def _exceeded(resource: str, requested: int, used: int, allowed: int) -> Forbidden:
    return Forbidden(f"Quota exceeded for {resource}: Requested {requested}, but already "
                     f"used {used} of {allowed} {resource}")


def headroom(limits: dict[str, int], usage: dict[str, int], resource: str) -> int | None:
    """How much more of ``resource`` fits (None: unlimited)."""
    if limits[resource] < 0:
        return None
    return max(0, limits[resource] - usage[resource])


def enforce_quota(session: Session, project_id: str, delta_instances: int = 0,
                  delta_cores: int = 0, delta_ram: int = 0, *,
                  settings: Settings | None = None) -> None:
    """Raise 403 "Quota exceeded for ..." if the deltas do not fit the project's limits.

    Negative deltas (a resize down) always fit.  Call it in the session that
    then writes the change, so the check and the write see the same rows.
    """
    limits = project_limits(session, project_id, settings)
    usage = project_usage(session, project_id)
    for resource, delta in (("instances", delta_instances), ("cores", delta_cores),
                            ("ram", delta_ram)):
        room = headroom(limits, usage, resource)
        if delta > 0 and room is not None and delta > room:
            raise _exceeded(resource, delta, usage[resource], limits[resource])


def instances_allowed(session: Session, project_id: str, vcpus: int, memory_mb: int,
                      min_count: int, max_count: int, *,
                      settings: Settings | None = None) -> int:
    """How many of ``max_count`` new instances fit, at least ``min_count`` (else 403).

    As in Nova, a multi-create shrinks to what the quota allows as long as
    that is no fewer than ``min_count``.
    """
    limits = project_limits(session, project_id, settings)
    usage = project_usage(session, project_id)
    allowed = max_count
    per_instance = {"instances": 1, "cores": vcpus, "ram": memory_mb}
    for resource, each in per_instance.items():
        room = headroom(limits, usage, resource)
        if room is not None and each > 0:
            allowed = min(allowed, room // each)
    if allowed >= min_count:
        return allowed
    for resource, each in per_instance.items():
        room = headroom(limits, usage, resource)
        if room is not None and each * min_count > room:
            raise _exceeded(resource, each * max_count, usage[resource], limits[resource])
    raise AssertionError("unreachable")  # pragma: no cover


def check_metadata_items(session: Session, project_id: str, count: int,
                         settings: Settings | None = None) -> None:
    """Nova's metadata_items quota: 403 when a server would hold too many items."""
    limit = project_limits(session, project_id, settings)["metadata_items"]
    if 0 <= limit < count:
        raise Forbidden(f"Maximum number of metadata items exceeds {limit}")
