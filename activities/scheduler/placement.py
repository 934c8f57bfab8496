"""Host usage and claims against the database, the way Placement does them.

Usage is always inventory minus allocations, summed from the allocations
table at read time.  A claim re-checks capacity, bumps the node's generation
with a compare-and-swap and inserts the allocation in one transaction; if the
generation moved (another claim won the race) it re-reads and tries again.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, update
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
    row = session.exec(
        select(func.coalesce(func.sum(Allocation.vcpus), 0),
               func.coalesce(func.sum(Allocation.memory_mb), 0),
               func.coalesce(func.sum(Allocation.disk_gb), 0))
        .where(Allocation.node_uuid == node_uuid)
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def load_host_states(session: Session, settings: Settings) -> list[HostState]:
    """Every compute node as a HostState, usage derived from allocations.

    Reads plain rows, not ORM objects: building a thousand model instances
    per decision cost ~200 ms; rows cost a few.
    """
    nc = ComputeNode.__table__.c
    nodes = session.execute(select(
        nc.host, nc.hypervisor_hostname, nc.uuid, nc.availability_zone, nc.hypervisor_type,
        nc.hypervisor_version, nc.cpu_arch, nc.vcpus, nc.memory_mb, nc.local_gb,
        nc.reserved_host_cpus, nc.reserved_host_memory_mb, nc.reserved_host_disk_mb,
        nc.cpu_allocation_ratio, nc.ram_allocation_ratio, nc.disk_allocation_ratio,
        nc.failed_builds, nc.cpu_info, nc.generation)).all()
    sc = Service.__table__.c
    services = {s.host: s for s in session.execute(
        select(sc.host, sc.disabled, sc.forced_down, sc.last_seen_up)
        .where(sc.binary == "nova-compute")).all()}
    clock = ControlPlaneClock.read(session)
    usage: dict[str, tuple[int, int, int]] = {}
    for node_uuid, vcpus, mem, disk in session.exec(
        select(Allocation.node_uuid, func.sum(Allocation.vcpus), func.sum(Allocation.memory_mb),
               func.sum(Allocation.disk_gb)).group_by(Allocation.node_uuid)
    ).all():
        usage[node_uuid] = (int(vcpus), int(mem), int(disk))
    instances: dict[str, set[str]] = defaultdict(set)
    io_ops: dict[str, int] = defaultdict(int)
    for uuid, host, task_state in session.exec(
        select(Instance.uuid, Instance.host, Instance.task_state)
        .where(Instance.deleted == False, Instance.host != None)  # noqa: E711,E712
    ).all():
        instances[host].add(uuid)
        if task_state in IO_TASK_STATES:
            io_ops[host] += 1
    aggregates: dict[str, list[AggregateSpec]] = defaultdict(list)
    for agg, host in session.exec(
        select(Aggregate, AggregateHost.host).join(AggregateHost,
                                                   AggregateHost.aggregate_id == Aggregate.id)
    ).all():
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


def fits(node: ComputeNode, used: tuple[int, int, int], vcpus: int, memory_mb: int,
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
    """
    group = session.exec(select(ServerGroup).where(ServerGroup.uuid == group_uuid)).first()
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
