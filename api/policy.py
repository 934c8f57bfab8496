"""Nova's default policy, enforced through oslo.policy (the library Nova uses).

Rules keep Nova's names (``os_compute_api:...``) and its current defaults:
admin-only APIs, a project reader may read, a project member may act,
cross-project access is for admins.  Operators override any rule with a YAML
file (``--policy-file``, like Nova's ``policy.yaml``).

Each route's rule is in ``ROUTE_RULES`` (server actions by action name in
``ACTION_RULES``) and is enforced for every request once the token is
checked, with the caller's own project as target (or the project the path
names).  Routes add finer checks (``all_tenants``, a forced host, ...) with
``RequestContext.require_admin(rule)``.  A refusal is 403 naming the rule.
"""

from __future__ import annotations

import json
from pathlib import Path

from oslo_config import cfg
from oslo_policy import policy as oslo_policy
from starlette.requests import Request

from activities.types.identity import Identity
from api.errors import Forbidden
from api.removed_routes import REMOVED

ADMIN = "rule:context_is_admin"
READER = "rule:project_reader_or_admin"
MEMBER = "rule:project_member_or_admin"
ANY = "@"
OWNER = "rule:context_is_admin or user_id:%(user_id)s"

BASE_RULES = {
    "context_is_admin": "role:admin",
    "admin_api": "role:admin",
    "project_reader_api": "role:reader and project_id:%(project_id)s",
    "project_member_api": "role:member and project_id:%(project_id)s",
    "project_reader_or_admin": "rule:project_reader_api or rule:context_is_admin",
    "project_member_or_admin": "rule:project_member_api or rule:context_is_admin",
    "service_api": "role:service",
}

