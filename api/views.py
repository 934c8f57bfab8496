"""How resources look in the Compute API: servers and flavors, per microversion."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from api.deps import RequestContext
from api.errors import BadRequest
from novaflow.states import api_status
from schema.models import Flavor, Instance


def isotime(ts: datetime | None) -> str | None:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ") if ts else None


def links(ctx: RequestContext, collection: str, item_id: str) -> list[dict]:
    return [
        {"rel": "self", "href": f"{ctx.api_url}/{collection}/{item_id}"},
        {"rel": "bookmark", "href": f"{ctx.base_url}/{collection}/{item_id}"},
    ]


def host_id(project_id: str, host: str | None) -> str:
    """Nova's opaque per-project host id."""
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


def _addresses(inst: Instance) -> dict:
    out: dict[str, list[dict]] = {}
    for net, addrs in (inst.addresses or {}).items():
        out[net] = [{"version": a.get("version", 4), "addr": a["addr"],
                     "OS-EXT-IPS:type": a.get("type", "fixed"),
                     "OS-EXT-IPS-MAC:mac_addr": a.get("mac")} for a in addrs]
    return out


def _flavor(ctx: RequestContext, inst: Instance) -> dict:
    f = inst.flavor or {}
    if ctx.version.at_least("2.47"):
        return {"vcpus": f.get("vcpus"), "ram": f.get("memory_mb"), "disk": f.get("root_gb"),
                "ephemeral": f.get("ephemeral_gb", 0), "swap": f.get("swap", 0),
                "original_name": f.get("name"), "extra_specs": f.get("extra_specs", {})}
    fid = f.get("flavorid", "")
    return {"id": fid, "links": [{"rel": "bookmark", "href": f"{ctx.base_url}/flavors/{fid}"}]}


# What Nova's update and rebuild answers leave out before 2.75 (its view
# builder's show_* flags off): from 2.75 they show all that GET shows.
_NOT_IN_PARTIAL = ("OS-EXT-AZ:", "OS-EXT-STS:", "OS-EXT-SRV-ATTR:", "OS-SRV-USG:")
_NOT_IN_PARTIAL_KEYS = {"config_drive", "key_name", "security_groups",
                        "os-extended-volumes:volumes_attached", "host_status"}


def server_partial(ctx: RequestContext, body: dict) -> dict:
    """``server_detail`` cut to what Nova's PUT /servers/{id} and rebuild answer
    at the request's microversion."""
    if ctx.version.at_least("2.75"):
        return body
    out = {k: v for k, v in body.items()
           if k not in _NOT_IN_PARTIAL_KEYS and not k.startswith(_NOT_IN_PARTIAL)}
    out["addresses"] = {net: [{"version": a["version"], "addr": a["addr"]} for a in addrs]
                        for net, addrs in body.get("addresses", {}).items()}
    return out


def server_summary(ctx: RequestContext, inst: Instance) -> dict:
    return {"id": inst.uuid, "name": inst.display_name, "links": links(ctx, "servers", inst.uuid)}


def server_detail(ctx: RequestContext, inst: Instance, volumes: list[dict] | None = None,
                  single: bool = False) -> dict:
    """A server in full; ``volumes`` are its attachments ({id, delete_on_termination}),
    ``single`` marks a show or update (2.71 adds the server groups there only).

    Only Nova's keys: novaflow's own (the workflow) go in headers, see
    ``workflow_headers``.  ``security_groups`` are the network service's
    (api/security_groups.py ``show_groups`` adds them)."""
    status = api_status(inst.vm_state, inst.task_state)
    body = {
        "id": inst.uuid,
        "name": inst.display_name,
        "status": status,
        "tenant_id": inst.project_id,
        "user_id": inst.user_id,
        "metadata": dict(inst.metadata_ or {}),
        "hostId": host_id(inst.project_id, inst.host),
        "image": ({"id": inst.image_ref, "links": [
            {"rel": "bookmark", "href": f"{ctx.base_url}/images/{inst.image_ref}"}]}
            if inst.image_ref else ""),
        "flavor": _flavor(ctx, inst),
        "created": isotime(inst.created_at),
        "updated": isotime(inst.updated_at),
        "addresses": _addresses(inst),
        "accessIPv4": inst.access_ip_v4 or "",
        "accessIPv6": inst.access_ip_v6 or "",
        "links": links(ctx, "servers", inst.uuid),
        "OS-DCF:diskConfig": "MANUAL",
        "progress": 100 if status == "ACTIVE" else 0,
        "OS-EXT-AZ:availability_zone": inst.availability_zone or "",
        "config_drive": "",
        "key_name": inst.key_name,
        "OS-SRV-USG:launched_at": isotime(inst.launched_at),
        "OS-SRV-USG:terminated_at": isotime(inst.terminated_at),
        "OS-EXT-STS:task_state": inst.task_state,
        "OS-EXT-STS:vm_state": inst.vm_state,
        "OS-EXT-STS:power_state": inst.power_state,
        "os-extended-volumes:volumes_attached": [
            v if ctx.version.at_least("2.3") else {"id": v["id"]} for v in volumes or []],
    }
    if ctx.version.at_least("2.9"):
        body["locked"] = bool(inst.locked)
    if ctx.version.at_least("2.19"):
        body["description"] = inst.description
    if ctx.version.at_least("2.26"):
        body["tags"] = []
    if ctx.version.at_least("2.63"):
        body["trusted_image_certificates"] = None
    if ctx.version.at_least("2.71") and single:
        body["server_groups"] = [inst.server_group_uuid] if inst.server_group_uuid else []
    if ctx.version.at_least("2.73"):
        body["locked_reason"] = inst.locked_reason if inst.locked else None
    if ctx.version.at_least("2.90"):
        body["OS-EXT-SRV-ATTR:hostname"] = inst.hostname or inst.display_name
    if ctx.version.at_least("2.96"):
        body["pinned_availability_zone"] = inst.pinned_availability_zone
    if inst.fault and status in ("ERROR", "DELETED"):
        fault = {"code": inst.fault.get("code", 500), "created": inst.fault.get("created"),
                 "message": inst.fault.get("message", "")}
        if ctx.is_admin and inst.fault.get("details"):
            fault["details"] = inst.fault["details"]
        body["fault"] = fault
    if ctx.is_admin:
        body.update({
            "OS-EXT-SRV-ATTR:host": inst.host,
            "OS-EXT-SRV-ATTR:hypervisor_hostname": inst.node,
            "OS-EXT-SRV-ATTR:instance_name": f"instance-{inst.uuid}",
        })
        if ctx.version.at_least("2.3"):
            body.update({
                "OS-EXT-SRV-ATTR:hostname": inst.hostname or inst.display_name,
                "OS-EXT-SRV-ATTR:reservation_id": inst.reservation_id or "",
                "OS-EXT-SRV-ATTR:launch_index": inst.launch_index,
                "OS-EXT-SRV-ATTR:kernel_id": "",
                "OS-EXT-SRV-ATTR:ramdisk_id": "",
                "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
                "OS-EXT-SRV-ATTR:user_data": inst.user_data,
            })
    return body


