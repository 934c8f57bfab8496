"""Host usage and claims against the database, the way Placement does them.

Usage is always inventory minus allocations, summed from the allocations
table at read time.  A claim re-checks capacity, bumps the node's generation
with a compare-and-swap and inserts the allocation in one transaction; if the
generation moved (another claim won the race) it re-reads and tries again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import UTC
from typing import Any

from sqlalchemy import bindparam, func, insert, update
from sqlmodel import Session, delete, select

from activities.scheduler.types import Aggregate as AggregateSpec
from activities.scheduler.types import GroupSpec, HostState
from novaflow.rules import service_is_up
from novaflow.settings import Settings
from novaflow.states import TaskState
from schema.models import (
    Aggregate,
    AggregateHost,
    Allocation,
    ComputeNode,
    ControlPlaneClock,
    HostChange,
    Instance,
    ServerGroup,
    ServerGroupMember,
    Service,
    utcnow,
)

# Task states that count as I/O-heavy work in progress (Nova's num_io_ops).
IO_TASK_STATES = {TaskState.SPAWNING, TaskState.RESIZE_MIGRATING, TaskState.RESIZE_PREP,
                  TaskState.MIGRATING, TaskState.REBOOTING}
CAS_RETRIES = 5


def node_usage(session: Session, node_uuid: str) -> tuple[int, int, int]:
    """(vcpus, memory_mb, disk_gb) allocated on a node."""
    ac = Allocation.__table__.c
    row = session.execute(
        select(func.coalesce(func.sum(ac.vcpus), 0), func.coalesce(func.sum(ac.memory_mb), 0),
               func.coalesce(func.sum(ac.disk_gb), 0))
        .where(ac.node_uuid == node_uuid)
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def load_host_states(session: Session, settings: Settings,
                      hosts: Collection[str] | None = None) -> list[HostState]:
    """Every compute node (or those of `hosts`) as a HostState, usage from allocations.

    Reads plain rows, not ORM objects: building a thousand model instances
    per decision cost ~200 ms; rows cost a few.
    """
    only = sorted(hosts) if hosts is not None else None
    nc = ComputeNode.__table__.c
    node_q = select(
        nc.host, nc.hypervisor_hostname, nc.uuid, nc.availability_zone, nc.hypervisor_type,
        nc.hypervisor_version, nc.cpu_arch, nc.vcpus, nc.memory_mb, nc.local_gb,
        nc.reserved_host_cpus, nc.reserved_host_memory_mb, nc.reserved_host_disk_mb,
        nc.cpu_allocation_ratio, nc.ram_allocation_ratio, nc.disk_allocation_ratio,
        nc.failed_builds, nc.cpu_info, nc.generation)
    nodes = session.execute(node_q if only is None else node_q.where(nc.host.in_(only))).all()
    sc = Service.__table__.c
    svc_q = (select(sc.host, sc.disabled, sc.forced_down, sc.last_seen_up)
             .where(sc.binary == "nova-compute"))
    services = {s.host: s for s in session.execute(
        svc_q if only is None else svc_q.where(sc.host.in_(only))).all()}
    clock = ControlPlaneClock.read(session)
    usage: dict[str, tuple[int, int, int]] = {}
    use_q = select(Allocation.node_uuid, func.sum(Allocation.vcpus),
                   func.sum(Allocation.memory_mb), func.sum(Allocation.disk_gb))
    if only is not None:
        use_q = use_q.where(Allocation.node_uuid.in_([n[2] for n in nodes]))
    for node_uuid, vcpus, mem, disk in session.exec(use_q.group_by(Allocation.node_uuid)).all():
        usage[node_uuid] = (int(vcpus), int(mem), int(disk))
    instances: dict[str, set[str]] = defaultdict(set)
    io_ops: dict[str, int] = defaultdict(int)
    inst_q = (select(Instance.uuid, Instance.host, Instance.task_state)
              .where(Instance.deleted == False, Instance.host != None))  # noqa: E711,E712
    if only is not None:
        inst_q = inst_q.where(Instance.host.in_(only))
    for uuid, host, task_state in session.exec(inst_q).all():
        instances[host].add(uuid)
        if task_state in IO_TASK_STATES:
            io_ops[host] += 1
    aggregates: dict[str, list[AggregateSpec]] = defaultdict(list)
    agg_q = select(Aggregate, AggregateHost.host).join(
        AggregateHost, AggregateHost.aggregate_id == Aggregate.id)
    if only is not None:
        agg_q = agg_q.where(AggregateHost.host.in_(only))
    for agg, host in session.exec(agg_q).all():
        aggregates[host].append(AggregateSpec(name=agg.name, metadata=dict(agg.metadata_)))
    down_time = settings.scheduler.service_down_time
    states = []
    now = utcnow()
    # Plain tuple unpacking: attribute access on a thousand rows was half the cost.
    for (host, nodename, node_uuid, zone, hv_type, hv_version, arch, vcpus, memory_mb,
         local_gb, res_cpus, res_mem, res_disk, cpu_ratio, ram_ratio, disk_ratio,
         failed_builds, cpu_info, generation) in nodes:
        svc = services.get(host)
        used = usage.get(node_uuid, (0, 0, 0))
        uuids = instances.get(host, set())
        states.append(HostState(
            host=host, nodename=nodename, node_uuid=node_uuid, availability_zone=zone,
            hypervisor_type=hv_type, hypervisor_version=hv_version, cpu_arch=arch,
            supported_instances=[(arch, hv_type.lower(), "hvm")],
            vcpus=vcpus, memory_mb=memory_mb, local_gb=local_gb,
            vcpus_used=used[0], memory_mb_used=used[1], local_gb_used=used[2],
            reserved_host_cpus=res_cpus, reserved_host_memory_mb=res_mem,
            reserved_host_disk_mb=res_disk, cpu_allocation_ratio=cpu_ratio,
            ram_allocation_ratio=ram_ratio, disk_allocation_ratio=disk_ratio,
            service_disabled=bool(svc and svc.disabled),
            service_up=service_is_up(svc, down_time, now, clock),
            num_instances=len(uuids), num_io_ops=io_ops.get(host, 0), instance_uuids=uuids,
            aggregates=aggregates.get(host, []), failed_builds=failed_builds,
            capabilities={"cpu_info": cpu_info, "hypervisor_type": hv_type,
                          "hypervisor_version": hv_version, "cpu_arch": arch},
            generation=generation,
        ))
    return states


def service_heartbeats(session: Session, hosts: Collection[str] | None = None
                       ) -> dict[str, tuple[bool, float | None]]:
    """host -> (forced down, last heartbeat as epoch seconds or None) of compute services."""
    sc = Service.__table__.c
    q = select(sc.host, sc.forced_down, sc.last_seen_up).where(sc.binary == "nova-compute")
    if hosts is not None:
        q = q.where(sc.host.in_(sorted(hosts)))
    out = {}
    for host, forced, seen in session.execute(q).all():
        if seen is not None and seen.tzinfo is None:
            seen = seen.replace(tzinfo=UTC)
        out[host] = (bool(forced), seen.timestamp() if seen is not None else None)
    return out


def control_clock_epochs(session: Session) -> tuple[float, float] | None:
    """The control plane's clock (up_since, last_tick) as epoch seconds, or None."""
    clock = ControlPlaneClock.read(session)
    if clock is None:
        return None
    since, tick = clock.up_since, clock.last_tick
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    tick = tick if tick.tzinfo else tick.replace(tzinfo=UTC)
    return since.timestamp(), tick.timestamp()