_C = "os_compute_api:"
COMPUTE_RULES = {
    f"{_C}servers:index": READER, f"{_C}servers:detail": READER,
    f"{_C}servers:show": READER, f"{_C}servers:create": MEMBER,
    f"{_C}servers:update": MEMBER, f"{_C}servers:delete": MEMBER,
    f"{_C}servers:index:get_all_tenants": ADMIN, f"{_C}servers:detail:get_all_tenants": ADMIN,
    f"{_C}servers:create:forced_host": ADMIN,
    f"{_C}servers:reboot": MEMBER, f"{_C}servers:start": MEMBER, f"{_C}servers:stop": MEMBER,
    f"{_C}servers:resize": MEMBER, f"{_C}servers:confirm_resize": MEMBER,
    f"{_C}servers:revert_resize": MEMBER,
    f"{_C}os-pause-server:pause": MEMBER, f"{_C}os-pause-server:unpause": MEMBER,
    f"{_C}os-suspend-server:suspend": MEMBER, f"{_C}os-suspend-server:resume": MEMBER,
    # Nova's defaults make moving a server an admin's (or project manager's)
    # call; novaflow lets members move their own when the scheduler picks.
    f"{_C}os-migrate-server:migrate": MEMBER, f"{_C}os-migrate-server:migrate_live": MEMBER,
    f"{_C}os-migrate-server:migrate:host": ADMIN,
    f"{_C}os-migrate-server:migrate_live:host": ADMIN,
    f"{_C}servers:migrations:index": ADMIN, f"{_C}servers:migrations:show": ADMIN,
    f"{_C}os-migrations:index": ADMIN,
    f"{_C}os-instance-actions:list": READER, f"{_C}os-instance-actions:show": READER,
    f"{_C}server-metadata:index": READER, f"{_C}server-metadata:show": READER,
    f"{_C}server-metadata:create": MEMBER, f"{_C}server-metadata:update": MEMBER,
    f"{_C}server-metadata:update_all": MEMBER, f"{_C}server-metadata:delete": MEMBER,
    f"{_C}os-flavor-manage:create": ADMIN, f"{_C}os-flavor-manage:update": ADMIN,
    f"{_C}os-flavor-manage:delete": ADMIN,
    f"{_C}os-flavor-extra-specs:index": READER, f"{_C}os-flavor-extra-specs:show": READER,
    f"{_C}os-flavor-extra-specs:create": ADMIN, f"{_C}os-flavor-extra-specs:update": ADMIN,
    f"{_C}os-flavor-extra-specs:delete": ADMIN,
    f"{_C}os-keypairs:index": OWNER, f"{_C}os-keypairs:show": OWNER,
    f"{_C}os-keypairs:create": OWNER, f"{_C}os-keypairs:delete": OWNER,
    f"{_C}os-server-groups:index": READER, f"{_C}os-server-groups:show": READER,
    f"{_C}os-server-groups:create": MEMBER, f"{_C}os-server-groups:delete": MEMBER,
    f"{_C}os-server-groups:index:all_projects": ADMIN,
    f"{_C}os-availability-zone:list": ANY, f"{_C}os-availability-zone:detail": ADMIN,
    f"{_C}limits": ANY, f"{_C}limits:other_project": ADMIN,
    f"{_C}os-quota-sets:show": READER, f"{_C}os-quota-sets:defaults": ANY,
    f"{_C}os-quota-sets:detail": READER,
    f"{_C}os-quota-sets:update": ADMIN, f"{_C}os-quota-sets:delete": ADMIN,
    f"{_C}os-services:list": ADMIN, f"{_C}os-services:update": ADMIN,
    f"{_C}os-services:delete": ADMIN,
    f"{_C}os-server-external-events:create": "rule:service_api or rule:context_is_admin",
    f"{_C}os-hypervisors:list": ADMIN, f"{_C}os-hypervisors:list-detail": ADMIN,
    f"{_C}os-hypervisors:statistics": ADMIN, f"{_C}os-hypervisors:show": ADMIN,
    # Day-2 operations (Nova's defaults).
    f"{_C}os-lock-server:lock": MEMBER, f"{_C}os-lock-server:unlock": MEMBER,
    f"{_C}os-lock-server:unlock:unlock_override": ADMIN,
    f"{_C}os-admin-actions:reset_state": ADMIN,
    f"{_C}servers:trigger_crash_dump": MEMBER, f"{_C}os-admin-password": MEMBER,
    f"{_C}servers:rebuild": MEMBER, f"{_C}servers:rebuild:trusted_certs": MEMBER,
    f"{_C}os-deferred-delete:restore": MEMBER, f"{_C}os-deferred-delete:force": MEMBER,
    f"{_C}servers:migrations:delete": ADMIN, f"{_C}servers:migrations:force_complete": ADMIN,
    f"{_C}os-console-output": MEMBER,
}
# Volume attach (Nova's defaults; a swap is for admins and the volume service).
_VA = f"{_C}os-volumes-attachments"
COMPUTE_RULES |= {
    f"{_VA}:index": READER, f"{_VA}:show": READER, f"{_VA}:create": MEMBER,
    f"{_VA}:update": MEMBER, f"{_VA}:swap": ADMIN, f"{_VA}:delete": MEMBER,
}
# Rescue (Nova's defaults).
COMPUTE_RULES |= {f"{_C}os-rescue": MEMBER, f"{_C}os-unrescue": MEMBER}
# Interface attach (Nova's defaults).
_AI = f"{_C}os-attach-interfaces"
COMPUTE_RULES |= {f"{_AI}:list": READER, f"{_AI}:show": READER, f"{_AI}:create": MEMBER,
                  f"{_AI}:delete": MEMBER}

# Remote consoles (Nova's defaults): a member opens their server's console;
# looking a console token up is the console proxies' (admin) business.
COMPUTE_RULES.update({
    f"{_C}os-remote-consoles": MEMBER,
    f"{_C}os-console-auth-tokens": ADMIN,
})
# Snapshot, shelve and evacuate (issue 14; Nova's defaults).
COMPUTE_RULES.update({
    f"{_C}servers:create_image": MEMBER,
    f"{_C}servers:create_image:allow_volume_backed": MEMBER,
    f"{_C}os-create-backup": MEMBER,
    f"{_C}os-shelve:shelve": MEMBER, f"{_C}os-shelve:shelve_offload": ADMIN,
    f"{_C}os-shelve:unshelve": MEMBER, f"{_C}os-shelve:unshelve_to_host": ADMIN,
    f"{_C}os-evacuate": ADMIN,
})

# The stand-in network and volume services: reader reads, member writes.
SERVICE_RULES = {f"{svc}:{kind}": (READER if kind == "read" else MEMBER)
                 for svc in ("network", "volume") for kind in ("read", "write")}

