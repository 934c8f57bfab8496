"""Every route Nova's Compute API serves is served here, every route Nova
removed answers 410.

``NOVA_ROUTES`` is ``ROUTE_LIST`` of openstack/nova's
``nova/api/openstack/compute/routes.py`` (master, 2026-08-21, commit
00a03040), transcribed method by method, each marked live or removed (its
controller only raises ``HTTPGone``).  A live route must be one of the app's
routes (same method, same path template up to parameter names) unless it is
in ``NOT_SERVED`` with its reason; a removed one must answer 410 with Nova's
body.  Nova's ``('', '/')`` redirect is ``GET /v2.1``, served by versions.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from activities.identity import TokenBackend
from activities.types.identity import Identity

LIVE, GONE = "live", "removed"

NOVA_ROUTES: list[tuple[str, str, str]] = [
    ("GET", "/", LIVE),
    ("GET", "/versions/{id}", LIVE),
    ("GET", "/extensions", LIVE),
    ("GET", "/extensions/{id}", LIVE),
    ("GET", "/flavors", LIVE),
    ("POST", "/flavors", LIVE),
    ("GET", "/flavors/detail", LIVE),
    ("GET", "/flavors/{id}", LIVE),
    ("PUT", "/flavors/{id}", LIVE),
    ("DELETE", "/flavors/{id}", LIVE),
    ("POST", "/flavors/{id}/action", LIVE),
    ("GET", "/flavors/{flavor_id}/os-extra_specs", LIVE),
    ("POST", "/flavors/{flavor_id}/os-extra_specs", LIVE),
    ("GET", "/flavors/{flavor_id}/os-extra_specs/{id}", LIVE),
    ("PUT", "/flavors/{flavor_id}/os-extra_specs/{id}", LIVE),
    ("DELETE", "/flavors/{flavor_id}/os-extra_specs/{id}", LIVE),
    ("GET", "/flavors/{flavor_id}/os-flavor-access", LIVE),
    ("GET", "/images", LIVE),
    ("GET", "/images/detail", LIVE),
    ("GET", "/images/{id}", LIVE),
    ("DELETE", "/images/{id}", LIVE),
    ("GET", "/images/{image_id}/metadata", LIVE),
    ("POST", "/images/{image_id}/metadata", LIVE),
    ("PUT", "/images/{image_id}/metadata", LIVE),
    ("GET", "/images/{image_id}/metadata/{id}", LIVE),
    ("PUT", "/images/{image_id}/metadata/{id}", LIVE),
    ("DELETE", "/images/{image_id}/metadata/{id}", LIVE),
    ("GET", "/limits", LIVE),
    ("GET", "/os-agents", GONE),
    ("POST", "/os-agents", GONE),
    ("PUT", "/os-agents/{id}", GONE),
    ("DELETE", "/os-agents/{id}", GONE),
    ("GET", "/os-aggregates", LIVE),
    ("POST", "/os-aggregates", LIVE),
    ("GET", "/os-aggregates/{id}", LIVE),
    ("PUT", "/os-aggregates/{id}", LIVE),
    ("DELETE", "/os-aggregates/{id}", LIVE),
    ("POST", "/os-aggregates/{id}/action", LIVE),
    ("POST", "/os-aggregates/{id}/images", LIVE),
    ("POST", "/os-assisted-volume-snapshots", LIVE),
    ("DELETE", "/os-assisted-volume-snapshots/{id}", LIVE),
    ("GET", "/os-availability-zone", LIVE),
    ("GET", "/os-availability-zone/detail", LIVE),
    ("GET", "/os-baremetal-nodes", LIVE),
    ("POST", "/os-baremetal-nodes", LIVE),
    ("GET", "/os-baremetal-nodes/{id}", LIVE),
    ("DELETE", "/os-baremetal-nodes/{id}", LIVE),
    ("POST", "/os-baremetal-nodes/{id}/action", LIVE),
    ("POST", "/os-cells", GONE),
    ("GET", "/os-cells", GONE),
    ("GET", "/os-cells/capacities", GONE),
    ("GET", "/os-cells/detail", GONE),
    ("GET", "/os-cells/info", GONE),
    ("POST", "/os-cells/sync_instances", GONE),
    ("GET", "/os-cells/{id}", GONE),
    ("PUT", "/os-cells/{id}", GONE),
    ("DELETE", "/os-cells/{id}", GONE),
    ("GET", "/os-cells/{id}/capacities", GONE),
    ("POST", "/os-certificates", GONE),
    ("GET", "/os-certificates/{id}", GONE),
    ("GET", "/os-cloudpipe", GONE),
    ("POST", "/os-cloudpipe", GONE),
    ("PUT", "/os-cloudpipe/{id}", GONE),
    ("GET", "/os-console-auth-tokens/{id}", LIVE),
    ("GET", "/os-fixed-ips/{id}", GONE),
    ("POST", "/os-fixed-ips/{id}/action", GONE),
    ("GET", "/os-floating-ip-dns", GONE),
    ("PUT", "/os-floating-ip-dns/{id}", GONE),
    ("DELETE", "/os-floating-ip-dns/{id}", GONE),
    ("GET", "/os-floating-ip-dns/{domain_id}/entries/{id}", GONE),
    ("PUT", "/os-floating-ip-dns/{domain_id}/entries/{id}", GONE),
    ("DELETE", "/os-floating-ip-dns/{domain_id}/entries/{id}", GONE),
    ("GET", "/os-floating-ip-pools", LIVE),
    ("GET", "/os-floating-ips", LIVE),
    ("POST", "/os-floating-ips", LIVE),
    ("GET", "/os-floating-ips/{id}", LIVE),
    ("DELETE", "/os-floating-ips/{id}", LIVE),
    ("GET", "/os-floating-ips-bulk", GONE),
    ("POST", "/os-floating-ips-bulk", GONE),
    ("GET", "/os-floating-ips-bulk/{id}", GONE),
    ("PUT", "/os-floating-ips-bulk/{id}", GONE),
    ("GET", "/os-fping", GONE),
    ("GET", "/os-fping/{id}", GONE),
    ("GET", "/os-hosts", LIVE),
    ("GET", "/os-hosts/{id}", LIVE),
    ("PUT", "/os-hosts/{id}", LIVE),
    ("GET", "/os-hosts/{id}/reboot", LIVE),
    ("GET", "/os-hosts/{id}/shutdown", LIVE),
    ("GET", "/os-hosts/{id}/startup", LIVE),
    ("GET", "/os-hypervisors", LIVE),
    ("GET", "/os-hypervisors/detail", LIVE),
    ("GET", "/os-hypervisors/statistics", LIVE),
    ("GET", "/os-hypervisors/{id}", LIVE),
    ("GET", "/os-hypervisors/{id}/search", LIVE),
    ("GET", "/os-hypervisors/{id}/servers", LIVE),
    ("GET", "/os-hypervisors/{id}/uptime", LIVE),
    ("GET", "/os-instance_usage_audit_log", LIVE),
    ("GET", "/os-instance_usage_audit_log/{id}", LIVE),
    ("GET", "/os-keypairs", LIVE),
    ("POST", "/os-keypairs", LIVE),
    ("GET", "/os-keypairs/{id}", LIVE),
    ("DELETE", "/os-keypairs/{id}", LIVE),
    ("GET", "/os-migrations", LIVE),
    ("GET", "/os-networks", LIVE),
    ("POST", "/os-networks", GONE),
    ("POST", "/os-networks/add", GONE),
    ("GET", "/os-networks/{id}", LIVE),
    ("DELETE", "/os-networks/{id}", GONE),
    ("POST", "/os-networks/{id}/action", GONE),
    ("GET", "/os-quota-class-sets/{id}", LIVE),
    ("PUT", "/os-quota-class-sets/{id}", LIVE),
    ("GET", "/os-quota-sets/{id}", LIVE),
    ("PUT", "/os-quota-sets/{id}", LIVE),
    ("DELETE", "/os-quota-sets/{id}", LIVE),
    ("GET", "/os-quota-sets/{id}/detail", LIVE),
    ("GET", "/os-quota-sets/{id}/defaults", LIVE),
    ("GET", "/os-security-group-default-rules", GONE),
    ("POST", "/os-security-group-default-rules", GONE),
    ("GET", "/os-security-group-default-rules/{id}", GONE),
    ("DELETE", "/os-security-group-default-rules/{id}", GONE),
    ("POST", "/os-security-group-rules", LIVE),
    ("DELETE", "/os-security-group-rules/{id}", LIVE),
    ("GET", "/os-security-groups", LIVE),
    ("POST", "/os-security-groups", LIVE),
    ("GET", "/os-security-groups/{id}", LIVE),
    ("PUT", "/os-security-groups/{id}", LIVE),
    ("DELETE", "/os-security-groups/{id}", LIVE),
    ("POST", "/os-server-external-events", LIVE),
    ("GET", "/os-server-groups", LIVE),
    ("POST", "/os-server-groups", LIVE),
    ("GET", "/os-server-groups/{id}", LIVE),
    ("DELETE", "/os-server-groups/{id}", LIVE),
    ("GET", "/os-services", LIVE),
    ("PUT", "/os-services/{id}", LIVE),
    ("DELETE", "/os-services/{id}", LIVE),
    ("GET", "/os-simple-tenant-usage", LIVE),
    ("GET", "/os-simple-tenant-usage/{id}", LIVE),
    ("GET", "/os-snapshots", LIVE),
    ("POST", "/os-snapshots", LIVE),
    ("GET", "/os-snapshots/detail", LIVE),
    ("GET", "/os-snapshots/{id}", LIVE),
    ("DELETE", "/os-snapshots/{id}", LIVE),
    ("GET", "/os-tenant-networks", LIVE),
    ("POST", "/os-tenant-networks", GONE),
    ("GET", "/os-tenant-networks/{id}", LIVE),
    ("DELETE", "/os-tenant-networks/{id}", GONE),
    ("GET", "/os-volumes", LIVE),
    ("POST", "/os-volumes", LIVE),
    ("GET", "/os-volumes/detail", LIVE),
    ("GET", "/os-volumes/{id}", LIVE),
    ("DELETE", "/os-volumes/{id}", LIVE),
    ("GET", "/os-volumes_boot", LIVE),
    ("POST", "/os-volumes_boot", LIVE),
    ("GET", "/os-volumes_boot/detail", LIVE),
    ("GET", "/os-volumes_boot/{id}", LIVE),
    ("PUT", "/os-volumes_boot/{id}", LIVE),
    ("DELETE", "/os-volumes_boot/{id}", LIVE),
    ("POST", "/os-volumes_boot/{id}/action", LIVE),
    ("GET", "/servers", LIVE),
    ("POST", "/servers", LIVE),
    ("GET", "/servers/detail", LIVE),
    ("GET", "/servers/{id}", LIVE),
    ("PUT", "/servers/{id}", LIVE),
    ("DELETE", "/servers/{id}", LIVE),
    ("POST", "/servers/{id}/action", LIVE),
    ("GET", "/servers/{server_id}/consoles", GONE),
    ("POST", "/servers/{server_id}/consoles", GONE),
    ("GET", "/servers/{server_id}/consoles/{id}", GONE),
    ("DELETE", "/servers/{server_id}/consoles/{id}", GONE),
    ("GET", "/servers/{server_id}/diagnostics", LIVE),
    ("GET", "/servers/{server_id}/ips", LIVE),
    ("GET", "/servers/{server_id}/ips/{id}", LIVE),
    ("GET", "/servers/{server_id}/metadata", LIVE),
    ("POST", "/servers/{server_id}/metadata", LIVE),
    ("PUT", "/servers/{server_id}/metadata", LIVE),
    ("GET", "/servers/{server_id}/metadata/{id}", LIVE),
    ("PUT", "/servers/{server_id}/metadata/{id}", LIVE),
    ("DELETE", "/servers/{server_id}/metadata/{id}", LIVE),
    ("GET", "/servers/{server_id}/migrations", LIVE),
    ("GET", "/servers/{server_id}/migrations/{id}", LIVE),
    ("DELETE", "/servers/{server_id}/migrations/{id}", LIVE),
    ("POST", "/servers/{server_id}/migrations/{id}/action", LIVE),
    ("GET", "/servers/{server_id}/os-instance-actions", LIVE),
    ("GET", "/servers/{server_id}/os-instance-actions/{id}", LIVE),
    ("GET", "/servers/{server_id}/os-interface", LIVE),
    ("POST", "/servers/{server_id}/os-interface", LIVE),
    ("GET", "/servers/{server_id}/os-interface/{id}", LIVE),
    ("DELETE", "/servers/{server_id}/os-interface/{id}", LIVE),
    ("GET", "/servers/{server_id}/os-server-password", LIVE),
    ("DELETE", "/servers/{server_id}/os-server-password", LIVE),
    ("GET", "/servers/{server_id}/os-virtual-interfaces", GONE),
    ("GET", "/servers/{server_id}/os-volume_attachments", LIVE),
    ("POST", "/servers/{server_id}/os-volume_attachments", LIVE),
    ("GET", "/servers/{server_id}/os-volume_attachments/{id}", LIVE),
    ("PUT", "/servers/{server_id}/os-volume_attachments/{id}", LIVE),
    ("DELETE", "/servers/{server_id}/os-volume_attachments/{id}", LIVE),
    ("POST", "/servers/{server_id}/remote-consoles", LIVE),
    ("GET", "/servers/{server_id}/os-security-groups", LIVE),
    ("GET", "/servers/{server_id}/shares", LIVE),
    ("POST", "/servers/{server_id}/shares", LIVE),
    ("GET", "/servers/{server_id}/shares/{id}", LIVE),
    ("DELETE", "/servers/{server_id}/shares/{id}", LIVE),
    ("GET", "/servers/{server_id}/tags", LIVE),
    ("PUT", "/servers/{server_id}/tags", LIVE),
    ("DELETE", "/servers/{server_id}/tags", LIVE),
    ("GET", "/servers/{server_id}/tags/{id}", LIVE),
    ("PUT", "/servers/{server_id}/tags/{id}", LIVE),
    ("DELETE", "/servers/{server_id}/tags/{id}", LIVE),
    ("GET", "/servers/{server_id}/topology", LIVE),
]

_SHARES = ("2.97+ (virtiofs shares): above novaflow's maximum microversion 2.96, so "
           "Nova itself answers 404 at every microversion we negotiate")
_ASSISTED = ("Cinder's remotefs volume drivers (NFS, ...) ask the compute host to "
             "snapshot a file-backed volume through libvirt's blockCommit/blockRebase; "
             "the Cinder stand-in has no such driver and nothing would call it")
_FLOATING = ("nova-network's floating-IP proxy to Neutron (< 2.36): the Neutron stand-in "
             "has no floating IPs (no router, no external network) to proxy")
# Live Nova routes novaflow does not serve, and why.
NOT_SERVED: dict[tuple[str, str], str] = {
    ("POST", "/os-assisted-volume-snapshots"): _ASSISTED,
    ("DELETE", "/os-assisted-volume-snapshots/{id}"): _ASSISTED,
    ("GET", "/servers/{server_id}/shares"): _SHARES,
    ("POST", "/servers/{server_id}/shares"): _SHARES,
    ("GET", "/servers/{server_id}/shares/{id}"): _SHARES,
    ("DELETE", "/servers/{server_id}/shares/{id}"): _SHARES,
    ("GET", "/os-floating-ip-pools"): _FLOATING,
    ("GET", "/os-floating-ips"): _FLOATING,
    ("POST", "/os-floating-ips"): _FLOATING,
    ("GET", "/os-floating-ips/{id}"): _FLOATING,
    ("DELETE", "/os-floating-ips/{id}"): _FLOATING,
}


def _shape(path: str) -> str:
    """A path template with its parameter names erased."""
    return re.sub(r"\{[^}]+\}", "{}", path.rstrip("/") or "/")


def _api_routes(routes, prefix=""):
    """(method, full path) of every route, inside included routers too."""
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI >= 0.165: an included router
            yield from _api_routes(route.original_router.routes,
                                   prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute):
            for method in route.methods:
                yield method, prefix + route.path


class _AnyToken(TokenBackend):
    """Every token is a member of one project: the 410s come before policy."""

    def validate(self, token, allow_expired=False):
        return Identity("u-1", "p-1", ["member", "reader"])


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from api.app import create_app
    from novaflow.settings import Settings

    tmp = tmp_path_factory.mktemp("routes")
    return create_app(Settings(state_dir=tmp, database_url=f"sqlite:///{tmp}/x.db"),
                      token_backend=_AnyToken())


@pytest.fixture(scope="module")
def served(app) -> set[tuple[str, str]]:
    return {(m, _shape(p)) for m, p in _api_routes(app.routes)}


def _v21(path: str) -> str:
    return _shape("/v2.1" + path)


def test_the_table_is_nova_s(served):
    assert len(NOVA_ROUTES) == 209 and len(set((m, p) for m, p, _ in NOVA_ROUTES)) == 209
    assert set(NOT_SERVED) <= {(m, p) for m, p, kind in NOVA_ROUTES if kind == LIVE}


def test_every_live_nova_route_is_served(served):
    live = [(m, p) for m, p, kind in NOVA_ROUTES if kind == LIVE]
    missing = [(m, p) for m, p in live
               if (m, _v21(p)) not in served and (m, p) not in NOT_SERVED]
    assert missing == []
    wrongly_excused = [(m, p) for m, p in NOT_SERVED if (m, _v21(p)) in served]
    assert wrongly_excused == []  # served after all: drop it from NOT_SERVED
    print(f"\nNova live routes served: {len(live) - len(NOT_SERVED)}/{len(live)}")


def test_every_removed_nova_route_answers_410(app):
    removed = [(m, p) for m, p, kind in NOVA_ROUTES if kind == GONE]
    client = TestClient(app)  # no lifespan: these answer before any Temporal call
    answers = {}
    for method, path in removed:
        concrete = re.sub(r"\{[^}]+\}", "x1", path)
        resp = client.request(method, f"/v2.1{concrete}", headers={"X-Auth-Token": "t"},
                              json={} if method in ("POST", "PUT") else None)
        answers[(method, path)] = (resp.status_code, list(resp.json()))
    assert {k: v for k, v in answers.items() if v != (410, ["computeFault"])} == {}
    print(f"\nNova removed routes answering 410: {len(removed)}/{len(removed)}")
