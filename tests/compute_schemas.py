"""Nova's published response schemas, applied to every compute response the
API tests receive.

The schemas are tempest's (``tempest.lib.api_schema.response.compute``, the
ones OpenStack's own conformance suite holds Nova to, one module per
microversion).  ``ROUTES`` maps each compute route to the schema tempest's
service client validates it with, and picks the module for the response's
microversion with the same ``schema_versions_info`` tables the clients use.
``check`` runs as an httpx response hook on the test clients (``identity.client``
and ``conftest.client_for``): a successful compute response on a route that is
in neither ``ROUTES`` nor ``UNCHECKED`` fails the test, so a new route cannot
escape it.  Error bodies are checked against Nova's fault format.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import httpx
from tempest.lib.api_schema.response.compute.v2_1 import (
    availability_zone,
    baremetal_nodes,
    extensions,
    flavors_access,
    flavors_extra_specs,
    floating_ips,
    hosts,
    instance_usage_audit_logs,
    security_groups,
    snapshots,
    tenant_networks,
    tenant_usages,
    versions,
    volumes,
)
from tempest.lib.api_schema.response.compute.v2_1 import (
    server_external_events as external_events,
)
from tempest.lib.api_schema.response.volume import snapshots as volume_snapshots
from tempest.lib.common.jsonschema_validator import FORMAT_CHECKER, JSONSCHEMA_VALIDATOR
from tempest.lib.services.compute import (
    aggregates_client,
    flavors_client,
    hypervisor_client,
    images_client,
    interfaces_client,
    keypairs_client,
    limits_client,
    migrations_client,
    quota_classes_client,
    quotas_client,
    server_groups_client,
    servers_client,
    services_client,
)
from tempest.lib.services.volume.v3 import volumes_client

# Switched on by tests/api/conftest.py for the API tests.
ENFORCED = False

Source = type | ModuleType  # a tempest client class (versioned) or a schema module


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    source: Source | None  # None: no published schema (see reason)
    name: str = ""
    reason: str = ""

    @property
    def pattern(self) -> re.Pattern:
        return _compile(self.template)


def _compile(template: str) -> re.Pattern:
    parts = re.split(r"(\{[^}]+\})", template)
    regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"{regex}/?")


S = servers_client.ServersClient
F = flavors_client.FlavorsClient
H = hypervisor_client.HypervisorClient
IMG = images_client.ImagesClient

# Literal routes before templated ones: the first match wins.
ROUTES: list[Route] = [
    Route("GET", "", versions, "get_one_version"),
    Route("GET", "/versions/{id}", versions, "get_one_version"),
    # servers
    Route("GET", "/servers", S, "list_servers"),
    Route("GET", "/servers/detail", S, "list_servers_detail"),
    Route("POST", "/servers", S, "create_server"),
    Route("GET", "/servers/{id}", S, "get_server"),
    Route("PUT", "/servers/{id}", S, "update_server"),
    Route("DELETE", "/servers/{id}", S, "delete_server"),
    Route("POST", "/servers/{id}/action", S, "<action>"),
    Route("GET", "/servers/{id}/ips", S, "list_addresses"),
    Route("GET", "/servers/{id}/ips/{net}", S, "list_addresses_by_network"),
    Route("GET", "/servers/{id}/metadata", S, "list_server_metadata"),
    Route("PUT", "/servers/{id}/metadata", S, "set_server_metadata"),
    Route("POST", "/servers/{id}/metadata", S, "update_server_metadata"),
    Route("GET", "/servers/{id}/metadata/{key}", S, "set_show_server_metadata_item"),
    Route("PUT", "/servers/{id}/metadata/{key}", S, "set_show_server_metadata_item"),
    Route("DELETE", "/servers/{id}/metadata/{key}", S, "delete_server_metadata_item"),
    Route("GET", "/servers/{id}/os-instance-actions", S, "list_instance_actions"),
    Route("GET", "/servers/{id}/os-instance-actions/{req}", S, "show_instance_action"),
    Route("GET", "/servers/{id}/migrations", S, "list_live_migrations"),
    Route("POST", "/servers/{id}/migrations/{mig}/action", S, "server_actions_common_schema"),
    Route("GET", "/servers/{id}/os-volume_attachments", S, "list_volume_attachments"),
    Route("POST", "/servers/{id}/os-volume_attachments", S, "attach_volume"),
    Route("GET", "/servers/{id}/os-volume_attachments/{vol}", S, "show_volume_attachment"),
    Route("PUT", "/servers/{id}/os-volume_attachments/{vol}", S, "update_attached_volume"),
    Route("DELETE", "/servers/{id}/os-volume_attachments/{vol}", S, "detach_volume"),
    Route("GET", "/servers/{id}/os-interface", interfaces_client.InterfacesClient,
          "list_interfaces"),
    Route("POST", "/servers/{id}/os-interface", interfaces_client.InterfacesClient,
          "get_create_interfaces"),
    Route("GET", "/servers/{id}/os-interface/{port}", interfaces_client.InterfacesClient,
          "get_create_interfaces"),
    Route("DELETE", "/servers/{id}/os-interface/{port}", interfaces_client.InterfacesClient,
          "delete_interface"),
    Route("GET", "/servers/{id}/os-server-password", S, "show_password"),
    Route("DELETE", "/servers/{id}/os-server-password", S, "server_actions_delete_password"),
    Route("POST", "/servers/{id}/remote-consoles", S, "get_remote_consoles"),
    Route("GET", "/servers/{id}/diagnostics", S, "show_server_diagnostics"),
    Route("GET", "/servers/{id}/os-security-groups", security_groups, "list_security_groups"),
    Route("GET", "/servers/{id}/tags", S, "list_tags"),
    Route("PUT", "/servers/{id}/tags", S, "update_all_tags"),
    Route("DELETE", "/servers/{id}/tags", S, "delete_all_tags"),
    Route("GET", "/servers/{id}/tags/{tag}", S, "check_tag_existence"),
    Route("PUT", "/servers/{id}/tags/{tag}", S, "update_tag"),
    Route("DELETE", "/servers/{id}/tags/{tag}", S, "delete_tag"),
    # flavors
    Route("GET", "/flavors", F, "list_flavors"),
    Route("GET", "/flavors/detail", F, "list_flavors_details"),
    Route("POST", "/flavors", F, "create_update_get_flavor_details"),
    Route("GET", "/flavors/{id}", F, "create_update_get_flavor_details"),
    Route("PUT", "/flavors/{id}", F, "create_update_get_flavor_details"),
    Route("DELETE", "/flavors/{id}", F, "delete_flavor"),
    Route("POST", "/flavors/{id}/action", flavors_access, "add_remove_list_flavor_access"),
    Route("GET", "/flavors/{id}/os-flavor-access", flavors_access,
          "add_remove_list_flavor_access"),
    Route("GET", "/flavors/{id}/os-extra_specs", flavors_extra_specs,
          "set_get_flavor_extra_specs"),
    Route("POST", "/flavors/{id}/os-extra_specs", flavors_extra_specs,
          "set_get_flavor_extra_specs"),
    Route("GET", "/flavors/{id}/os-extra_specs/{key}", flavors_extra_specs,
          "set_get_flavor_extra_specs_key"),
    Route("PUT", "/flavors/{id}/os-extra_specs/{key}", flavors_extra_specs,
          "set_get_flavor_extra_specs_key"),
    Route("DELETE", "/flavors/{id}/os-extra_specs/{key}", flavors_extra_specs,
          "unset_flavor_extra_specs"),
    # admin and project resources
    Route("GET", "/os-services", services_client.ServicesClient, "list_services"),
    Route("PUT", "/os-services/enable", services_client.ServicesClient,
          "enable_disable_service"),
    Route("PUT", "/os-services/disable", services_client.ServicesClient,
          "enable_disable_service"),
    Route("PUT", "/os-services/disable-log-reason", services_client.ServicesClient,
          "disable_log_reason"),
    Route("PUT", "/os-services/force-down", services_client.ServicesClient,
          "update_forced_down"),
    Route("PUT", "/os-services/{id}", services_client.ServicesClient, "update_service"),
    Route("DELETE", "/os-services/{id}", None,
          reason="tempest publishes no schema for service delete (Nova: 204, no body)"),
    Route("GET", "/os-hypervisors", H, "list_search_hypervisors"),
    Route("GET", "/os-hypervisors/detail", H, "list_hypervisors_detail"),
    Route("GET", "/os-hypervisors/statistics", H, "get_hypervisor_statistics"),
    Route("GET", "/os-hypervisors/{id}/servers", H, "get_hypervisors_servers"),
    Route("GET", "/os-hypervisors/{id}/search", H, "list_search_hypervisors"),
    Route("GET", "/os-hypervisors/{id}/uptime", H, "get_hypervisor_uptime"),
    Route("GET", "/os-hypervisors/{id}", H, "get_hypervisor"),
    Route("GET", "/os-migrations", migrations_client.MigrationsClient, "list_migrations"),
    Route("GET", "/os-keypairs", keypairs_client.KeyPairsClient, "list_keypairs"),
    Route("POST", "/os-keypairs", keypairs_client.KeyPairsClient, "create_keypair"),
    Route("GET", "/os-keypairs/{name}", keypairs_client.KeyPairsClient, "get_keypair"),
    Route("DELETE", "/os-keypairs/{name}", keypairs_client.KeyPairsClient, "delete_keypair"),
    Route("GET", "/os-server-groups", server_groups_client.ServerGroupsClient,
          "list_server_groups"),
    Route("POST", "/os-server-groups", server_groups_client.ServerGroupsClient,
          "create_show_server_group"),
    Route("GET", "/os-server-groups/{id}", server_groups_client.ServerGroupsClient,
          "create_show_server_group"),
    Route("DELETE", "/os-server-groups/{id}", server_groups_client.ServerGroupsClient,
          "delete_server_group"),
    Route("GET", "/os-availability-zone", availability_zone, "list_availability_zone_list"),
    Route("GET", "/os-availability-zone/detail", availability_zone,
          "list_availability_zone_list_detail"),
    Route("GET", "/limits", limits_client.LimitsClient, "get_limit"),
    Route("GET", "/os-quota-sets/{id}/detail", quotas_client.QuotasClient,
          "get_quota_set_details"),
    Route("GET", "/os-quota-sets/{id}/defaults", quotas_client.QuotasClient, "get_quota_set"),
    Route("GET", "/os-quota-sets/{id}", quotas_client.QuotasClient, "get_quota_set"),
    Route("PUT", "/os-quota-sets/{id}", quotas_client.QuotasClient, "update_quota_set"),
    Route("DELETE", "/os-quota-sets/{id}", quotas_client.QuotasClient, "delete_quota"),
    Route("GET", "/os-aggregates", aggregates_client.AggregatesClient, "list_aggregates"),
    Route("POST", "/os-aggregates", aggregates_client.AggregatesClient, "create_aggregate"),
    Route("GET", "/os-aggregates/{id}", aggregates_client.AggregatesClient, "get_aggregate"),
    Route("PUT", "/os-aggregates/{id}", aggregates_client.AggregatesClient, "update_aggregate"),
    Route("DELETE", "/os-aggregates/{id}", aggregates_client.AggregatesClient,
          "delete_aggregate"),
    Route("POST", "/os-aggregates/{id}/action", aggregates_client.AggregatesClient,
          "<aggregate-action>"),
    Route("POST", "/os-aggregates/{id}/images", None,
          reason="tempest publishes no schema for the 2.81 image cache request (202, no body)"),
    Route("GET", "/os-baremetal-nodes", baremetal_nodes, "list_baremetal_nodes"),
    Route("GET", "/os-baremetal-nodes/{id}", baremetal_nodes, "get_baremetal_node"),
    Route("POST", "/os-baremetal-nodes", None,
          reason="Nova always answers 400 (use Ironic): no success to check"),
    Route("DELETE", "/os-baremetal-nodes/{id}", None,
          reason="Nova always answers 400 (use Ironic): no success to check"),
    Route("POST", "/os-baremetal-nodes/{id}/action", None,
          reason="Nova always answers 400 (use Ironic): no success to check"),
    Route("GET", "/os-console-auth-tokens/{token}", None,
          reason="tempest's only console_auth_tokens schema is 2.99's, above our 2.96"),
    Route("GET", "/servers/{id}/topology", None,
          reason="tempest publishes no schema for the 2.78 server topology"),
    Route("GET", "/os-quota-class-sets/{id}", quota_classes_client.QuotaClassesClient,
          "get_quota_class_set"),
    Route("PUT", "/os-quota-class-sets/{id}", quota_classes_client.QuotaClassesClient,
          "update_quota_class_set"),
    Route("GET", "/os-simple-tenant-usage", tenant_usages, "list_tenant_usage"),
    Route("GET", "/os-simple-tenant-usage/{id}", tenant_usages, "get_tenant_usage"),
    Route("GET", "/os-instance_usage_audit_log", instance_usage_audit_logs,
          "list_instance_usage_audit_log"),
    Route("GET", "/os-instance_usage_audit_log/{before}", instance_usage_audit_logs,
          "get_instance_usage_audit_log"),
    Route("POST", "/os-server-external-events", external_events, "create"),
    Route("GET", "/extensions", extensions, "list_extensions"),
    Route("GET", "/extensions/{alias}", None,
          reason="tempest publishes no schema for one extension"),
    # the proxy APIs Nova keeps below their removal microversion
    Route("GET", "/images", IMG, "list_images"),
    Route("GET", "/images/detail", IMG, "list_images_details"),
    Route("GET", "/images/{id}", IMG, "get_image"),
    Route("DELETE", "/images/{id}", IMG, "delete"),
    Route("GET", "/images/{id}/metadata", IMG, "image_metadata"),
    Route("PUT", "/images/{id}/metadata", IMG, "image_metadata"),
    Route("POST", "/images/{id}/metadata", IMG, "image_metadata"),
    Route("GET", "/images/{id}/metadata/{key}", IMG, "image_meta_item"),
    Route("PUT", "/images/{id}/metadata/{key}", IMG, "image_meta_item"),
    Route("DELETE", "/images/{id}/metadata/{key}", IMG, "delete"),
    Route("GET", "/os-volumes", volumes, "list_volumes"),
    Route("GET", "/os-volumes/detail", volumes, "list_volumes"),
    Route("POST", "/os-volumes", volumes, "create_get_volume"),
    Route("GET", "/os-volumes/{id}", volumes, "create_get_volume"),
    Route("DELETE", "/os-volumes/{id}", volumes, "delete_volume"),
    Route("GET", "/os-snapshots", snapshots, "list_snapshots"),
    Route("GET", "/os-snapshots/detail", snapshots, "list_snapshots"),
    Route("POST", "/os-snapshots", snapshots, "create_get_snapshot"),
    Route("GET", "/os-snapshots/{id}", snapshots, "create_get_snapshot"),
    Route("DELETE", "/os-snapshots/{id}", snapshots, "delete_snapshot"),
    # os-volumes_boot: Nova's alias of /servers, the same controller
    Route("GET", "/os-volumes_boot", S, "list_servers"),
    Route("GET", "/os-volumes_boot/detail", S, "list_servers_detail"),
    Route("POST", "/os-volumes_boot", S, "create_server"),
    Route("GET", "/os-volumes_boot/{id}", S, "get_server"),
    Route("PUT", "/os-volumes_boot/{id}", S, "update_server"),
    Route("DELETE", "/os-volumes_boot/{id}", S, "delete_server"),
    Route("POST", "/os-volumes_boot/{id}/action", S, "<action>"),
    Route("GET", "/os-security-groups", security_groups, "list_security_groups"),
    Route("POST", "/os-security-groups", security_groups, "get_security_group"),
    Route("GET", "/os-security-groups/{id}", security_groups, "get_security_group"),
    Route("PUT", "/os-security-groups/{id}", security_groups, "update_security_group"),
    Route("DELETE", "/os-security-groups/{id}", security_groups, "delete_security_group"),
    Route("POST", "/os-security-group-rules", security_groups, "create_security_group_rule"),
    Route("DELETE", "/os-security-group-rules/{id}", security_groups,
          "delete_security_group_rule"),
    Route("GET", "/os-tenant-networks", tenant_networks, "list_tenant_networks"),
    Route("GET", "/os-tenant-networks/{id}", tenant_networks, "get_tenant_network"),
    Route("GET", "/os-networks", None,
          reason="tempest's NetworksClient validates no schema for os-networks"),
    Route("GET", "/os-networks/{id}", None,
          reason="tempest's NetworksClient validates no schema for os-networks"),
    Route("GET", "/os-floating-ips", floating_ips, "list_floating_ips"),
    Route("POST", "/os-floating-ips", floating_ips, "create_get_floating_ip"),
    Route("GET", "/os-floating-ips/{id}", floating_ips, "create_get_floating_ip"),
    Route("DELETE", "/os-floating-ips/{id}", floating_ips, "add_remove_floating_ip"),
    Route("GET", "/os-floating-ip-pools", None,
          reason="tempest publishes no schema for os-floating-ip-pools"),
    Route("GET", "/os-hosts", hosts, "list_hosts"),
    Route("GET", "/os-hosts/{name}/startup", hosts, "startup_host"),
    Route("GET", "/os-hosts/{name}/shutdown", hosts, "shutdown_host"),
    Route("GET", "/os-hosts/{name}/reboot", hosts, "reboot_host"),
    Route("GET", "/os-hosts/{name}", hosts, "get_host_detail"),
    Route("PUT", "/os-hosts/{name}", hosts, "update_host"),
]

# The Cinder stand-in (/volume/v3/{project}), against Cinder's published
# schemas (tempest's volume client; no microversion is negotiated: 3.0).
V = volumes_client.VolumesClient
VOLUME_ROUTES: list[Route] = [
    Route("GET", "/volumes", V, "list_volumes_no_detail"),
    Route("GET", "/volumes/detail", V, "list_volumes_with_detail"),
    Route("POST", "/volumes", V, "create_volume"),
    Route("GET", "/volumes/{id}", V, "show_volume"),
    Route("DELETE", "/volumes/{id}", V, "delete_volume"),
    Route("GET", "/snapshots", volume_snapshots, "list_snapshots_no_detail"),
    Route("GET", "/snapshots/detail", volume_snapshots, "list_snapshots_with_detail"),
    Route("POST", "/snapshots", volume_snapshots, "create_snapshot"),
    Route("GET", "/snapshots/{id}", volume_snapshots, "show_snapshot"),
    Route("DELETE", "/snapshots/{id}", volume_snapshots, "delete_snapshot"),
]
_VOLUME_ROUTES = [(r.method, r.pattern, r) for r in VOLUME_ROUTES]
_VOLUME_PREFIX = re.compile(r"/volume/v3/[^/]+(/(?:volumes|snapshots).*)")

# Server actions whose answer has a body (or a status other than 202).
ACTION_SCHEMAS = {
    "createBackup": "create_backup",
    "confirmResize": "server_actions_confirm_resize",
    "os-getConsoleOutput": "get_console_output",
    "os-getVNCConsole": "get_vnc_console",
    "os-getSerialConsole": "get_vnc_console",  # the same {"console": {type, url}} shape
}
# Actions answering adminPass when the request or the config asks for one.
WITH_ADMIN_PASS = {"rebuild": "rebuild_server", "rescue": "rescue_server",
                   "evacuate": "evacuate_server"}
AGGREGATE_ACTIONS = {"add_host": "aggregate_add_remove_host",
                     "remove_host": "aggregate_add_remove_host",
                     "set_metadata": "aggregate_set_metadata"}

_ROUTES = [(r.method, r.pattern, r) for r in ROUTES]
_VALIDATORS: dict[int, Any] = {}


class SchemaViolation(AssertionError):
    """A compute response Nova's published schema does not allow."""