_S = "/v2.1/servers"
ROUTE_RULES: dict[tuple[str, str], str | None] = {
    ("GET", _S): f"{_C}servers:index", ("GET", f"{_S}/detail"): f"{_C}servers:detail",
    ("GET", f"{_S}/{{server_id}}"): f"{_C}servers:show",
    ("POST", _S): f"{_C}servers:create",
    ("PUT", f"{_S}/{{server_id}}"): f"{_C}servers:update",
    ("DELETE", f"{_S}/{{server_id}}"): f"{_C}servers:delete",
    ("POST", f"{_S}/{{server_id}}/action"): None,  # by action: ACTION_RULES
    ("GET", f"{_S}/{{server_id}}/migrations"): f"{_C}servers:migrations:index",
    ("GET", f"{_S}/{{server_id}}/migrations/{{migration_id}}"): f"{_C}servers:migrations:show",
    ("GET", "/v2.1/os-migrations"): f"{_C}os-migrations:index",
    ("DELETE", f"{_S}/{{server_id}}/migrations/{{migration_id}}"):
        f"{_C}servers:migrations:delete",
    ("POST", f"{_S}/{{server_id}}/migrations/{{migration_id}}/action"):
        f"{_C}servers:migrations:force_complete",
    ("GET", f"{_S}/{{server_id}}/os-instance-actions"): f"{_C}os-instance-actions:list",
    ("GET", f"{_S}/{{server_id}}/os-instance-actions/{{request_id}}"):
        f"{_C}os-instance-actions:show",
    ("GET", f"{_S}/{{server_id}}/metadata"): f"{_C}server-metadata:index",
    ("POST", f"{_S}/{{server_id}}/metadata"): f"{_C}server-metadata:create",
    ("PUT", f"{_S}/{{server_id}}/metadata"): f"{_C}server-metadata:update_all",
    ("GET", f"{_S}/{{server_id}}/metadata/{{key}}"): f"{_C}server-metadata:show",
    ("PUT", f"{_S}/{{server_id}}/metadata/{{key}}"): f"{_C}server-metadata:update",
    ("DELETE", f"{_S}/{{server_id}}/metadata/{{key}}"): f"{_C}server-metadata:delete",
    # Nova has no rule for listing or showing flavors: any authenticated user.
    ("GET", "/v2.1/flavors"): None, ("GET", "/v2.1/flavors/detail"): None,
    ("GET", "/v2.1/flavors/{flavor_id}"): None,
    ("POST", "/v2.1/flavors"): f"{_C}os-flavor-manage:create",
    ("PUT", "/v2.1/flavors/{flavor_id}"): f"{_C}os-flavor-manage:update",
    ("DELETE", "/v2.1/flavors/{flavor_id}"): f"{_C}os-flavor-manage:delete",
    ("GET", "/v2.1/flavors/{flavor_id}/os-extra_specs"): f"{_C}os-flavor-extra-specs:index",
    ("GET", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}"):
        f"{_C}os-flavor-extra-specs:show",
    ("POST", "/v2.1/flavors/{flavor_id}/os-extra_specs"): f"{_C}os-flavor-extra-specs:create",
    ("PUT", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}"):
        f"{_C}os-flavor-extra-specs:update",
    ("DELETE", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}"):
        f"{_C}os-flavor-extra-specs:delete",
    ("GET", "/v2.1/os-keypairs"): f"{_C}os-keypairs:index",
    ("POST", "/v2.1/os-keypairs"): f"{_C}os-keypairs:create",
    ("GET", "/v2.1/os-keypairs/{name}"): f"{_C}os-keypairs:show",
    ("DELETE", "/v2.1/os-keypairs/{name}"): f"{_C}os-keypairs:delete",
    ("GET", "/v2.1/os-server-groups"): f"{_C}os-server-groups:index",
    ("POST", "/v2.1/os-server-groups"): f"{_C}os-server-groups:create",
    ("GET", "/v2.1/os-server-groups/{group_id}"): f"{_C}os-server-groups:show",
    ("DELETE", "/v2.1/os-server-groups/{group_id}"): f"{_C}os-server-groups:delete",
    ("GET", "/v2.1/os-availability-zone"): f"{_C}os-availability-zone:list",
    ("GET", "/v2.1/os-availability-zone/detail"): f"{_C}os-availability-zone:detail",
    ("GET", "/v2.1/limits"): f"{_C}limits",
    ("GET", "/v2.1/os-quota-sets/{project_id}"): f"{_C}os-quota-sets:show",
    ("GET", "/v2.1/os-quota-sets/{project_id}/defaults"): f"{_C}os-quota-sets:defaults",
    ("GET", "/v2.1/os-quota-sets/{project_id}/detail"): f"{_C}os-quota-sets:detail",
    ("PUT", "/v2.1/os-quota-sets/{project_id}"): f"{_C}os-quota-sets:update",
    ("DELETE", "/v2.1/os-quota-sets/{project_id}"): f"{_C}os-quota-sets:delete",
    ("GET", "/v2.1/os-services"): f"{_C}os-services:list",
    ("PUT", "/v2.1/os-services/{ident}"): f"{_C}os-services:update",
    ("DELETE", "/v2.1/os-services/{ident}"): f"{_C}os-services:delete",
    ("GET", "/v2.1/os-hypervisors"): f"{_C}os-hypervisors:list",
    ("GET", "/v2.1/os-hypervisors/detail"): f"{_C}os-hypervisors:list-detail",
    ("GET", "/v2.1/os-hypervisors/statistics"): f"{_C}os-hypervisors:statistics",
    ("GET", "/v2.1/os-hypervisors/{ident}"): f"{_C}os-hypervisors:show",
    ("POST", "/v2.1/os-server-external-events"): f"{_C}os-server-external-events:create",
}
# Volume attach.
ROUTE_RULES |= {
    ("GET", f"{_S}/{{server_id}}/os-volume_attachments"): f"{_VA}:index",
    ("POST", f"{_S}/{{server_id}}/os-volume_attachments"): f"{_VA}:create",
    ("GET", f"{_S}/{{server_id}}/os-volume_attachments/{{volume_id}}"): f"{_VA}:show",
    ("PUT", f"{_S}/{{server_id}}/os-volume_attachments/{{volume_id}}"): f"{_VA}:update",
    ("DELETE", f"{_S}/{{server_id}}/os-volume_attachments/{{volume_id}}"): f"{_VA}:delete",
}
# Interface attach.
ROUTE_RULES |= {
    ("GET", f"{_S}/{{server_id}}/os-interface"): f"{_AI}:list",
    ("POST", f"{_S}/{{server_id}}/os-interface"): f"{_AI}:create",
    ("GET", f"{_S}/{{server_id}}/os-interface/{{port_id}}"): f"{_AI}:show",
    ("DELETE", f"{_S}/{{server_id}}/os-interface/{{port_id}}"): f"{_AI}:delete",
}

