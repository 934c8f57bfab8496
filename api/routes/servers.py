"""/v2.1/servers: create, list (filters, pagination), show, update, delete."""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import openstack.exceptions
from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from activities.types.catalog import ImageInfo
from api import cloud_proxy, compute, images, quotas, server_sort, views
from api import security_groups as security_groups_api
from api.actions import soft_delete
from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest, Conflict, NotFound
from api.flavor_visibility import may_use
from api.operations import Written, abandon_operation, launch_operation
from api.routes import volumes
from api.schemas.common import check_versions
from api.schemas.servers import ServerCreateRequest, ServerListQuery, ServerUpdateRequest
from api.tags import check_tags, set_tags, show_tags, tag_filter, tags_of
from api.user_regex import compile_filter
from api.validation import (
    integer,
    is_uuid,
    no_extra_keys,
    string,
    validate_metadata,
)
from novaflow.states import TaskState, VmState, vm_states_for_status
from schema.models import (
    Flavor,
    Instance,
    KeyPair,
    utcnow,
)
from schema.zones import zones_by_host

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


def _networks(ctx: RequestContext, server: dict, max_count: int = 1
              ) -> tuple[list[str] | None, list[str]]:
    """The requested network ids (None: "auto") and pre-created port ids,
    checked for form; _check_networks asks the network service."""
    nets = server.get("networks")
    if nets is None:
        if ctx.version.at_least("2.37"):
            raise BadRequest("Invalid input for field/attribute server. 'networks' is a "
                             "required property")
        nets = "auto"
    if nets == "none":
        return [], []
    if nets == "auto":
        return None, []
    if not isinstance(nets, list):
        raise BadRequest("Invalid input for field/attribute networks. Value: "
                         f"{nets!r:.100}. {nets!r:.100} is not of type 'array'")
    ids: list[str] = []
    ports: list[str] = []
    for entry in nets:
        if isinstance(entry, dict) and entry.get("port"):
            ports.append(_requested_port(entry["port"], max_count))
            continue
        if not isinstance(entry, dict) or "uuid" not in entry:
            raise BadRequest("Invalid input for field/attribute networks. Each network needs "
                             "a 'uuid'")
        net_id = entry["uuid"]
        if not is_uuid(net_id):
            raise BadRequest(f"Bad networks format: network uuid is not in proper format "
                             f"({net_id})")
        ids.append(net_id)
    return ids, ports


def _requested_port(port_id: Any, max_count: int) -> str:
    if not is_uuid(port_id):
        raise BadRequest(f"Bad networks format: port uuid is not in proper format ({port_id})")
    if max_count > 1:
        raise BadRequest("Unable to launch multiple instances with a single configured port "
                         "ID. Please launch your instance one by one with different ports.")
    return str(port_id)


def _check_networks(conn: Any, ctx: RequestContext, net_ids: list[str] | None,
                    port_ids: list[str]) -> list[str]:
    """Nova's ``validate_networks``, through the network service as the
    caller: each network one they may use, each port theirs and free;
    "auto" takes the first network shared with or owned by the project.
    Returns the network ids."""
    net = cloud_proxy.network(conn)
    if net_ids is None:
        mine = [n for n in net.networks()
                if n.is_shared or n.project_id == ctx.project_id]
        mine.sort(key=lambda n: (n.created_at or "", n.id))
        return [n.id for n in mine][:1]
    for net_id in net_ids:
        try:
            net.get_network(net_id)
        except openstack.exceptions.NotFoundException:
            raise BadRequest(f"Network {net_id} could not be found.") from None
    for port_id in port_ids:
        try:
            port = net.get_port(port_id)
        except openstack.exceptions.NotFoundException:
            raise BadRequest(f"Port {port_id} could not be found.") from None
        if port.device_id:
            raise Conflict(f"Port {port_id} is still in use.")
    return net_ids


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
    zones = set(zones_by_host(s).values())  # aggregates' zones included (issue 15)
    if zone and zone not in zones:
        raise BadRequest("The requested availability zone is not available")
    return zone or None, host or None