_HC = HostChange.__table__.c


def last_change(session: Session) -> int:
    """The newest host_changes sequence number (0 when there is none)."""
    return int(session.execute(select(func.coalesce(func.max(_HC.seq), 0))).scalar_one())


def first_change(session: Session) -> int:
    """The oldest host_changes sequence number still kept (0 when there is none)."""
    return int(session.execute(select(func.coalesce(func.min(_HC.seq), 0))).scalar_one())


def prune_changes(session: Session, keep: int) -> int:
    """Delete all but the newest `keep` change rows (at least one stays, so a
    cache can tell pruned rows from none); returns how many went."""
    newest = last_change(session)
    cut = newest - max(keep, 1)
    if cut <= 0:
        return 0
    return session.execute(delete(HostChange).where(HostChange.seq <= cut)).rowcount or 0


def changes_since(session: Session, seq: int) -> list[tuple[int, str | None, str | None]]:
    """(seq, host, node_uuid) of every host change after `seq`, oldest first."""
    return [tuple(r) for r in session.execute(
        select(_HC.seq, _HC.host, _HC.node_uuid).where(_HC.seq > seq).order_by(_HC.seq)).all()]


def fits(node: Any, used: tuple[int, int, int], vcpus: int, memory_mb: int,
         disk_gb: int) -> str | None:
    """None if the request fits the node's capacity, else why not."""
    cap_cpu = node.vcpus * node.cpu_allocation_ratio - node.reserved_host_cpus
    cap_ram = node.memory_mb * node.ram_allocation_ratio - node.reserved_host_memory_mb
    cap_disk = node.local_gb * node.disk_allocation_ratio - node.reserved_host_disk_mb / 1024
    if used[0] + vcpus > cap_cpu:
        return f"VCPU: {used[0]}+{vcpus} > {cap_cpu:g}"
    if used[1] + memory_mb > cap_ram:
        return f"MEMORY_MB: {used[1]}+{memory_mb} > {cap_ram:g}"
    if used[2] + disk_gb > cap_disk:
        return f"DISK_GB: {used[2]}+{disk_gb} > {cap_disk:g}"
    return None