ACTION_RULES = {
    "reboot": f"{_C}servers:reboot", "os-start": f"{_C}servers:start",
    "os-stop": f"{_C}servers:stop", "resize": f"{_C}servers:resize",
    "confirmResize": f"{_C}servers:confirm_resize",
    "revertResize": f"{_C}servers:revert_resize",
    "pause": f"{_C}os-pause-server:pause", "unpause": f"{_C}os-pause-server:unpause",
    "suspend": f"{_C}os-suspend-server:suspend", "resume": f"{_C}os-suspend-server:resume",
    "migrate": f"{_C}os-migrate-server:migrate",
    "os-migrateLive": f"{_C}os-migrate-server:migrate_live",
    "lock": f"{_C}os-lock-server:lock", "unlock": f"{_C}os-lock-server:unlock",
    "os-resetState": f"{_C}os-admin-actions:reset_state",
    "trigger_crash_dump": f"{_C}servers:trigger_crash_dump",
    "changePassword": f"{_C}os-admin-password", "rebuild": f"{_C}servers:rebuild",
    "restore": f"{_C}os-deferred-delete:restore",
    "forceDelete": f"{_C}os-deferred-delete:force",
    "os-getConsoleOutput": f"{_C}os-console-output",
}
ACTION_RULES |= {"rescue": f"{_C}os-rescue", "unrescue": f"{_C}os-unrescue"}

# Remote consoles.
ROUTE_RULES.update({
    ("POST", f"{_S}/{{server_id}}/remote-consoles"): f"{_C}os-remote-consoles",
    ("GET", "/v2.1/os-console-auth-tokens/{console_token}"): f"{_C}os-console-auth-tokens",
})
ACTION_RULES.update({
    "os-getVNCConsole": f"{_C}os-remote-consoles",
    "os-getSerialConsole": f"{_C}os-remote-consoles",
})

