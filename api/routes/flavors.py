"""/v2.1/flavors: list, detail, show; admins create, describe (2.55+) and
delete them and manage their ``os-extra_specs``.

Members see public, enabled flavors; admins may ask for private ones with
``is_public=false`` or for every flavor with ``is_public=none``.  Servers
keep a snapshot of their flavor, so deleting a flavor never changes them.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from api import flavor_visibility, views
from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest, Conflict, NotFound
from api.schemas.common import check_versions
from api.schemas.flavors import (
    ExtraSpecItemRequest,
    ExtraSpecsRequest,
    FlavorCreateRequest,
    FlavorListQuery,
    FlavorUpdateRequest,
)
from api.validation import no_extra_keys
from schema.models import Flavor, new_uuid

router = APIRouter(prefix="/v2.1/flavors", tags=["flavors"])

_ID = re.compile(r"^(?! )[a-zA-Z0-9. _-]+(?<! )$")
_SPEC_KEY = re.compile(r"^[a-zA-Z0-9-_:. ]{1,255}$")
_TRUE = ("1", "t", "true", "on", "y", "yes")
_FALSE = ("0", "f", "false", "off", "n", "no")


def _is_public(ctx: RequestContext, raw: str | None) -> bool | None:
    """Nova's is_public filter: members always get public flavors."""
    if not ctx.is_admin or raw is None:
        return True
    if raw.lower() == "none":
        return None
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise BadRequest(f"Invalid is_public filter [{raw}]")


def _min_filter(q, name: str) -> int | None:
    if name not in q:
        return None
    try:
        return int(q[name])
    except ValueError:
        raise BadRequest(f"Invalid {name} filter [{q[name]}]") from None


def _flavors(request: Request, ctx: RequestContext, h, detail: bool) -> dict:
    q = request.query_params
    stmt = select(Flavor)
    public = _is_public(ctx, q.get("is_public"))
    if not ctx.is_admin:  # public flavors and the private ones granted to the project
        stmt = flavor_visibility.visible(stmt, ctx)
    elif public is not None:
        stmt = stmt.where(Flavor.is_public == public)
    if not ctx.is_admin:
        stmt = stmt.where(Flavor.disabled == False)  # noqa: E712
    min_ram, min_disk = _min_filter(q, "minRam"), _min_filter(q, "minDisk")
    if min_ram is not None:
        stmt = stmt.where(Flavor.memory_mb >= min_ram)
    if min_disk is not None:
        stmt = stmt.where(Flavor.root_gb >= min_disk)
    sort_keys = {"flavorid": Flavor.flavorid, "id": Flavor.flavorid, "name": Flavor.name,
                 "memory_mb": Flavor.memory_mb, "vcpus": Flavor.vcpus,
                 "root_gb": Flavor.root_gb, "created_at": Flavor.created_at}
    sort_key, sort_dir = q.get("sort_key", "flavorid"), q.get("sort_dir", "asc")
    if sort_key not in sort_keys or sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort: sort_key={sort_key}, sort_dir={sort_dir}")
    column = sort_keys[sort_key]
    stmt = stmt.order_by(column.desc() if sort_dir == "desc" else column, Flavor.flavorid)
    with h.db.reader() as s:
        rows = list(s.exec(stmt).all())
    path = "flavors/detail" if detail else "flavors"
    rows, links = views.page(ctx, request, rows, key=lambda f: f.flavorid, collection=path,
                             max_limit=h.settings.api_max_limit)
    render = views.flavor_detail if detail else views.flavor_summary
    out: dict = {"flavors": [render(ctx, f) for f in rows]}
    if links:
        out["flavors_links"] = links
    return out


def get_flavor(s: Session, flavor_id: str, ctx: RequestContext | None = None) -> Flavor:
    """The flavor (for ``ctx``: only if the caller may see it), else 404."""
    flavor = s.exec(select(Flavor).where(Flavor.flavorid == flavor_id)).first()
    if flavor is None or (ctx is not None and not flavor_visibility.may_use(s, ctx, flavor)):
        raise NotFound(f"Flavor {flavor_id} could not be found.")
    return flavor


@router.get("")
async def list_flavors(request: Request, ctx: Ctx, h: Handles,
                       _query: Annotated[FlavorListQuery, Query()]) -> dict:
    return _flavors(request, ctx, h, detail=False)