def flavor_snapshot(f: Flavor) -> dict:
    """The flavor as an instance keeps it (it outlives the flavor's row)."""
    return {"flavorid": f.flavorid, "name": f.name, "vcpus": f.vcpus,
            "memory_mb": f.memory_mb, "root_gb": f.root_gb, "ephemeral_gb": f.ephemeral_gb,
            "swap": f.swap, "extra_specs": dict(f.extra_specs or {})}


MAX_USER_DATA = 65535  # bytes of base64, as in Nova


def _name(server: dict, key: str = "name", required: bool = True) -> str | None:
    name = string(server, key, required=required, min_len=1)
    if name is not None and name != name.strip():
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {name}. "
                         f"'{name}' is not a 'name' (no leading or trailing spaces)")
    return name


def _user_data(server: dict) -> str | None:
    """``user_data``: base64, at most 65535 bytes once encoded (Nova's limits)."""
    value = server.get("user_data")
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"Invalid input for field/attribute user_data. Value: {value!r:.50}. "
                         f"{value!r:.50} is not of type 'string'")
    if len(value) > MAX_USER_DATA:
        raise BadRequest(f"User data too large. User data must be no larger than "
                         f"{MAX_USER_DATA} bytes once base64 encoded. Your data is "
                         f"{len(value)} bytes")
    try:
        base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"Invalid input for field/attribute user_data. Value: {value:.50}. "
                         f"'{value:.50}' is not a 'base64'") from None
    return value


def _security_groups(server: dict) -> list[str]:
    groups = server.get("security_groups")
    if groups is None:
        return ["default"]
    if not isinstance(groups, list) or not all(
            isinstance(g, dict) and isinstance(g.get("name"), str) and g["name"]
            for g in groups):
        raise BadRequest("Invalid input for field/attribute security_groups. Each security "
                         "group must be an object with a 'name'")
    return [g["name"] for g in groups]


def _hostname(ctx: RequestContext, server: dict, name: str, count: int) -> str | None:
    """The guest hostname: asked for (2.90+, single server only) or made from the name."""
    if server.get("hostname") is not None:
        if count > 1:
            raise BadRequest("Cannot specify hostname when creating multiple instances")
        value = string(server, "hostname", min_len=1)
        if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9.-]*", value or ""):
            raise BadRequest(f"Invalid input for field/attribute hostname. Value: {value}. "
                             f"'{value}' is not a valid hostname")
        return value
    clean = re.sub(r"[^a-z0-9.-]+", "-", name.lower()).strip("-.")
    return clean[:63] or "server"


def _version_gated(ctx: RequestContext, server: dict) -> None:
    """Keys that only exist from some microversion are unexpected before it (400)."""
    for key, since in (("description", "2.19"), ("tags", "2.52"), ("hostname", "2.90")):
        if key in server and not ctx.version.at_least(since):
            raise BadRequest(f"Invalid input for field/attribute server. Additional "
                             f"properties are not allowed ('{key}' was unexpected)")