def claim_on_node(session: Session, node: ComputeNode, consumer_id: str, vcpus: int,
                  memory_mb: int, disk_gb: int, project_id: str, user_id: str) -> str | None:
    """Try to claim on one node inside the caller's transaction.

    Returns None on success, or why the claim failed (capacity or a lost race).
    """
    for _ in range(CAS_RETRIES):
        session.refresh(node)
        existing = session.exec(select(Allocation).where(
            Allocation.consumer_id == consumer_id, Allocation.node_uuid == node.uuid)).first()
        if existing is not None:
            return None  # claimed already (a retried activity)
        why = fits(node, node_usage(session, node.uuid), vcpus, memory_mb, disk_gb)
        if why:
            return why
        bumped = session.execute(
            update(ComputeNode)
            .where(ComputeNode.id == node.id, ComputeNode.generation == node.generation)
            .values(generation=node.generation + 1)
        )
        if bumped.rowcount != 1:
            continue  # another claim moved the generation: re-read and retry
        session.add(Allocation(consumer_id=consumer_id, node_uuid=node.uuid, vcpus=vcpus,
                               memory_mb=memory_mb, disk_gb=disk_gb, project_id=project_id,
                               user_id=user_id))
        session.flush()
        return None
    return "generation conflict"


_NC = ComputeNode.__table__.c
_AC = Allocation.__table__.c


def _claim_statements():
    """The claim's statements, built once: building them cost more than running them."""
    mine = (select(func.count()).where(_AC.consumer_id == bindparam("consumer"),
                                       _AC.node_uuid == _NC.uuid).scalar_subquery())
    used = [select(func.coalesce(func.sum(col), 0)).where(_AC.node_uuid == _NC.uuid)
            .scalar_subquery() for col in (_AC.vcpus, _AC.memory_mb, _AC.disk_gb)]
    node = select(_NC.id, _NC.uuid, _NC.generation, _NC.libvirt_uri, _NC.vcpus, _NC.memory_mb,
                  _NC.local_gb, _NC.reserved_host_cpus, _NC.reserved_host_memory_mb,
                  _NC.reserved_host_disk_mb, _NC.cpu_allocation_ratio,
                  _NC.ram_allocation_ratio, _NC.disk_allocation_ratio,
                  mine.label("mine"), *used).where(_NC.host == bindparam("host"))
    bump = (update(ComputeNode.__table__)
            .where(_NC.id == bindparam("node_id"), _NC.generation == bindparam("gen"))
            .values(generation=bindparam("gen") + 1))
    return node, bump, insert(Allocation.__table__)


_CLAIM_NODE, _BUMP_GENERATION, _INSERT_ALLOCATION = _claim_statements()


