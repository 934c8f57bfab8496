"""Record every change the scheduler cares about in `host_changes`, in the same transaction.

A control worker keeps host states in memory (activities/scheduler/host_cache.py)
and re-reads only the hosts named in `host_changes` rows newer than the last
sequence number it saw.  Rather than trusting every writer to remember that
row, two session events write it:

- ``before_flush``: ORM objects added, changed or deleted — compute nodes,
  services (enabled/forced-down, not heartbeats), allocations, instances
  (host, task_state, deleted), aggregates;
- ``do_orm_execute``: bulk UPDATE/DELETE statements on the same tables; the
  rows they touch are found first with a SELECT on the statement's WHERE,
  unless the statement names its host (``execution_options(host_change=...)``).

Core INSERTs pass neither event: a writer using one names the host on another
statement of the same transaction (the claim's generation bump does).

A heartbeat (``services.last_seen_up``) is deliberately not a change: the cache
polls liveness on its own clock, or 100 reports/s at 1,000 hosts would
invalidate it continuously.  Aggregate changes name no host: "every host".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session

from schema.models import (
    Aggregate,
    AggregateHost,
    Allocation,
    ComputeNode,
    HostChange,
    Instance,
    Service,
)

Key = tuple[str | None, str | None]  # (host, node_uuid); (None, None) = every host
EVERY_HOST: Key = (None, None)

_SERVICE_FIELDS = {"host", "binary", "disabled", "forced_down"}
_INSTANCE_FIELDS = {"host", "task_state", "deleted"}
_NODE_IGNORED = {"updated_at"}


def _changed(obj: Any) -> dict[str, tuple[list, list]]:
    """attribute -> (old values, new values) for attributes this flush changes."""
    out = {}
    for attr in inspect(obj).attrs:
        hist = attr.history  # never loads: an unloaded attribute has no change
        if hist.has_changes():
            out[attr.key] = (list(hist.deleted), list(hist.added))
    return out


def _keys_of(obj: Any, whole: bool) -> set[Key]:
    """What a new or deleted (`whole`) or changed object invalidates."""
    if isinstance(obj, (Aggregate, AggregateHost)):
        return {EVERY_HOST}
    if isinstance(obj, Allocation):
        if whole:
            return {(None, obj.node_uuid)}
        ch = _changed(obj)
        old = ch.get("node_uuid", ([], []))[0]
        return {(None, n) for n in [obj.node_uuid, *old]} if ch else set()
    if isinstance(obj, ComputeNode):
        if whole or set(_changed(obj)) - _NODE_IGNORED:
            return {(obj.host, None)}
        return set()
    if isinstance(obj, Service):
        ch = {} if whole else _changed(obj)
        if whole or set(ch) & _SERVICE_FIELDS:
            return {(h, None) for h in [obj.host, *ch.get("host", ([], []))[0]]}
        return set()
    if isinstance(obj, Instance):
        ch = {} if whole else _changed(obj)
        if not (whole or set(ch) & _INSTANCE_FIELDS):
            return set()
        hosts = [obj.host, *ch.get("host", ([], []))[0]]
        return {(h, None) for h in hosts if h}
    return set()


_INSERT = insert(HostChange.__table__).returning(HostChange.__table__.c.seq)


def _add(session: Session, keys: set[Key]) -> None:
    """Insert the change rows; their numbers go to session.info["host_change_seqs"]."""
    seqs = session.info.setdefault("host_change_seqs", [])
    for host, node_uuid in sorted(keys, key=str):
        seqs.append(session.execute(_INSERT, {"host": host, "node_uuid": node_uuid})
                    .scalar_one())


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    keys: set[Key] = set()
    for obj in session.new:
        keys |= _keys_of(obj, whole=True)
    for obj in session.deleted:
        keys |= _keys_of(obj, whole=True)
    for obj in session.dirty:
        keys |= _keys_of(obj, whole=False)
    _add(session, keys)


def _set_columns(stmt: Any) -> set[str]:
    values = getattr(stmt, "_values", None) or {}
    return {getattr(c, "key", str(c)) for c in values}


@event.listens_for(Session, "do_orm_execute")
def _on_bulk(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    named = state.execution_options.get("host_change")
    if named:
        _add(state.session, {(named, None)})  # the statement's author names its host
        return
    if state.bind_mapper is None:
        return
    model = state.bind_mapper.class_
    stmt = state.statement
    where = stmt.whereclause
    cols = _set_columns(stmt) if state.is_update else None

    def touched(column: Any) -> set[str | None]:
        q = select(column) if where is None else select(column).where(where)
        return set(state.session.execute(q).scalars())

    keys: set[Key] = set()
    if model in (Aggregate, AggregateHost):
        keys = {EVERY_HOST}
    elif model is Allocation:
        keys = {(None, n) for n in touched(Allocation.node_uuid)}
        if cols and "node_uuid" in cols:
            keys.add(EVERY_HOST)
    elif model is ComputeNode and (cols is None or cols - _NODE_IGNORED):
        keys = {(h, None) for h in touched(ComputeNode.host)}
    elif model is Service and (cols is None or cols & _SERVICE_FIELDS):
        keys = {(h, None) for h in touched(Service.host)}
    elif model is Instance and (cols is None or cols & _INSTANCE_FIELDS):
        keys = {(h, None) for h in touched(Instance.host) if h}
        if cols and "host" in cols:
            keys.add(EVERY_HOST)  # the new host is in the statement, not the rows
    _add(state.session, keys)
