"""What the embedded stack needs inside Keystone, made idempotently at every
start through the identity API (keystoneauth, as the bootstrap admin):
projects ``demo``, ``service`` and ``other``; users ``demo`` (member of demo),
``reader`` (reader of demo), ``other`` (member of other) and the control
plane's service user ``novaflow`` (role ``service`` in project service),
Glance's ``glance`` (the same role); and the catalog: compute, network and
volume endpoints on the API's current URL, image on Glance's.  A handful of
list calls, then only what is missing is created."""

from __future__ import annotations

from dataclasses import dataclass

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

REGION = "RegionOne"
DOMAIN = "default"

# user -> (project, role)
USERS = {"demo": ("demo", "member"), "reader": ("demo", "reader"),
         "other": ("other", "member"), "novaflow": ("service", "service"),
         "glance": ("service", "service")}


@dataclass(frozen=True)
class ServiceEntry:
    type: str
    name: str
    path: str  # under the API's base URL, unless the service runs on its own


SERVICES = [
    ServiceEntry("compute", "nova", "/v2.1"),
    ServiceEntry("image", "glance", "/image"),
    ServiceEntry("network", "neutron", "/networking"),
    ServiceEntry("block-storage", "cinder", "/volume/v3/$(project_id)s"),
    ServiceEntry("volumev3", "cinderv3", "/volume/v3/$(project_id)s"),
]


class IdentityAdmin:
    """Keystone's v3 API as its admin, over one keystoneauth session."""

    def __init__(self, auth_url: str, password: str, username: str = "admin",
                 project: str = "admin"):
        self.url = auth_url.rstrip("/")
        auth = v3.Password(auth_url=self.url, username=username, password=password,
                           project_name=project, user_domain_id=DOMAIN,
                           project_domain_id=DOMAIN)
        self.session = ks_session.Session(auth=auth)

    def get(self, path: str, key: str, **params) -> list[dict]:
        return self.session.get(self.url + path, params=params).json()[key]

    def post(self, path: str, key: str, body: dict) -> dict:
        return self.session.post(self.url + path, json={key: body}).json()[key]

    def put(self, path: str) -> None:
        self.session.put(self.url + path)

    def project(self, name: str) -> dict:
        found = self.get("/projects", "projects", name=name, domain_id=DOMAIN)
        return found[0] if found else self.post(
            "/projects", "project", {"name": name, "domain_id": DOMAIN,
                                     "description": f"novaflow {name}"})

    def role(self, name: str) -> dict:
        found = self.get("/roles", "roles", name=name)
        return found[0] if found else self.post("/roles", "role", {"name": name})

    def user(self, name: str, password: str, project: dict) -> dict:
        found = self.get("/users", "users", name=name, domain_id=DOMAIN)
        return found[0] if found else self.post(
            "/users", "user", {"name": name, "password": password, "domain_id": DOMAIN,
                               "default_project_id": project["id"]})

    def grant(self, user: dict, project: dict, role: dict) -> None:
        self.put(f"/projects/{project['id']}/users/{user['id']}/roles/{role['id']}")

    def ensure_user(self, name: str, password: str, project_name: str, role_name: str) -> dict:
        """User ``name`` with ``role_name`` on ``project_name`` (all made if missing)."""
        project = self.project(project_name)
        user = self.user(name, password, project)
        self.grant(user, project, self.role(role_name))
        return user

    def ensure_catalog(self, api_url: str, own_urls: dict[str, str] | None = None,
                       region: str = REGION) -> None:
        """A public and an internal endpoint per service in ``region``, pointing
        at ``api_url`` or, for services that run on their own (``{type: url}``),
        there."""
        api = api_url.rstrip("/")
        own_urls = own_urls or {}
        if region != REGION and not any(
                r["id"] == region for r in self.get("/regions", "regions")):
            self.post("/regions", "region", {"id": region})
        services = {s["type"]: s for s in self.get("/services", "services")}
        endpoints = [e for e in self.get("/endpoints", "endpoints")
                     if e.get("region_id", REGION) == region]
        for entry in SERVICES:
            service = services.get(entry.type) or self.post(
                "/services", "service", {"type": entry.type, "name": entry.name,
                                         "enabled": True})
            url = own_urls.get(entry.type) or api + entry.path
            have = {e["interface"]: e for e in endpoints if e["service_id"] == service["id"]}
            for interface in ("public", "internal"):
                ep = have.get(interface)
                if ep is None:
                    self.post("/endpoints", "endpoint",
                              {"service_id": service["id"], "interface": interface,
                               "url": url, "region_id": region})
                elif ep["url"] != url:
                    self.session.patch(f"{self.url}/endpoints/{ep['id']}",
                                       json={"endpoint": {"url": url}})


def provision(auth_url: str, passwords: dict[str, str], api_url: str,
              own_urls: dict[str, str] | None = None) -> None:
    """Make sure every project, user, role and catalog entry exists
    (``own_urls``: ``{service type: url}`` of services not in the API)."""
    admin = IdentityAdmin(auth_url, passwords["admin"])
    try:
        for user, (project, role) in USERS.items():
            admin.ensure_user(user, passwords[user], project, role)
        # As OpenStack's own service users: admin on the service project too
        # (hosts read any project's servers and images on the control plane's behalf).
        admin.ensure_user("novaflow", passwords["novaflow"], "service", "admin")
        admin.ensure_catalog(api_url, own_urls)
    finally:
        admin.session.session.close()


def register_region(auth_url: str, admin_password: str, api_url: str, region: str) -> None:
    """A second control plane on a shared Keystone: its own endpoints in
    ``region``, with the image service of the first (RegionOne)."""
    admin = IdentityAdmin(auth_url, admin_password)
    try:
        image = next(s for s in admin.get("/services", "services") if s["type"] == "image")
        glance = next(e["url"] for e in admin.get("/endpoints", "endpoints",
                                                  service_id=image["id"], interface="public")
                      if e.get("region_id", REGION) == REGION)
        admin.ensure_catalog(api_url, {"image": glance}, region)
    finally:
        admin.session.session.close()
