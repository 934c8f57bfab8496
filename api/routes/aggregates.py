"""/v2.1/os-aggregates: host aggregates (admin only), Nova's rules included.

An aggregate groups hosts and carries metadata the scheduler matches
(``activities/scheduler/host_table.py`` reads these same tables, and every
write here invalidates its host cache through ``schema/host_changes.py``).
``availability_zone`` metadata makes the aggregate a zone, with Nova's rules
(``nova/compute/api.py`` ``AggregateAPI``):

- a host is in one zone only: adding it to a zone aggregate, or naming a
  zone for an aggregate, is refused when one of its hosts is in another zone;
- a zone's name cannot be empty, and a zone cannot be renamed (or given to
  hosts) while servers run on its hosts, since servers never change zone;
- a host in no zone aggregate stays in the default zone (schema/zones.py).

Nova answers 200 (not 201/204/202) to create, delete and the host actions for
backward compatibility; so do we.  2.41 adds ``uuid``; 2.81 the ``images``
cache request, accepted (202) once validated: the hosts fetch images when
they boot from them, so there is nothing to pre-cache.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import delete as sql_delete
from sqlmodel import Session, select

from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest, Conflict, NotFound
from api.schemas.aggregates import (
    AggregateActionRequest,
    AggregateCreateRequest,
    AggregateImagesRequest,
    AggregateUpdateRequest,
)
from novaflow import logs
from schema.models import Aggregate, AggregateHost, Instance, Service, utcnow
from schema.zones import AZ_KEY

router = APIRouter(prefix="/v2.1/os-aggregates", tags=["aggregates"])
log = logs.get_logger("novaflow.api")

_BAD_NAME = ("An invalid 'name' value was provided. The name must be: printable characters. "
             "Can not start or end with whitespace.")
_BAD_AZ = ("An invalid 'availability_zone' value was provided. The name must be: printable "
           "characters except :. Can not start or end with whitespace.")

def _name(value: str, strict: bool) -> str:
    """Nova's name format (create: no outer spaces; update: stripped)."""
    if not value.isprintable() or (strict and value != value.strip()) or not value.strip():
        raise BadRequest(_BAD_NAME)
    return value.strip()