# novaflow's additions travel in response headers, where strict clients that
# validate bodies against Nova's schemas do not look.
WORKFLOW_HEADER = "Novaflow-Workflow"
WORKFLOW_URL_HEADER = "Novaflow-Workflow-Url"
CURRENT_STEP_HEADER = "Novaflow-Current-Step"


def workflow_headers(ctx: RequestContext, workflow_id: str | None, ui_url: str | None = None,
                     current_step: str | None = None) -> dict[str, str]:
    """Where to watch a server's (or an action's) operation, for admins."""
    if not ctx.is_admin or not workflow_id:
        return {}
    out = {WORKFLOW_HEADER: workflow_id}
    if ui_url:
        out[WORKFLOW_URL_HEADER] = f"{ui_url}/namespaces/default/workflows/{workflow_id}"
    if current_step is not None:
        out[CURRENT_STEP_HEADER] = current_step
    # Header values are ASCII on one line: escape anything else (names in steps).
    return {k: " ".join(v.encode("ascii", "backslashreplace").decode().split())
            for k, v in out.items()}


def flavor_summary(ctx: RequestContext, f: Flavor) -> dict:
    body = {"id": f.flavorid, "name": f.name, "links": links(ctx, "flavors", f.flavorid)}
    if ctx.version.at_least("2.55"):
        body["description"] = f.description
    return body


def flavor_detail(ctx: RequestContext, f: Flavor) -> dict:
    body = {
        "id": f.flavorid,
        "name": f.name,
        "ram": f.memory_mb,
        "disk": f.root_gb,
        "vcpus": f.vcpus,
        "OS-FLV-EXT-DATA:ephemeral": f.ephemeral_gb,
        "OS-FLV-DISABLED:disabled": f.disabled,
        "swap": f.swap if (f.swap or ctx.version.at_least("2.75")) else "",
        "rxtx_factor": f.rxtx_factor,
        "os-flavor-access:is_public": f.is_public,
        "links": links(ctx, "flavors", f.flavorid),
    }
    if ctx.version.at_least("2.55"):
        body["description"] = f.description
    if ctx.version.at_least("2.61"):
        body["extra_specs"] = dict(f.extra_specs or {})
    return body


def limit_param(query: Any, max_limit: int) -> int:
    """``?limit=``: Nova's checks, capped at the configured max_limit."""
    raw = query.get("limit")
    if raw is None:
        return max_limit
    try:
        limit = int(raw)
    except ValueError:
        raise BadRequest("limit param must be an integer") from None
    if limit < 0:
        raise BadRequest("limit param must be positive")
    return min(limit, max_limit)


def page(ctx: RequestContext, request: Any, rows: list, key: Callable[[Any], str],
         collection: str, max_limit: int) -> tuple[list, list[dict] | None]:
    """One page of ``rows`` (already sorted) after ``?marker=``, and its "next" link.

    The marker is the key of the last item the client saw; the link is only
    given when more items follow, so clients that follow links stop.
    """
    q = request.query_params
    limit = limit_param(q, max_limit)
    marker = q.get("marker")
    if marker is not None:
        keys = [key(r) for r in rows]
        if marker not in keys:
            raise BadRequest(f"marker [{marker}] not found")
        rows = rows[keys.index(marker) + 1:]
    more = len(rows) > limit
    rows = rows[:limit]
    if not (more and rows):
        return rows, None
    params = [(k, v) for k, v in q.multi_items() if k != "marker"]
    params.append(("marker", key(rows[-1])))
    href = f"{ctx.api_url}/{collection}?{urlencode(params)}"
    return rows, [{"rel": "next", "href": href}]