# -- Issue 15: aggregates, flavor access, server tags, addresses, usage,
# server password, extensions (Nova's names and defaults).
_A = f"{_C}os-aggregates:"
COMPUTE_RULES.update({
    **{f"{_A}{op}": ADMIN for op in ("index", "create", "show", "update", "delete",
                                     "add_host", "remove_host", "set_metadata")},
    "compute:aggregates:images": ADMIN,
    f"{_C}os-flavor-access": ADMIN, f"{_C}os-flavor-access:add_tenant_access": ADMIN,
    f"{_C}os-flavor-access:remove_tenant_access": ADMIN,
    f"{_C}os-server-tags:index": READER, f"{_C}os-server-tags:show": READER,
    f"{_C}os-server-tags:update": MEMBER, f"{_C}os-server-tags:update_all": MEMBER,
    f"{_C}os-server-tags:delete": MEMBER, f"{_C}os-server-tags:delete_all": MEMBER,
    f"{_C}ips:index": READER, f"{_C}ips:show": READER,
    f"{_C}os-simple-tenant-usage:show": READER, f"{_C}os-simple-tenant-usage:list": ADMIN,
    f"{_C}os-server-password:show": READER, f"{_C}os-server-password:clear": MEMBER,
    f"{_C}extensions": ANY,
    f"{_C}os-instance-usage-audit-log:list": ADMIN,
    f"{_C}os-instance-usage-audit-log:show": ADMIN,
    f"{_C}os-server-diagnostics": ADMIN,
    f"{_C}os-baremetal-nodes:list": ADMIN, f"{_C}os-baremetal-nodes:show": ADMIN,
    "compute:server:topology:index": READER, "compute:server:topology:host:index": ADMIN,
    f"{_C}os-quota-class-sets:show": ADMIN, f"{_C}os-quota-class-sets:update": ADMIN,
})
_AG = "/v2.1/os-aggregates"
_T = f"{_S}/{{server_id}}/tags"
ROUTE_RULES.update({
    ("GET", _AG): f"{_A}index", ("POST", _AG): f"{_A}create",
    ("GET", f"{_AG}/{{aggregate_id}}"): f"{_A}show",
    ("PUT", f"{_AG}/{{aggregate_id}}"): f"{_A}update",
    ("DELETE", f"{_AG}/{{aggregate_id}}"): f"{_A}delete",
    ("POST", f"{_AG}/{{aggregate_id}}/action"): None,  # by action: RESOURCE_ACTION_RULES
    ("POST", f"{_AG}/{{aggregate_id}}/images"): "compute:aggregates:images",
    ("GET", "/v2.1/flavors/{flavor_id}/os-flavor-access"): f"{_C}os-flavor-access",
    ("POST", "/v2.1/flavors/{flavor_id}/action"): None,  # by action
    ("GET", _T): f"{_C}os-server-tags:index", ("PUT", _T): f"{_C}os-server-tags:update_all",
    ("DELETE", _T): f"{_C}os-server-tags:delete_all",
    ("GET", f"{_T}/{{tag}}"): f"{_C}os-server-tags:show",
    ("PUT", f"{_T}/{{tag}}"): f"{_C}os-server-tags:update",
    ("DELETE", f"{_T}/{{tag}}"): f"{_C}os-server-tags:delete",
    ("GET", f"{_S}/{{server_id}}/ips"): f"{_C}ips:index",
    ("GET", f"{_S}/{{server_id}}/ips/{{network_label}}"): f"{_C}ips:show",
    ("GET", "/v2.1/os-simple-tenant-usage"): f"{_C}os-simple-tenant-usage:list",
    ("GET", "/v2.1/os-simple-tenant-usage/{tenant_id}"): f"{_C}os-simple-tenant-usage:show",
    ("GET", f"{_S}/{{server_id}}/os-server-password"): f"{_C}os-server-password:show",
    ("DELETE", f"{_S}/{{server_id}}/os-server-password"): f"{_C}os-server-password:clear",
    ("GET", "/v2.1/"): None, ("GET", "/v2.1/versions/{version_id}"): None,  # no token
    ("GET", "/v2.1/os-instance_usage_audit_log"): f"{_C}os-instance-usage-audit-log:list",
    ("GET", "/v2.1/os-instance_usage_audit_log/{before_timestamp}"):
        f"{_C}os-instance-usage-audit-log:show",
    ("GET", f"{_S}/{{server_id}}/topology"): "compute:server:topology:index",
    ("GET", f"{_S}/{{server_id}}/diagnostics"): f"{_C}os-server-diagnostics",
    ("GET", "/v2.1/os-baremetal-nodes"): f"{_C}os-baremetal-nodes:list",
    ("GET", "/v2.1/os-baremetal-nodes/{node_id}"): f"{_C}os-baremetal-nodes:show",
    # Nova checks no policy before refusing the writes (use Ironic).
    ("POST", "/v2.1/os-baremetal-nodes"): None,
    ("DELETE", "/v2.1/os-baremetal-nodes/{node_id}"): None,
    ("POST", "/v2.1/os-baremetal-nodes/{node_id}/action"): None,
    ("GET", "/v2.1/os-quota-class-sets/{class_name}"): f"{_C}os-quota-class-sets:show",
    ("PUT", "/v2.1/os-quota-class-sets/{class_name}"): f"{_C}os-quota-class-sets:update",
    ("GET", "/v2.1/extensions"): f"{_C}extensions",
    ("GET", "/v2.1/extensions/{alias}"): f"{_C}extensions",
})
# /os-volumes_boot is Nova's alias of /servers: the same rules.
_VB = "/v2.1/os-volumes_boot"
ROUTE_RULES.update({
    ("GET", _VB): f"{_C}servers:index", ("POST", _VB): f"{_C}servers:create",
    ("GET", f"{_VB}/detail"): f"{_C}servers:detail",
    ("GET", f"{_VB}/{{server_id}}"): f"{_C}servers:show",
    ("PUT", f"{_VB}/{{server_id}}"): f"{_C}servers:update",
    ("DELETE", f"{_VB}/{{server_id}}"): f"{_C}servers:delete",
    ("POST", f"{_VB}/{{server_id}}/action"): None,  # by action, as /servers
})
# Routes Nova removed answer 410 to any authenticated caller (no rule).
ROUTE_RULES.update({(m, path): None for path, methods in REMOVED.items() for m in methods})
# Actions of resources other than servers, by route: {action: rule}; an
# unknown action needs an admin (who then gets the handler's 400).
RESOURCE_ACTION_RULES: dict[str, dict[str, str]] = {
    f"{_AG}/{{aggregate_id}}/action": {a: f"{_A}{a}" for a in
                                       ("add_host", "remove_host", "set_metadata")},
    f"{_VB}/{{server_id}}/action": ACTION_RULES,
    "/v2.1/flavors/{flavor_id}/action": {
        "addTenantAccess": f"{_C}os-flavor-access:add_tenant_access",
        "removeTenantAccess": f"{_C}os-flavor-access:remove_tenant_access"},
}
# -- The APIs Nova keeps below the microversion that removed them (issue 18):
# Nova's rule names and defaults.  The image proxy has no rule in Nova (the
# image service decides).
_H = "/v2.1/os-hypervisors"
_LEGACY_RULES = {
    f"{_C}os-hosts:list": ADMIN, f"{_C}os-hosts:show": ADMIN, f"{_C}os-hosts:update": ADMIN,
    f"{_C}os-hosts:reboot": ADMIN, f"{_C}os-hosts:shutdown": ADMIN,
    f"{_C}os-hosts:start": ADMIN,
    f"{_C}os-hypervisors:search": ADMIN, f"{_C}os-hypervisors:servers": ADMIN,
    f"{_C}os-hypervisors:uptime": ADMIN,
    f"{_C}os-volumes:list": READER, f"{_C}os-volumes:detail": READER,
    f"{_C}os-volumes:show": READER, f"{_C}os-volumes:create": MEMBER,
    f"{_C}os-volumes:delete": MEMBER,
    f"{_C}os-volumes:snapshots:list": READER, f"{_C}os-volumes:snapshots:detail": READER,
    f"{_C}os-volumes:snapshots:show": READER, f"{_C}os-volumes:snapshots:create": MEMBER,
    f"{_C}os-volumes:snapshots:delete": MEMBER,
    f"{_C}os-networks:list": READER, f"{_C}os-networks:show": READER,
    f"{_C}os-tenant-networks:list": READER, f"{_C}os-tenant-networks:show": READER,
}
_LEGACY_ROUTES = {
    ("GET", "/v2.1/images"): None, ("GET", "/v2.1/images/detail"): None,
    ("GET", "/v2.1/images/{image_id}"): None, ("DELETE", "/v2.1/images/{image_id}"): None,
    ("GET", "/v2.1/images/{image_id}/metadata"): None,
    ("GET", "/v2.1/images/{image_id}/metadata/{key}"): None,
    ("POST", "/v2.1/images/{image_id}/metadata"): None,
    ("PUT", "/v2.1/images/{image_id}/metadata"): None,
    ("PUT", "/v2.1/images/{image_id}/metadata/{key}"): None,
    ("DELETE", "/v2.1/images/{image_id}/metadata/{key}"): None,
    ("GET", "/v2.1/os-hosts"): f"{_C}os-hosts:list",
    ("GET", "/v2.1/os-hosts/{host_name}"): f"{_C}os-hosts:show",
    ("PUT", "/v2.1/os-hosts/{host_name}"): f"{_C}os-hosts:update",
    ("GET", "/v2.1/os-hosts/{host_name}/reboot"): f"{_C}os-hosts:reboot",
    ("GET", "/v2.1/os-hosts/{host_name}/shutdown"): f"{_C}os-hosts:shutdown",
    ("GET", "/v2.1/os-hosts/{host_name}/startup"): f"{_C}os-hosts:start",
    ("GET", f"{_H}/{{pattern}}/search"): f"{_C}os-hypervisors:search",
    ("GET", f"{_H}/{{pattern}}/servers"): f"{_C}os-hypervisors:servers",
    ("GET", f"{_H}/{{ident}}/uptime"): f"{_C}os-hypervisors:uptime",
    ("GET", "/v2.1/os-volumes"): f"{_C}os-volumes:list",
    ("GET", "/v2.1/os-volumes/detail"): f"{_C}os-volumes:detail",
    ("GET", "/v2.1/os-volumes/{volume_id}"): f"{_C}os-volumes:show",
    ("POST", "/v2.1/os-volumes"): f"{_C}os-volumes:create",
    ("DELETE", "/v2.1/os-volumes/{volume_id}"): f"{_C}os-volumes:delete",
    ("GET", "/v2.1/os-snapshots"): f"{_C}os-volumes:snapshots:list",
    ("GET", "/v2.1/os-snapshots/detail"): f"{_C}os-volumes:snapshots:detail",
    ("GET", "/v2.1/os-snapshots/{snapshot_id}"): f"{_C}os-volumes:snapshots:show",
    ("POST", "/v2.1/os-snapshots"): f"{_C}os-volumes:snapshots:create",
    ("DELETE", "/v2.1/os-snapshots/{snapshot_id}"): f"{_C}os-volumes:snapshots:delete",
    ("GET", "/v2.1/os-networks"): f"{_C}os-networks:list",
    ("GET", "/v2.1/os-networks/{network_id}"): f"{_C}os-networks:show",
    ("GET", "/v2.1/os-tenant-networks"): f"{_C}os-tenant-networks:list",
    ("GET", "/v2.1/os-tenant-networks/{network_id}"): f"{_C}os-tenant-networks:show",
}
COMPUTE_RULES.update(_LEGACY_RULES)
ROUTE_RULES.update(_LEGACY_ROUTES)
ACTION_RULES.update({
    "createImage": f"{_C}servers:create_image", "createBackup": f"{_C}os-create-backup",
    "shelve": f"{_C}os-shelve:shelve", "shelveOffload": f"{_C}os-shelve:shelve_offload",
    "unshelve": f"{_C}os-shelve:unshelve", "evacuate": f"{_C}os-evacuate",
})