def _zone_name(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.isprintable() or ":" in value or value != value.strip():
        raise BadRequest(_BAD_AZ)
    return value


def _id(aggregate_id: str) -> int:
    if not aggregate_id.isdigit() or len(aggregate_id) > 10 or int(aggregate_id) > 0x7FFFFFFF:
        raise BadRequest("Invalid input received: id must be an integer.")
    return int(aggregate_id)


def _iso(ts) -> str | None:
    # Nova's aggregates show naive timestamps (its "original API" did).
    return ts.replace(tzinfo=None).isoformat() if ts else None


def hosts_of(s: Session, agg_id: int) -> list[str]:
    return list(s.exec(select(AggregateHost.host).where(AggregateHost.aggregate_id == agg_id)
                       .order_by(AggregateHost.id)).all())


def view(ctx: RequestContext, s: Session, agg: Aggregate, full: bool = True) -> dict:
    meta = dict(agg.metadata_ or {})
    body = {"availability_zone": meta.get(AZ_KEY), "created_at": _iso(agg.created_at),
            "deleted": False, "deleted_at": None, "id": agg.id, "name": agg.name,
            "updated_at": None if agg.updated_at == agg.created_at else _iso(agg.updated_at)}
    if full:
        body.update(hosts=hosts_of(s, agg.id), metadata=meta)
    if ctx.version.at_least("2.41"):
        body["uuid"] = agg.uuid
    return body


def get_aggregate(s: Session, aggregate_id: str) -> Aggregate:
    agg = s.get(Aggregate, _id(aggregate_id))
    if agg is None:
        raise NotFound(f"Aggregate {aggregate_id} could not be found.")
    return agg


def _zone_aggregates(s: Session, hosts: list[str]) -> list[tuple[Aggregate, str]]:
    """(aggregate, host) for each zone aggregate the hosts are in."""
    if not hosts:
        return []
    rows = s.exec(select(Aggregate, AggregateHost.host)
                  .join(AggregateHost, AggregateHost.aggregate_id == Aggregate.id)
                  .where(AggregateHost.host.in_(hosts))).all()
    return [(a, h) for a, h in rows if (a.metadata_ or {}).get(AZ_KEY)]


def _servers_on(s: Session, hosts: list[str]) -> int:
    if not hosts:
        return 0
    return len(s.exec(select(Instance.id).where(Instance.host.in_(hosts),
                                                Instance.deleted == False)).all())  # noqa: E712


def _check_zone_change(s: Session, agg: Aggregate, meta: dict, hosts: list[str] | None,
                       prefix: str, check_servers: bool) -> None:
    """Nova's ``is_safe_to_update_az``: 400/409 (``prefix`` says which) when the
    new zone would put a host in two zones or move running servers."""
    if AZ_KEY not in meta:
        return
    zone = meta[AZ_KEY]
    if not zone:
        raise BadRequest(f"{prefix} Reason: Aggregate {agg.name} does not support empty "
                         "named availability zone.")
    hosts = hosts if hosts is not None else hosts_of(s, agg.id)
    conflicting = sorted({a.metadata_[AZ_KEY] for a, _ in _zone_aggregates(s, hosts)
                          if a.metadata_[AZ_KEY] != zone and a.id != agg.id})
    if conflicting:
        raise BadRequest(f"{prefix} Reason: One or more hosts already in availability "
                         f"zone(s) {conflicting}.")
    same = (agg.metadata_ or {}).get(AZ_KEY) == zone
    if check_servers and not same and _servers_on(s, hosts):
        raise BadRequest(f"{prefix} Reason: One or more hosts contain instances in this "
                         "zone.")


def _host_zone_move(s: Session, agg: Aggregate, host: str, adding: bool) -> None:
    """Refuse a membership change that would move the host's servers to another zone."""
    servers = _servers_on(s, [host])
    zone = (agg.metadata_ or {}).get(AZ_KEY)
    if not servers or not zone:
        return
    others = {a.metadata_[AZ_KEY] for a, _ in _zone_aggregates(s, [host]) if a.id != agg.id}
    before, after = (next(iter(others), None), zone) if adding else \
        (zone, next(iter(others), None))
    if before != after:
        verb = ("Cannot add host to aggregate", "added to") if adding else \
            ("Cannot remove host from aggregate", "removed from")
        raise Conflict(
            f"{verb[0]} {agg.id}. Reason: The host cannot be {verb[1]} the aggregate as the "
            f"availability zone of the host would change from '{before}' to '{after}' but the "
            f"host already has {servers} instance(s). Changing the AZ of an existing instance "
            "is not supported by this action. Move the instances away from this host then try "
            "again. If you need to move the instances between AZs then you can use "
            "shelve_offload and unshelve to achieve this.")


def _compute_host(s: Session, host: str) -> bool:
    return s.exec(select(Service.id).where(Service.host == host,
                                           Service.binary == "nova-compute")).first() is not None


@router.get("")
def list_aggregates(ctx: Ctx, h: Handles) -> dict:
    with h.db.reader() as s:
        aggs = s.exec(select(Aggregate).order_by(Aggregate.id)).all()
        return {"aggregates": [view(ctx, s, a) for a in aggs]}


@router.post("")
def create_aggregate(payload: AggregateCreateRequest, ctx: Ctx, h: Handles) -> dict:
    body = payload.aggregate
    name = _name(body.name, strict=True)
    zone = _zone_name(body.availability_zone)
    with h.db.writer() as s:
        if s.exec(select(Aggregate.id).where(Aggregate.name == name)).first() is not None:
            raise Conflict(f"Aggregate {name} already exists.")
        now = utcnow()
        agg = Aggregate(name=name, metadata_={AZ_KEY: zone} if zone else {},
                        created_at=now, updated_at=now)
        s.add(agg)
        s.flush()
        return {"aggregate": view(ctx, s, agg, full=False)}


@router.get("/{aggregate_id}")
def show_aggregate(aggregate_id: str, ctx: Ctx, h: Handles) -> dict:
    with h.db.reader() as s:
        return {"aggregate": view(ctx, s, get_aggregate(s, aggregate_id))}


@router.put("/{aggregate_id}")
def update_aggregate(aggregate_id: str, payload: AggregateUpdateRequest, ctx: Ctx,
                     h: Handles) -> dict:
    body = payload.aggregate
    sent = body.model_fields_set
    if not sent:
        raise BadRequest("Invalid input for field/attribute aggregate. Value: {}. {} is not "
                         "valid under any of the given schemas")
    name = _name(body.name, strict=False) if "name" in sent and body.name is not None else None
    if "name" in sent and body.name is None:
        raise BadRequest("Invalid input for field/attribute name. Value: None. None is not "
                         "of type 'string'")
    with h.db.writer() as s:
        agg = get_aggregate(s, aggregate_id)
        if name is not None and name != agg.name:
            if s.exec(select(Aggregate.id).where(Aggregate.name == name)).first() is not None:
                raise Conflict(f"Aggregate {name} already exists.")
            agg.name = name
        if "availability_zone" in sent:
            zone = _zone_name(body.availability_zone)
            _check_zone_change(s, agg, {AZ_KEY: zone}, None,
                               f"Cannot update aggregate {agg.id}.", check_servers=True)
            agg.metadata_ = {**(agg.metadata_ or {}), AZ_KEY: zone}
        agg.updated_at = utcnow()
        s.add(agg)
        s.flush()
        return {"aggregate": view(ctx, s, agg)}


@router.delete("/{aggregate_id}")
def delete_aggregate(aggregate_id: str, ctx: Ctx, h: Handles) -> Response:
    with h.db.writer() as s:
        agg = get_aggregate(s, aggregate_id)
        if hosts_of(s, agg.id):
            raise BadRequest(f"Cannot remove host from aggregate {agg.id}. Reason: Host "
                             "aggregate is not empty.")
        s.delete(agg)
    return Response(status_code=200)


def _add_host(s: Session, agg: Aggregate, host: str) -> None:
    if not _compute_host(s, host):
        raise NotFound(f"Compute host {host} could not be found.")
    try:
        _check_zone_change(s, agg, dict(agg.metadata_ or {}), [host],
                           f"Cannot add host to aggregate {agg.id}.", check_servers=False)
    except BadRequest as exc:  # Nova answers this one 409 (InvalidAggregateAction)
        raise Conflict(exc.message) from None
    _host_zone_move(s, agg, host, adding=True)
    if host in hosts_of(s, agg.id):
        raise Conflict(f"Aggregate {agg.id} already has host {host}.")
    s.add(AggregateHost(aggregate_id=agg.id, host=host))


def _remove_host(s: Session, agg: Aggregate, host: str, aggregate_id: str) -> None:
    if not _compute_host(s, host) or host not in hosts_of(s, agg.id):
        raise NotFound(f"Cannot remove host {host} in aggregate {aggregate_id}")
    _host_zone_move(s, agg, host, adding=False)
    # The host cache sees this bulk delete (schema/host_changes.py): every host.
    s.execute(sql_delete(AggregateHost).where(AggregateHost.aggregate_id == agg.id,
                                              AggregateHost.host == host))


def _set_metadata(s: Session, agg: Aggregate, metadata: dict) -> None:
    _check_zone_change(s, agg, metadata, None, f"Cannot update metadata of aggregate {agg.id}.",
                       check_servers=True)
    meta = dict(agg.metadata_ or {})
    for key, value in metadata.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    agg.metadata_ = meta


@router.post("/{aggregate_id}/action")
def aggregate_action(aggregate_id: str, payload: AggregateActionRequest, ctx: Ctx,
                     h: Handles) -> dict:
    sent = sorted(payload.model_fields_set)
    if len(sent) != 1:
        raise BadRequest("There is no such action: the body must hold exactly one action")
    action = sent[0]  # its policy rule was enforced with the route (api/policy.py)
    with h.db.writer() as s:
        agg = get_aggregate(s, aggregate_id)
        if action == "add_host":
            _add_host(s, agg, payload.add_host.host)
        elif action == "remove_host":
            _remove_host(s, agg, payload.remove_host.host, aggregate_id)
        else:
            _set_metadata(s, agg, payload.set_metadata.metadata)
        agg.updated_at = utcnow()
        s.add(agg)
        s.flush()
        return {"aggregate": view(ctx, s, agg)}


@router.post("/{aggregate_id}/images", status_code=202)
def cache_images(aggregate_id: str, payload: AggregateImagesRequest, ctx: Ctx,
                 h: Handles) -> Response:
    if not ctx.version.at_least("2.81"):
        raise NotFound("The resource could not be found.")
    image_ids = [c.id for c in payload.cache]
    if len(set(image_ids)) != len(image_ids):
        raise BadRequest("Duplicate images in request")
    with h.db.reader() as s:
        agg = get_aggregate(s, aggregate_id)
        for image_id in image_ids:  # Glance's (this handler runs in a thread)
            if h.image_client().get(image_id, ctx.project_id, True) is None:
                raise BadRequest(f"Image {image_id} could not be found.")
        hosts = hosts_of(s, agg.id)
    log.info("image cache request accepted", aggregate=agg.id, images=image_ids,
             hosts=len(hosts))
    return Response(status_code=202)