def claim_on_host(session: Session, host: str, consumer_id: str, vcpus: int, memory_mb: int,
                  disk_gb: int, project_id: str, user_id: str) -> tuple[Any, str | None]:
    """claim_on_node for a host by name, in plain rows: (the node's row or None, why not).

    The scheduler's hot path: three prepared statements (node, usage and an
    earlier claim in one SELECT; the generation compare-and-swap; the
    allocation) instead of ORM loads and refreshes.  The compare-and-swap
    names the host for the change log (schema/host_changes.py).
    """
    for _ in range(CAS_RETRIES):
        node = session.execute(_CLAIM_NODE, {"host": host, "consumer": consumer_id}).first()
        if node is None:
            return None, "gone"
        if node.mine:
            return node, None  # claimed already (a retried activity)
        why = fits(node, tuple(int(v) for v in node[-3:]), vcpus, memory_mb, disk_gb)
        if why:
            return node, why
        bumped = session.execute(_BUMP_GENERATION, {"node_id": node.id, "gen": node.generation},
                                 execution_options={"host_change": host})
        if bumped.rowcount != 1:
            continue  # another claim moved the generation: re-read and retry
        session.execute(_INSERT_ALLOCATION, {
            "consumer_id": consumer_id, "node_uuid": node.uuid, "vcpus": vcpus,
            "memory_mb": memory_mb, "disk_gb": disk_gb, "project_id": project_id,
            "user_id": user_id, "created_at": utcnow()})
        return node, None
    return None, "generation conflict"


def release(session: Session, consumer_id: str, node_uuid: str | None = None) -> int:
    """Delete the consumer's allocations (on one node, or everywhere)."""
    stmt = delete(Allocation).where(Allocation.consumer_id == consumer_id)
    if node_uuid:
        stmt = stmt.where(Allocation.node_uuid == node_uuid)
    return session.execute(stmt).rowcount or 0


def group_members_by_host(session: Session, group_uuid: str, exclude: str | None = None
                          ) -> dict[str, list[str]]:
    """Where a server group's members hold resources: {host: [member uuids]}.

    Allocations, not instance rows, are the truth here: a member that has
    claimed but not yet spawned already occupies its host.
    """
    members = [m for m in session.exec(select(ServerGroupMember.instance_uuid).where(
        ServerGroupMember.group_uuid == group_uuid)).all() if m != exclude]
    if not members:
        return {}
    out: dict[str, list[str]] = defaultdict(list)
    for consumer, host in session.exec(
        select(Allocation.consumer_id, ComputeNode.host)
        .join(ComputeNode, ComputeNode.uuid == Allocation.node_uuid)
        .where(Allocation.consumer_id.in_(members))
    ).all():
        out[host].append(consumer)
    return out


def group_spec(session: Session, group_uuid: str, instance_uuid: str) -> GroupSpec | None:
    """The GroupSpec of a server group as the filters and weighers need it."""
    group = session.exec(select(ServerGroup).where(ServerGroup.uuid == group_uuid)).first()
    if group is None:
        return None
    placed = group_members_by_host(session, group_uuid, exclude=instance_uuid)
    hosts = [h for h, uuids in placed.items() for _ in uuids]
    members = [u for uuids in placed.values() for u in uuids]
    return GroupSpec(uuid=group.uuid, policy=group.policy, hosts=hosts, members=members,
                     rules=dict(group.rules or {}))


def group_allows(session: Session, group_uuid: str, instance_uuid: str, host: str) -> str | None:
    """The late affinity check, run inside the claim's transaction.

    Two parallel boots into an anti-affinity group both pass the filters on
    the same host; only one may claim there.  Returns why not, or None.

    The group's row stays locked to the end of the claim's transaction, so
    a second claim into the group reads its members only after the first
    committed (PostgreSQL; SQLite has one writer at a time anyway).
    """
    group = session.exec(select(ServerGroup).where(ServerGroup.uuid == group_uuid)
                         .with_for_update()).first()
    if group is None:
        return None
    placed = group_members_by_host(session, group_uuid, exclude=instance_uuid)
    if group.policy == "anti-affinity":
        limit = int((group.rules or {}).get("max_server_per_host", 1))
        if len(placed.get(host, [])) >= limit:
            return f"anti-affinity group {group.uuid} already has {limit} member(s) on {host}"
    elif group.policy == "affinity":
        other_hosts = set(placed) - {host}
        if other_hosts:
            return (f"affinity group {group.uuid} members are on "
                    f"{', '.join(sorted(other_hosts))}")
    return None


def record_build_result(session: Session, host: str, failed: bool) -> None:
    """Count a failed build against a node (BuildFailureWeigher), or reset on success."""
    node = session.exec(select(ComputeNode).where(ComputeNode.host == host)).first()
    if node is None:
        return
    node.failed_builds = node.failed_builds + 1 if failed else 0
    session.add(node)