@router.get("/detail")
async def list_flavors_detail(request: Request, ctx: Ctx, h: Handles,
                              _query: Annotated[FlavorListQuery, Query()]) -> dict:
    return _flavors(request, ctx, h, detail=True)


@router.get("/{flavor_id}")
async def show_flavor(flavor_id: str, ctx: Ctx, h: Handles) -> dict:
    with h.db.reader() as s:
        return {"flavor": views.flavor_detail(ctx, get_flavor(s, flavor_id, ctx))}


def _int(d: dict, key: str, minimum: int, default: int | None = None) -> int:
    value = d.get(key, default)
    if value is None:
        raise BadRequest(f"Invalid input for field/attribute flavor. '{key}' is a required "
                         "property")
    try:
        as_int = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value!r:.100}. "
                         f"{value!r:.100} is not of type 'integer'") from None
    if isinstance(value, bool | float) or as_int < minimum:
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value!r:.100}. "
                         f"{value!r:.100} is less than the minimum of {minimum}")
    return as_int


@router.post("")
async def create_flavor(payload: FlavorCreateRequest, ctx: Ctx, h: Handles) -> dict:
    ctx.require_admin("os_compute_api:os-flavor-manage:create")
    check_versions(payload, ctx.version)
    body = payload.as_dict()["flavor"]
    allowed = {"name", "id", "ram", "vcpus", "disk", "OS-FLV-EXT-DATA:ephemeral", "swap",
               "rxtx_factor", "os-flavor-access:is_public"}
    if ctx.version.at_least("2.55"):
        allowed.add("description")
    no_extra_keys(body, allowed, "flavor")
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 255 or name != name.strip():
        raise BadRequest(f"Invalid input for field/attribute name. Value: {name!r:.100}. "
                         "It must be 1 to 255 characters with no leading or trailing spaces")
    flavorid = body.get("id")
    if flavorid is None:
        flavorid = new_uuid()
    if not isinstance(flavorid, str) or not 1 <= len(flavorid) <= 255 \
            or not _ID.match(flavorid):
        raise BadRequest(f"Invalid input for field/attribute id. Value: {flavorid!r:.100}. "
                         f"{flavorid!r:.100} does not match '{_ID.pattern}'")
    rxtx = body.get("rxtx_factor", 1.0)
    if isinstance(rxtx, bool) or not isinstance(rxtx, int | float) or rxtx <= 0:
        raise BadRequest(f"Invalid input for field/attribute rxtx_factor. Value: {rxtx!r:.100}")
    is_public = body.get("os-flavor-access:is_public", True)
    if not isinstance(is_public, bool):
        raise BadRequest("Invalid input for field/attribute os-flavor-access:is_public. "
                         f"Value: {is_public!r:.100}. {is_public!r:.100} is not of type "
                         "'boolean'")
    description = body.get("description")
    if description is not None and (not isinstance(description, str)
                                    or len(description) > 65535):
        raise BadRequest("Invalid input for field/attribute description.")
    flavor = Flavor(flavorid=flavorid, name=name, memory_mb=_int(body, "ram", 1),
                    vcpus=_int(body, "vcpus", 1), root_gb=_int(body, "disk", 0),
                    ephemeral_gb=_int(body, "OS-FLV-EXT-DATA:ephemeral", 0, 0),
                    swap=_int(body, "swap", 0, 0), rxtx_factor=float(rxtx),
                    is_public=is_public, description=description)
    with h.db.writer() as s:
        if s.exec(select(Flavor).where(Flavor.name == name)).first() is not None:
            raise Conflict(f"Flavor with name {name} already exists.")
        if s.exec(select(Flavor).where(Flavor.flavorid == flavorid)).first() is not None:
            raise Conflict(f"Flavor with ID {flavorid} already exists.")
        s.add(flavor)
        try:
            s.flush()
        except IntegrityError:
            raise Conflict(f"Flavor with name {name} already exists.") from None
    return {"flavor": views.flavor_detail(ctx, flavor)}