# Security groups of a server (Nova's defaults).
_SG = f"{_C}os-security-groups"
COMPUTE_RULES.update({f"{_SG}:list": READER, f"{_SG}:add": MEMBER, f"{_SG}:remove": MEMBER})
ROUTE_RULES[("GET", f"{_S}/{{server_id}}/os-security-groups")] = f"{_SG}:list"
ACTION_RULES.update({"addSecurityGroup": f"{_SG}:add", "removeSecurityGroup": f"{_SG}:remove"})
# Nova's security-group proxy (< 2.36): its rule names and defaults.
COMPUTE_RULES.update({f"{_SG}:get": READER, f"{_SG}:show": READER, f"{_SG}:create": MEMBER,
                      f"{_SG}:update": MEMBER, f"{_SG}:delete": MEMBER,
                      f"{_SG}:rule:create": MEMBER, f"{_SG}:rule:delete": MEMBER})
_SGS, _SGR = "/v2.1/os-security-groups", "/v2.1/os-security-group-rules"
ROUTE_RULES.update({
    ("GET", _SGS): f"{_SG}:get", ("POST", _SGS): f"{_SG}:create",
    ("GET", f"{_SGS}/{{group_id}}"): f"{_SG}:show",
    ("PUT", f"{_SGS}/{{group_id}}"): f"{_SG}:update",
    ("DELETE", f"{_SGS}/{{group_id}}"): f"{_SG}:delete",
    ("POST", _SGR): f"{_SG}:rule:create",
    ("DELETE", f"{_SGR}/{{rule_id}}"): f"{_SG}:rule:delete",
})