@router.post("", status_code=202)
async def create_server(payload: ServerCreateRequest, response: Response, ctx: Ctx,
                        h: Handles) -> dict:
    check_versions(payload, ctx.version)
    body = payload.as_dict()
    server = body["server"]
    no_extra_keys(server, SERVER_KEYS, "server")
    _version_gated(ctx, server)
    name = _name(server)
    description = string(server, "description")
    flavor_ref = str(server.get("flavorRef") or "")
    if not flavor_ref:
        raise BadRequest("Invalid input for field/attribute server. 'flavorRef' is a "
                         "required property")
    bdms = volumes.parse_block_device_mapping(server.get("block_device_mapping_v2"))
    boot = volumes.boot_device(bdms)
    volume_backed = boot is not None and boot["destination_type"] == "volume"
    image_ref = "" if volume_backed else str(server.get("imageRef") or "")
    if not image_ref and boot is not None and boot["source_type"] == "image":
        image_ref = boot["uuid"]  # the CLI's image BDM (image -> local) names the image
    if not image_ref and not volume_backed:
        raise BadRequest("Invalid input for field/attribute server. 'imageRef' is a "
                         "required property")
    metadata = validate_metadata(server.get("metadata") or {})
    tags = check_tags(server.get("tags") or [])  # 2.52+
    user_data = _user_data(server)
    key_name = string(server, "key_name")
    security_groups = _security_groups(server)
    min_count = integer(server, "min_count", minimum=1, default=1)
    max_count = integer(server, "max_count", minimum=1, default=min_count)
    if max_count < min_count:
        raise BadRequest("min_count must be <= max_count")
    want_reservation = server.get("return_reservation_id") in (True, "True", "true", "1")
    hints = body.get("os:scheduler_hints") or body.get("OS-SCH-HNT:scheduler_hints") or {}

    # The database work runs in threads: on the event loop it held up every
    # other request (measured: 9% of the API's samples in a boot burst).
    def load_flavor() -> tuple[Flavor | None, bool]:
        with h.db.reader() as s:
            found = s.exec(select(Flavor).where(Flavor.flavorid == flavor_ref)).first()
            return found, found is not None and not found.disabled and may_use(s, ctx, found)

    flavor, usable = await asyncio.to_thread(load_flavor)
    if not usable:
        raise BadRequest(f"Flavor {flavor_ref} could not be found.")
    # Images are Glance's: checked there (as the project sees them) before the
    # database work below.
    async def check_image() -> Any:
        if not image_ref:
            return None
        return await images.boot_image(h, ctx, image_ref, flavor.memory_mb, flavor.root_gb)

    async def check_the_rest() -> tuple:
        bdm_images = await volumes.check_block_device_images(h, ctx, bdms)
        # Volumes are Cinder's: checked through its API as the caller.
        bdm_boot_image = await volumes.check_block_device_volumes(h, ctx, bdms, max_count)

        def validate() -> tuple:
            with h.db.reader() as s:
                if key_name is not None and s.exec(select(KeyPair).where(
                        KeyPair.user_id == ctx.user_id,
                        KeyPair.name == key_name)).first() is None:
                    raise BadRequest("Invalid key_name provided.")
                quotas.check_metadata_items(s, ctx.project_id, len(metadata), h.settings)
                return (bdm_boot_image, *_networks(ctx, server, max_count),
                        *_availability_zone(s, ctx, server))

        boot_image_id, network_ids, port_ids, zone, force_host = await asyncio.to_thread(
            validate)
        network_ids = await cloud_proxy.call(
            h, ctx, lambda conn: _check_networks(conn, ctx, network_ids, port_ids))
        return bdm_images, boot_image_id, network_ids, port_ids, zone, force_host

    # Glance and the network service are asked side by side (they answer in
    # about the same time); the image's refusal is still the one reported
    # when both refuse, as when they were asked in turn.
    image, rest = await asyncio.gather(check_image(), check_the_rest(),
                                       return_exceptions=True)
    for outcome in (image, rest):
        if isinstance(outcome, BaseException):
            raise outcome
    bdm_images, boot_image_id, network_ids, port_ids, zone, force_host = rest
    # Nova's API checks the groups in Neutron before anything is made.
    group_ids = await security_groups_api.resolve_for_boot(h, ctx.project_id,
                                                           security_groups)

    if volume_backed and boot_image_id:
        # The boot volume's image (Cinder's volume_image_metadata, in Nova).
        image = bdm_images.get(boot_image_id) or await images.find_image(h, ctx, boot_image_id)
    image_snapshot = ({"id": image.id, "name": image.name,
                       "properties": dict(image.properties)} if image else {})
    specs = volumes.block_device_specs(bdms)
    # The project's lock covers the quota count and the rows it allows (which
    # count against the next request at once); the workflows start after it,
    # so one project's boots do not queue behind each other's Temporal call.
    written: list[Written] = []
    async with quotas.project_lock(ctx.project_id):
        def allowed() -> int:
            with h.db.reader() as s:
                return quotas.instances_allowed(s, ctx.project_id, flavor.vcpus,
                                                flavor.memory_mb, min_count, max_count,
                                                settings=h.settings)
        count = await asyncio.to_thread(allowed)
        reservation_id = f"r-{secrets.token_hex(4)}"
        for index in range(count):
            display = name if count == 1 else f"{name}-{index + 1}"
            inst = Instance(
                display_name=display, description=description, project_id=ctx.project_id,
                user_id=ctx.user_id, vm_state=VmState.BUILDING,
                task_state=TaskState.SCHEDULING, power_state=0, availability_zone=zone,
                pinned_availability_zone=zone,
                flavor=flavor_snapshot(flavor),
                image_ref="" if volume_backed else image.id, image=image_snapshot,
                key_name=key_name, metadata_=metadata,
                requested_networks=[{"uuid": n} for n in network_ids]
                + [{"port": p} for p in port_ids],
                user_data=user_data, hostname=_hostname(ctx, server, display, count),
                reservation_id=reservation_id, launch_index=index,
                access_ip_v4=server.get("accessIPv4"), access_ip_v6=server.get("accessIPv6"),
                security_group_ids=group_ids,
            )
            written.append(await compute.write_server(
                h, ctx, inst, network_ids, hints, force_host, block_devices=specs,
                port_ids=port_ids,
                bdm_rows=volumes.block_device_rows(inst.uuid, bdms),
                image=ImageInfo.of(image) if image and not volume_backed else None))
    created: list[Instance] = []
    for index, w in enumerate(written):
        try:
            await launch_operation(h, ctx, w)
        except BaseException:
            # Those not launched leave no rows (the failed one put its own back).
            for rest in written[index + 1:]:
                await abandon_operation(h, rest)
            raise
        created.append(w.row)
    if tags:
        def write_tags() -> None:
            with h.db.writer() as s:
                for inst in created:
                    set_tags(s, inst.uuid, tags)
        await asyncio.to_thread(write_tags)
    if want_reservation:
        return {"reservation_id": reservation_id}
    first = created[0]
    response.headers["Location"] = f"{ctx.api_url}/servers/{first.uuid}"
    return {"server": {
        "id": first.uuid,
        "links": views.links(ctx, "servers", first.uuid),
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": [{"name": g} for g in security_groups],
        "adminPass": server.get("adminPass") or secrets.token_urlsafe(9),
    }}