@router.put("/{flavor_id}")
async def update_flavor(flavor_id: str, payload: FlavorUpdateRequest, ctx: Ctx,
                        h: Handles) -> dict:
    if not ctx.version.at_least("2.55"):
        raise NotFound("The resource could not be found.")
    ctx.require_admin("os_compute_api:os-flavor-manage:update")
    body = payload.as_dict()["flavor"]
    no_extra_keys(body, {"description"}, "flavor")
    description = body.get("description")
    if "description" not in body or (description is not None and (
            not isinstance(description, str) or len(description) > 65535)):
        raise BadRequest("Invalid input for field/attribute flavor. 'description' is a "
                         "required property")
    with h.db.writer() as s:
        flavor = get_flavor(s, flavor_id)
        flavor.description = description
        s.add(flavor)
    return {"flavor": views.flavor_detail(ctx, flavor)}


@router.delete("/{flavor_id}", status_code=202)
async def delete_flavor(flavor_id: str, ctx: Ctx, h: Handles) -> Response:
    ctx.require_admin("os_compute_api:os-flavor-manage:delete")
    with h.db.writer() as s:
        flavor = get_flavor(s, flavor_id)
        flavor_visibility.forget_flavor(s, flavor.flavorid)
        s.delete(flavor)
    return Response(status_code=202)


# -- os-extra_specs -----------------------------------------------------------

def _spec_value(key: str, value: object) -> str:
    if not isinstance(key, str) or not _SPEC_KEY.match(key):
        raise BadRequest(f"Invalid input for field/attribute extra_specs. Additional "
                         f"properties are not allowed ({key!r:.100} was unexpected)")
    if isinstance(value, bool):
        return "True" if value else "False"
    if not isinstance(value, str | int | float) or len(str(value)) > 255:
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value!r:.100}. "
                         "It must be a string, number or boolean of at most 255 characters")
    return str(value)


@router.get("/{flavor_id}/os-extra_specs")
async def list_extra_specs(flavor_id: str, ctx: Ctx, h: Handles) -> dict:
    with h.db.reader() as s:
        return {"extra_specs": dict(get_flavor(s, flavor_id, ctx).extra_specs or {})}


@router.post("/{flavor_id}/os-extra_specs")
async def create_extra_specs(flavor_id: str, payload: ExtraSpecsRequest, ctx: Ctx,
                             h: Handles) -> dict:
    ctx.require_admin("os_compute_api:os-flavor-extra-specs:create")
    specs = payload.as_dict()["extra_specs"]
    clean = {k: _spec_value(k, v) for k, v in specs.items()}
    with h.db.writer() as s:
        flavor = get_flavor(s, flavor_id)
        flavor.extra_specs = {**(flavor.extra_specs or {}), **clean}
        s.add(flavor)
    return {"extra_specs": clean}


@router.get("/{flavor_id}/os-extra_specs/{key}")
async def show_extra_spec(flavor_id: str, key: str, ctx: Ctx, h: Handles) -> dict:
    with h.db.reader() as s:
        specs = get_flavor(s, flavor_id, ctx).extra_specs or {}
    if key not in specs:
        raise NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
    return {key: specs[key]}


@router.put("/{flavor_id}/os-extra_specs/{key}")
async def update_extra_spec(flavor_id: str, key: str,
                            body: Annotated[ExtraSpecItemRequest, Body()], ctx: Ctx,
                            h: Handles) -> dict:
    ctx.require_admin("os_compute_api:os-flavor-extra-specs:update")
    if not isinstance(body, dict) or not body:
        raise BadRequest("Malformed request body")
    if len(body) > 1:
        raise BadRequest("Request body contains too many items")
    if key not in body:
        raise BadRequest("Request body and URI mismatch")
    value = _spec_value(key, body[key])
    with h.db.writer() as s:
        flavor = get_flavor(s, flavor_id)
        flavor.extra_specs = {**(flavor.extra_specs or {}), key: value}
        s.add(flavor)
    return {key: value}


@router.delete("/{flavor_id}/os-extra_specs/{key}", status_code=202)
async def delete_extra_spec(flavor_id: str, key: str, ctx: Ctx, h: Handles) -> Response:
    ctx.require_admin("os_compute_api:os-flavor-extra-specs:delete")
    with h.db.writer() as s:
        flavor = get_flavor(s, flavor_id)
        specs = dict(flavor.extra_specs or {})
        if key not in specs:
            raise NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
        del specs[key]
        flavor.extra_specs = specs
        s.add(flavor)
    return Response(status_code=202)