def route_for(method: str, path: str) -> Route | None:
    for m, pattern, r in _ROUTES:
        if m == method and pattern.fullmatch(path):
            return r
    return None


def _version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def schema_module(source: Source, version: tuple[int, int]) -> ModuleType:
    """The module of ``source``'s schemas for ``version`` (tempest's get_schema)."""
    if isinstance(source, ModuleType):
        return source
    for item in source.schema_versions_info:
        low = _version(item["min"]) if item["min"] else (0, 0)
        high = _version(item["max"]) if item["max"] else (99, 999)
        if low <= version <= high:
            return item["schema"]
    raise SchemaViolation(f"{source.__name__} has no schema for microversion {version}")


def _schema_named(source: Source, version: tuple[int, int], name: str) -> dict:
    """As tempest's clients do: the versioned module's schema, else the base
    (2.1) module's for calls whose schema never changed."""
    found = getattr(schema_module(source, version), name, None)
    if found is None and not isinstance(source, ModuleType):
        found = getattr(source.schema_versions_info[0]["schema"], name, None)
    if found is None:
        raise SchemaViolation(f"tempest has no schema {name} for microversion {version}")
    return found


def schema_for(route: Route, version: tuple[int, int], request_body: Any,
               body: Any) -> dict:
    name = route.name
    if name == "<action>":
        action = next(iter(request_body)) if isinstance(request_body, dict) else ""
        if action == "createImage":
            return _schema_named(IMG, version, "create_image")
        if action in WITH_ADMIN_PASS:
            name = WITH_ADMIN_PASS[action]
            if isinstance(body, dict) and ("adminPass" in body or
                                           "adminPass" in (body.get("server") or {})):
                name += "_with_admin_pass"
        else:
            name = ACTION_SCHEMAS.get(action, "server_actions_common_schema")
    elif name == "<aggregate-action>":
        action = next(iter(request_body)) if isinstance(request_body, dict) else ""
        name = AGGREGATE_ACTIONS.get(action, "aggregate_add_remove_host")
    elif route.method == "POST" and name == "create_server" and isinstance(body, dict) \
            and "adminPass" in body.get("server", {}):
        name = "create_server_with_admin_pass"
    return _schema_named(route.source, version, name)


