"""Availability zones as the tables define them (Nova's ``availability_zones``).

A host's zone is the ``availability_zone`` metadata of an aggregate it is in
(Nova lets a host be in one zone only); a host in no such aggregate is in its
compute node's own zone, the default zone ("nova") unless its worker was
started with another.  The API lists zones and validates requests with these,
and the control activities show a server the zone of the host it landed on.
"""

from __future__ import annotations

from sqlmodel import Session, select

from schema.models import Aggregate, AggregateHost, ComputeNode

AZ_KEY = "availability_zone"


def aggregate_zones_by_host(s: Session, hosts: list[str] | None = None
                            ) -> dict[str, set[str]]:
    """host -> zones its aggregates name (hosts in no zone aggregate are absent)."""
    stmt = select(AggregateHost.host, Aggregate).join(
        Aggregate, Aggregate.id == AggregateHost.aggregate_id)
    if hosts is not None:
        stmt = stmt.where(AggregateHost.host.in_(hosts))
    out: dict[str, set[str]] = {}
    for host, agg in s.exec(stmt).all():
        zone = (agg.metadata_ or {}).get(AZ_KEY)
        if zone:
            out.setdefault(host, set()).add(zone)
    return out


def host_zone(s: Session, host: str) -> str | None:
    """The zone a server on ``host`` is in (None if the host is unknown)."""
    zones = aggregate_zones_by_host(s, [host]).get(host)
    if zones:
        return sorted(zones)[0]
    return s.exec(select(ComputeNode.availability_zone)
                  .where(ComputeNode.host == host)).first()


def zones_by_host(s: Session) -> dict[str, str]:
    """Every compute host's zone."""
    by_agg = aggregate_zones_by_host(s)
    return {host: sorted(by_agg[host])[0] if host in by_agg else own
            for host, own in s.exec(select(ComputeNode.host,
                                           ComputeNode.availability_zone)).all()}