_SERVICE_PREFIXES = {"/networking": "network", "/volume": "volume"}


def default_rules() -> dict[str, str]:
    return {**BASE_RULES, **COMPUTE_RULES, **SERVICE_RULES}


def route_rule(method: str, path: str) -> str | None:
    """The rule of a route (by its path template); None when any caller may."""
    if (method, path) in ROUTE_RULES:
        return ROUTE_RULES[(method, path)]
    for prefix, service in _SERVICE_PREFIXES.items():
        if path.startswith(prefix):
            return f"{service}:{'read' if method in ('GET', 'HEAD') else 'write'}"
    if path.startswith("/v2.1"):
        # A compute route missing from the table: safest is admin only.
        return "admin_api"
    return None


def credentials(ident: Identity) -> dict:
    return {"user_id": ident.user_id, "project_id": ident.project_id,
            "roles": list(ident.roles), "domain_id": ident.domain_id}


class PolicyEnforcer:
    """oslo.policy's Enforcer loaded with Nova's defaults (and overrides)."""

    def __init__(self, policy_file: Path | str | None = None):
        conf = cfg.ConfigOpts()
        conf([], project="novaflow", default_config_files=[], default_config_dirs=[])
        self.policy_file = str(Path(policy_file).resolve()) if policy_file else None
        self.enforcer = oslo_policy.Enforcer(conf, policy_file=self.policy_file,
                                             use_conf=True, overwrite=True)
        self.enforcer.register_defaults(
            [oslo_policy.RuleDefault(name, check) for name, check in default_rules().items()])
        if self.policy_file and not Path(self.policy_file).exists():
            raise FileNotFoundError(f"policy file {self.policy_file} does not exist")
        self.enforcer.load_rules()

    def registered(self, rule: str) -> bool:
        return rule in self.enforcer.registered_rules

    def allowed(self, ident: Identity, rule: str, target: dict | None = None) -> bool:
        target = target if target is not None else {"project_id": ident.project_id,
                                                    "user_id": ident.user_id}
        return bool(self.enforcer.enforce(rule, target, credentials(ident), do_raise=False))

    def authorize(self, ident: Identity, rule: str, target: dict | None = None,
                  shown_as: str | None = None) -> None:
        if not self.allowed(ident, rule, target):
            raise Forbidden(f"Policy doesn't allow {shown_as or rule} to be performed.")

    async def authorize_route(self, request: Request, ident: Identity) -> None:
        """Enforce the matched route's rule (for actions: the action's rule)."""
        route = request.scope.get("route")
        path = getattr(route, "path", None)
        if path is None:
            return
        method = request.method
        rule = route_rule(method, path)
        if (method, path) == ("POST", f"{_S}/{{server_id}}/action"):
            rule = ACTION_RULES.get(await _action_name(request))
        elif method == "POST" and path in RESOURCE_ACTION_RULES:
            rules = RESOURCE_ACTION_RULES[path]
            # Server actions (os-volumes_boot): an unknown one is the handler's 400.
            rule = rules.get(await _action_name(request),
                             None if rules is ACTION_RULES else "admin_api")
        if rule is None:
            return
        params = request.path_params
        target = {"project_id": ident.project_id, "user_id": ident.user_id}
        if path.startswith("/v2.1/os-quota-sets/") and "project_id" in params:
            target["project_id"] = params["project_id"]
        self.authorize(ident, rule, target)


async def _action_name(request: Request) -> str | None:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        return None
    if isinstance(body, dict) and len(body) == 1:
        return next(iter(body))
    return None