def _validator(schema: dict):
    v = _VALIDATORS.get(id(schema))
    if v is None:
        v = _VALIDATORS[id(schema)] = JSONSCHEMA_VALIDATOR(schema, format_checker=FORMAT_CHECKER)
    return v


def _first_error(schema: dict, instance: Any) -> str | None:
    import jsonschema

    err = jsonschema.exceptions.best_match(_validator(schema).iter_errors(instance))
    if err is None:
        return None
    where = "/".join(str(p) for p in err.absolute_path) or "<root>"
    return f"at {where}: {err.message}"


# Nova's fault names (nova/api/openstack/wsgi.py Fault._fault_names); any
# other status is a "computeFault".
ERROR_KEYS = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
              405: "badMethod", 409: "conflictingRequest", 413: "overLimit",
              415: "badMediaType", 429: "overLimit", 501: "notImplemented",
              503: "serviceUnavailable"}

# POST /servers with return_reservation_id (multiple create): Nova answers the
# reservation id only; tempest's ServersClient never asks, so has no schema.
RESERVATION_ID = {"status_code": [202], "response_body": {
    "type": "object", "properties": {"reservation_id": {"type": "string"}},
    "required": ["reservation_id"], "additionalProperties": False}}


def validate(method: str, path: str, status: int, headers: httpx.Headers, request_body: Any,
             body: Any) -> None:
    """Raise ``SchemaViolation`` unless the response fits Nova's published schema.

    ``path`` is relative to ``/v2.1``; ``headers`` are the response's."""
    what = f"{method} /v2.1{path} -> {status}"
    if status >= 400:
        key = ERROR_KEYS.get(status, "computeFault")
        if isinstance(body, dict) and list(body) == [key] \
                and body[key].get("code") == status and isinstance(body[key].get("message"), str):
            return
        if status in (401,) or body in ("", None):
            return  # Keystone-style 401 and empty error bodies (HEAD) are not Nova's to shape
        raise SchemaViolation(f"{what}: not Nova's fault body: {body!r:.300}")
    route = route_for(method, path)
    if route is None:
        raise SchemaViolation(f"{what}: no published schema mapped for this route; add it "
                              "to tests/compute_schemas.py ROUTES (or with a reason)")
    if route.source is None:
        return
    if route.name == "get_tenant_usage" and body == {"tenant_usage": {}}:
        return  # Nova's show for a project without usage (``usage[0] if usage else {}``)
    served = headers.get("openstack-api-version", "compute 2.1").split()[-1]
    if route.name == "create_server" and isinstance(request_body, dict) and \
            "return_reservation_id" in (request_body.get("server") or {}):
        schema = RESERVATION_ID if "reservation_id" in body else \
            schema_for(route, _version(served), request_body, body)
    else:
        schema = schema_for(route, _version(served), request_body, body)
    codes = list(schema["status_code"])
    if route.template == "/os-server-external-events":
        codes.append(207)  # Nova's answer when some events failed; tempest only sends good ones
    if status not in codes:
        raise SchemaViolation(f"{what} at {served}: Nova answers {codes}")
    body_schema = schema.get("response_body")
    if body_schema:
        error = _first_error(body_schema, body)
        if error:
            raise SchemaViolation(f"{what} at {served}: body {error}")
    elif body not in ("", None, b""):
        raise SchemaViolation(f"{what} at {served}: Nova sends no body here: {body!r:.200}")
    header_schema = schema.get("response_header")
    if header_schema:
        error = _first_error(header_schema, {k.lower(): v for k, v in headers.items()})
        if error:
            raise SchemaViolation(f"{what} at {served}: header {error}")