def _parse_time(value: str, name: str = "changes-since") -> datetime:
    try:
        ts = datetime.fromisoformat(value)
        return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    except ValueError:
        raise BadRequest(f"Invalid filter field: {name}. ({value})") from None


_TRUE = ("", "1", "t", "true", "on", "y", "yes")
_FALSE = ("0", "f", "false", "off", "n", "no")


def _all_tenants(q) -> bool:
    if "all_tenants" not in q:
        return False
    value = q["all_tenants"].lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadRequest(f"Invalid value '{q['all_tenants']}' for all_tenants: it must be a "
                     "boolean")


def _boolean(value: str) -> bool:
    """A strict boolean query value (oslo's ``bool_from_string(strict=True)``)."""
    if value.lower() in _TRUE[1:]:
        return True
    if value.lower() in _FALSE:
        return False
    raise BadRequest(f"Unrecognized value '{value}', acceptable values are: '0', '1', 'f', "
                     "'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'")


def _query(ctx: RequestContext, q, detail: bool):
    """The SQL part of a server list: scope, deletion, state, host, image."""
    stmt = select(Instance)
    if _all_tenants(q):
        which = "detail" if detail else "index"
        ctx.require_admin(f"os_compute_api:servers:{which}:get_all_tenants")
        project = q.get("project_id") or q.get("tenant_id")
        if project:
            stmt = stmt.where(Instance.project_id == project)
    else:
        # As in Nova, tenant_id/project_id only narrow an all_tenants listing.
        stmt = stmt.where(Instance.project_id == ctx.project_id)
    since = _parse_time(q["changes-since"]) if "changes-since" in q else None
    before = (_parse_time(q["changes-before"], "changes-before")
              if "changes-before" in q and ctx.version.at_least("2.66") else None)
    if since and before and since > before:
        raise BadRequest("The value of changes-since must be less than or equal to "
                         "changes-before.")
    if since or before:
        # A client syncing changes must also see what was deleted meanwhile.
        if since:
            stmt = stmt.where(Instance.updated_at >= since)
        if before:
            stmt = stmt.where(Instance.updated_at <= before)
    elif ctx.is_admin and q.get("deleted", "").lower() in _TRUE[1:]:
        stmt = stmt.where(Instance.deleted == True)  # noqa: E712
    else:
        stmt = stmt.where(Instance.deleted == False)  # noqa: E712
    statuses = q.getlist("status")
    if statuses:
        states = [vm for st in statuses for vm in vm_states_for_status(st)]
        stmt = stmt.where(Instance.vm_state.in_(states))
    if "host" in q and ctx.is_admin:  # members' host filter is ignored, as in Nova
        stmt = stmt.where(Instance.host == q["host"])
    if "image" in q:
        stmt = stmt.where(Instance.image_ref == q["image"].rstrip("/").split("/")[-1])
    if "locked" in q and ctx.version.at_least("2.73"):
        stmt = stmt.where(Instance.locked.is_(_boolean(q["locked"])))
    if "reservation_id" in q:
        stmt = stmt.where(Instance.reservation_id == q["reservation_id"])
    return stmt.order_by(Instance.created_at.desc(), Instance.id.desc())


