"""/v2.1/servers: create, list, show, delete."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from sqlmodel import Session, select

from api import compute, views
from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest, Forbidden, NotFound
from api.validation import integer, is_uuid, no_extra_keys, require_dict, string
from novaflow.states import TaskState, VmState, vm_states_for_status
from schema.models import ComputeNode, Flavor, Image, Instance, Network

router = APIRouter(prefix="/v2.1/servers", tags=["servers"])

SERVER_KEYS = {
    "name", "imageRef", "flavorRef", "networks", "availability_zone", "metadata", "key_name",
    "user_data", "min_count", "max_count", "description", "security_groups",
    "block_device_mapping_v2", "config_drive", "adminPass", "accessIPv4", "accessIPv6",
    "OS-DCF:diskConfig", "return_reservation_id", "tags", "hostname",
}


def get_instance(s: Session, ctx: RequestContext, server_id: str) -> Instance:
    """The caller's server (any project's for admins), else 404."""
    inst = s.exec(select(Instance).where(Instance.uuid == server_id)).first()
    if inst is None or inst.deleted or (inst.project_id != ctx.project_id and not ctx.is_admin):
        raise NotFound(f"Instance {server_id} could not be found.")
    return inst


def _networks(s: Session, ctx: RequestContext, server: dict) -> list[str]:
    nets = server.get("networks")
    if nets is None:
        if ctx.version.at_least("2.37"):
            raise BadRequest("Invalid input for field/attribute server. 'networks' is a "
                             "required property")
        nets = "auto"
    if nets == "none":
        return []
    if nets == "auto":
        visible = s.exec(select(Network)).all()
        return [n.id for n in visible if n.shared or n.project_id == ctx.project_id][:1]
    if not isinstance(nets, list):
        raise BadRequest("Invalid input for field/attribute networks. Value: "
                         f"{nets!r:.100}. {nets!r:.100} is not of type 'array'")
    ids = []
    for entry in nets:
        if not isinstance(entry, dict) or "uuid" not in entry:
            raise BadRequest("Invalid input for field/attribute networks. Each network needs "
                             "a 'uuid'")
        net_id = entry["uuid"]
        if not is_uuid(net_id):
            raise BadRequest(f"Bad networks format: network uuid is not in proper format "
                             f"({net_id})")
        net = s.get(Network, net_id)
        if net is None or not (net.shared or net.project_id == ctx.project_id or ctx.is_admin):
            raise BadRequest(f"Network {net_id} could not be found.")
        ids.append(net_id)
    return ids


def _availability_zone(s: Session, ctx: RequestContext, server: dict
                       ) -> tuple[str | None, str | None]:
    """(zone, forced host) from ``availability_zone`` ("az", "az:host", "az:host:node")."""
    az = string(server, "availability_zone")
    if not az:
        return None, None
    zone, _, rest = az.partition(":")
    host = rest.split(":")[0] if rest else None
    if host:
        ctx.require_admin("forcing a host with availability_zone")
    zones = set(s.exec(select(ComputeNode.availability_zone)))
    if zone and zone not in zones:
        raise BadRequest("The requested availability zone is not available")
    return zone or None, host or None


def _flavor_snapshot(f: Flavor) -> dict:
    return {"flavorid": f.flavorid, "name": f.name, "vcpus": f.vcpus,
            "memory_mb": f.memory_mb, "root_gb": f.root_gb, "ephemeral_gb": f.ephemeral_gb,
            "swap": f.swap, "extra_specs": dict(f.extra_specs or {})}


@router.post("", status_code=202)
async def create_server(request: Request, response: Response, ctx: Ctx, h: Handles) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise BadRequest("Malformed request body") from None
    server = require_dict(body, "server")
    no_extra_keys(server, SERVER_KEYS, "server")
    name = string(server, "name", required=True, min_len=1)
    description = string(server, "description")
    flavor_ref = str(server.get("flavorRef") or "")
    image_ref = str(server.get("imageRef") or "")
    if not flavor_ref:
        raise BadRequest("Invalid input for field/attribute server. 'flavorRef' is a "
                         "required property")
    if not image_ref:
        raise BadRequest("Invalid input for field/attribute server. 'imageRef' is a "
                         "required property")
    metadata = server.get("metadata") or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= 255 and len(v) <= 255
            for k, v in metadata.items()):
        raise BadRequest("Invalid input for field/attribute metadata. Metadata keys and "
                         "values must be strings of at most 255 characters")
    min_count = integer(server, "min_count", minimum=1, default=1)
    max_count = integer(server, "max_count", minimum=1, default=min_count)
    if max_count < min_count:
        raise BadRequest("min_count must be <= max_count")
    hints = body.get("os:scheduler_hints") or body.get("OS-SCH-HNT:scheduler_hints") or {}
    if not isinstance(hints, dict):
        raise BadRequest("Invalid input for field/attribute os:scheduler_hints.")

    with h.db.reader() as s:
        flavor = s.exec(select(Flavor).where(Flavor.flavorid == flavor_ref)).first()
        if flavor is None or flavor.disabled:
            raise BadRequest(f"Flavor {flavor_ref} could not be found.")
        image = s.get(Image, image_ref) if is_uuid(image_ref) else None
        if image is None or image.status != "active":
            raise BadRequest("Can not find requested image")
        if image.min_ram > flavor.memory_mb:
            raise BadRequest("Flavor's memory is too small for requested image.")
        if image.min_disk > flavor.root_gb and flavor.root_gb:
            raise BadRequest("Flavor's disk is too small for requested image.")
        network_ids = _networks(s, ctx, server)
        zone, force_host = _availability_zone(s, ctx, server)

    created = []
    for index in range(1, max_count + 1):
        inst = Instance(
            display_name=name if max_count == 1 else f"{name}-{index}",
            description=description, project_id=ctx.project_id, user_id=ctx.user_id,
            vm_state=VmState.BUILDING, task_state=TaskState.SCHEDULING, power_state=0,
            availability_zone=zone, flavor=_flavor_snapshot(flavor), image_ref=image.id,
            image={"id": image.id, "name": image.name, "properties": dict(image.properties)},
            key_name=server.get("key_name"), metadata_=metadata,
            requested_networks=network_ids,
        )
        created.append(await compute.create_server(h, ctx, inst, network_ids, hints,
                                                   force_host))
    first = created[0]
    response.headers["Location"] = f"{ctx.base_url}/v2.1/servers/{first.uuid}"
    return {"server": {
        "id": first.uuid,
        "links": views.links(ctx, "servers", first.uuid),
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": [{"name": "default"}],
        "adminPass": secrets.token_urlsafe(9),
    }}


def _parse_time(value: str) -> datetime:
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    except ValueError:
        raise BadRequest(f"Invalid filter field: changes-since. ({value})") from None


def _list(request: Request, ctx: RequestContext, h, detail: bool) -> dict:  # noqa: ANN001
    q = request.query_params
    stmt = select(Instance)
    all_tenants = q.get("all_tenants") not in (None, "0", "false", "False")
    if all_tenants:
        ctx.require_admin("listing servers of all projects")
    project = q.get("project_id") or q.get("tenant_id")
    if project and ctx.is_admin:
        stmt = stmt.where(Instance.project_id == project)
    elif not all_tenants:
        stmt = stmt.where(Instance.project_id == ctx.project_id)
    if "changes-since" in q:
        stmt = stmt.where(Instance.updated_at >= _parse_time(q["changes-since"]))
    else:
        stmt = stmt.where(Instance.deleted == False)  # noqa: E712
    if "status" in q:
        states = vm_states_for_status(q["status"])
        if not states:
            return {"servers": []}
        stmt = stmt.where(Instance.vm_state.in_(states))
    if "host" in q:
        if not ctx.is_admin:
            raise Forbidden("Policy doesn't allow filtering by host.")
        stmt = stmt.where(Instance.host == q["host"])
    stmt = stmt.order_by(Instance.created_at.desc(), Instance.id.desc())
    with h.db.reader() as s:
        rows = list(s.exec(stmt).all())
    if "name" in q:
        try:
            pattern = re.compile(q["name"])
        except re.error:
            raise BadRequest(f"Invalid filter field: name. ({q['name']})") from None
        rows = [r for r in rows if pattern.search(r.display_name)]
    if "marker" in q:
        ids = [r.uuid for r in rows]
        if q["marker"] not in ids:
            raise BadRequest(f"marker [{q['marker']}] not found")
        rows = rows[ids.index(q["marker"]) + 1:]
    limit = integer(dict(q), "limit", minimum=0)
    more = limit is not None and len(rows) > limit
    if limit is not None:
        rows = rows[:limit]
    render = views.server_detail if detail else views.server_summary
    out: dict = {"servers": [render(ctx, r) for r in rows]}
    if more and rows:
        path = "servers/detail" if detail else "servers"
        params = {k: v for k, v in q.items() if k != "marker"}
        params["marker"] = rows[-1].uuid
        query = "&".join(f"{k}={v}" for k, v in params.items())
        out["servers_links"] = [{"rel": "next",
                                 "href": f"{ctx.base_url}/v2.1/{path}?{query}"}]
    return out


@router.get("")
async def list_servers(request: Request, ctx: Ctx, h: Handles) -> dict:
    return _list(request, ctx, h, detail=False)


@router.get("/detail")
async def list_servers_detail(request: Request, ctx: Ctx, h: Handles) -> dict:
    return _list(request, ctx, h, detail=True)


async def _current_step(h, inst: Instance) -> str | None:  # noqa: ANN001
    if not inst.workflow_id or inst.task_state is None or h.temporal is None:
        return None
    try:
        return await h.temporal.get_workflow_handle(inst.workflow_id).query("current_step")
    except Exception:  # noqa: BLE001 - the workflow may just have finished
        return None


@router.get("/{server_id}")
async def show_server(server_id: str, ctx: Ctx, h: Handles) -> dict:
    with h.db.reader() as s:
        inst = get_instance(s, ctx, server_id)
    step = await _current_step(h, inst) if ctx.is_admin else None
    return {"server": views.server_detail(ctx, inst, h.settings.temporal_ui_url, step)}


@router.delete("/{server_id}", status_code=204)
async def delete_server(server_id: str, ctx: Ctx, h: Handles) -> Response:
    with h.db.reader() as s:
        inst = get_instance(s, ctx, server_id)
    await compute.delete_server(h, ctx, inst)
    return Response(status_code=204)