def _json(content: bytes) -> Any:
    if not content:
        return ""
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return content.decode(errors="replace")


def _request_body(request: httpx.Request) -> Any:
    """The request's JSON (action names are in it); None for a streamed body."""
    try:
        content = request.content
    except httpx.RequestNotRead:
        return None
    return _json(content) if len(content) < 1_000_000 else None


def check(response: httpx.Response) -> None:
    """httpx response hook: validate a compute response while ``ENFORCED``."""
    if not ENFORCED:
        return
    path = response.request.url.path
    method = response.request.method
    if method == "HEAD":
        return
    if path == "/" and method == "GET" and response.status_code in (200, 300):
        response.read()
        error = _first_error(versions.list_versions["response_body"], _json(response.content))
        if error:
            raise SchemaViolation(f"GET / (versions): body {error}")
        return
    volume = _VOLUME_PREFIX.fullmatch(path)
    if volume and 200 <= response.status_code < 300:
        response.read()
        _check_volume(method, volume.group(1), response)
        return
    legacy = path in ("/v2", "/v2/") or path.startswith("/v2/")
    if legacy and "x-compute-request-id" not in response.headers:
        return  # another service's /v2 (Glance's image API)
    if legacy:
        # The legacy endpoint: its version document, or the v2.1 API answering as 2.1.
        rest = "" if path in ("/v2", "/v2/") else path[len("/v2"):]
    elif path == "/v2.1" or path.startswith("/v2.1/"):
        rest = path[len("/v2.1"):]
    else:
        return
    response.read()
    validate(method, rest, response.status_code, response.headers,
             _request_body(response.request), _json(response.content))


def _check_volume(method: str, rest: str, response: httpx.Response) -> None:
    route = next((r for m, p, r in _VOLUME_ROUTES if m == method and p.fullmatch(rest)), None)
    if route is None:
        return  # the stand-in's other routes (limits, versions): no published schema
    schema = _schema_named(route.source, (3, 0), route.name)
    what = f"{method} /volume/v3/..{rest} -> {response.status_code}"
    if response.status_code not in schema["status_code"]:
        raise SchemaViolation(f"{what}: Cinder answers {schema['status_code']}")
    body_schema = schema.get("response_body")
    if body_schema:
        error = _first_error(body_schema, _json(response.content))
        if error:
            raise SchemaViolation(f"{what}: body {error}")


def hooks() -> dict[str, list]:
    """``event_hooks`` for an httpx client of the compute API."""
    return {"response": [check]}


__all__ = ["ROUTES", "SchemaViolation", "check", "hooks", "validate", "versions"]