def _regex(q, key: str):
    return compile_filter(key, q[key]) if key in q else None


def _ip_matches(inst: Instance, pattern, version: int) -> bool:
    return any(pattern.search(a.get("addr", "")) for addrs in (inst.addresses or {}).values()
               for a in addrs if a.get("version", 4) == version)


def _list(request: Request, ctx: RequestContext, h, detail: bool) -> tuple[dict, list]:
    """The list's body, and the rows a detailed list shows."""
    q = request.query_params
    stmt = _query(ctx, q, detail)
    order = server_sort.sort_params(ctx, q)  # Nova's sort keys and directions
    name_re, ip_re, ip6_re = _regex(q, "name"), _regex(q, "ip"), _regex(q, "ip6")
    flavor = q.get("flavor", "").rstrip("/").split("/")[-1] or None
    limit = views.limit_param(q, h.settings.api_max_limit)
    with h.db.reader() as s:
        rows = list(s.exec(stmt).all())
        marker = None
        if "marker" in q:
            # The marker need not pass the filters, only be a server the caller may see.
            marker = s.exec(select(Instance).where(Instance.uuid == q["marker"])).first()
            if marker is None or (marker.project_id != ctx.project_id and not ctx.is_admin):
                raise BadRequest(f"marker [{q['marker']}] not found")
        if name_re:
            rows = [r for r in rows if name_re.search(r.display_name)]
        rows = tag_filter(s, q, rows)
        if ip_re:
            rows = [r for r in rows if _ip_matches(r, ip_re, 4)]
        if ip6_re:
            rows = [r for r in rows if _ip_matches(r, ip6_re, 6)]
        if flavor:
            rows = [r for r in rows if (r.flavor or {}).get("flavorid") == flavor]
        rows = server_sort.sort_rows(rows, order)
        if marker is not None:
            rows = server_sort.after(rows, marker, order)
        more = len(rows) > limit
        rows = rows[:limit]
        attached = volumes.attached_volumes(s, [r.uuid for r in rows]) if detail else {}
        bodies = [views.server_detail(ctx, r, volumes=attached.get(r.uuid))
                  for r in rows] if detail else []
        show_tags(s, ctx, bodies)
    if detail:
        out: dict = {"servers": bodies}
    else:
        out = {"servers": [views.server_summary(ctx, r) for r in rows]}
    if more and rows:
        path = "servers/detail" if detail else "servers"
        params = [(k, v) for k, v in q.multi_items() if k != "marker"]
        params.append(("marker", rows[-1].uuid))
        out["servers_links"] = [{"rel": "next",
                                 "href": f"{ctx.api_url}/{path}?{urlencode(params)}"}]
    return out, (rows if detail else [])


# The database reads and the filtering of a long list run in FastAPI's thread
# pool, never on the event loop; the security groups of a detailed list are
# read from the network service afterwards, in one call for all its servers.
@router.get("")
async def list_servers(request: Request, ctx: Ctx, h: Handles,
                       _query: Annotated[ServerListQuery, Query()]) -> dict:
    return (await run_in_threadpool(_list, request, ctx, h, False))[0]


@router.get("/detail")
async def list_servers_detail(request: Request, ctx: Ctx, h: Handles,
                              _query: Annotated[ServerListQuery, Query()]) -> dict:
    out, rows = await run_in_threadpool(_list, request, ctx, h, True)
    security_groups_api.show_groups(out["servers"],
                                    security_groups_api.names_of_servers(rows))
    return out


async def _current_step(h, inst: Instance) -> str | None:
    if not inst.workflow_id or inst.task_state is None or h.temporal is None:
        return None
    try:
        return await h.temporal.get_workflow_handle(inst.workflow_id).query("current_step")
    except Exception:
        return None


@router.get("/{server_id}")
async def show_server(server_id: str, ctx: Ctx, h: Handles, response: Response) -> dict:
    tagged = ctx.version.at_least("2.26")  # tags are shown from 2.26 only

    def load() -> tuple[Instance, Any]:
        with h.db.reader() as s:
            inst = get_instance(s, ctx, server_id)
            return (inst, volumes.attached_volumes(s, [inst.uuid]).get(inst.uuid),
                    tags_of(s, [inst.uuid])[inst.uuid] if tagged else [])

    # In a thread: polled many times per boot, it would stall the event loop.
    inst, attached, tags = await asyncio.to_thread(load)
    step = await _current_step(h, inst) if ctx.is_admin else None
    response.headers.update(views.workflow_headers(ctx, inst.workflow_id,
                                                   h.settings.temporal_ui_url, step))
    body = views.server_detail(ctx, inst, volumes=attached, single=True)
    if tagged:
        body["tags"] = tags
    security_groups_api.show_groups(
        [body], security_groups_api.names_of_servers([inst]))
    return {"server": body}


@router.put("/{server_id}")
async def update_server(server_id: str, payload: ServerUpdateRequest, ctx: Ctx,
                        h: Handles, response: Response) -> dict:
    """Rename, describe (2.19+) or re-hostname (2.90+) a server, in any state."""
    check_versions(payload, ctx.version)
    server = payload.as_dict()["server"]
    no_extra_keys(server, {"name", "description", "hostname", "accessIPv4", "accessIPv6",
                           "OS-DCF:diskConfig"}, "server")
    _version_gated(ctx, server)
    name = _name(server, required=False)
    description = string(server, "description") if "description" in server else None
    with h.db.writer() as s:
        inst = get_instance(s, ctx, server_id)
        if name is not None:
            inst.display_name = name
        if "description" in server:
            inst.description = description
        if "hostname" in server:
            inst.hostname = _hostname(ctx, server, inst.display_name, 1)
        for key, column in (("accessIPv4", "access_ip_v4"), ("accessIPv6", "access_ip_v6")):
            if key in server:
                setattr(inst, column, server[key])
        inst.updated_at = utcnow()
        s.add(inst)
        attached = volumes.attached_volumes(s, [inst.uuid]).get(inst.uuid)
        body = views.server_detail(ctx, inst, volumes=attached, single=True)
        show_tags(s, ctx, [body])
    response.headers.update(views.workflow_headers(ctx, inst.workflow_id,
                                                   h.settings.temporal_ui_url))
    if ctx.version.at_least("2.75"):  # before, the answer leaves the groups out
        security_groups_api.show_groups(
            [body], security_groups_api.names_of_servers([inst]))
    return {"server": views.server_partial(ctx, body)}


@router.delete("/{server_id}", status_code=204)
async def delete_server(server_id: str, ctx: Ctx, h: Handles) -> Response:
    with h.db.reader() as s:
        inst = get_instance(s, ctx, server_id)
    if not await soft_delete.soft_delete(h, ctx, inst):
        await compute.delete_server(h, ctx, inst)
    return Response(status_code=204)
