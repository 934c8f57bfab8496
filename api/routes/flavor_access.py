"""/v2.1/flavors/{id}/os-flavor-access and the flavor actions addTenantAccess /
removeTenantAccess (admin only): which projects may see and boot a private
flavor (the rule itself is in api/flavor_visibility.py)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import delete as sql_delete

from api.deps import Ctx, Handles
from api.errors import BadRequest, Conflict, NotFound
from api.flavor_visibility import projects_of, verify_project_id
from api.routes.flavors import get_flavor
from api.schemas.flavor_access import FlavorActionRequest
from schema.models import Flavor, FlavorProject

router = APIRouter(prefix="/v2.1/flavors", tags=["flavor access"])


def _access(flavor: Flavor, projects: list[str]) -> dict:
    return {"flavor_access": [{"flavor_id": flavor.flavorid, "tenant_id": p}
                              for p in projects]}


@router.get("/{flavor_id}/os-flavor-access")
def list_flavor_access(flavor_id: str, ctx: Ctx, h: Handles) -> dict:
    with h.db.reader() as s:
        flavor = get_flavor(s, flavor_id)
        if flavor.is_public:
            raise NotFound("Access list not available for public flavors.")
        return _access(flavor, projects_of(s, flavor.flavorid))


@router.post("/{flavor_id}/action")
def flavor_action(flavor_id: str, payload: FlavorActionRequest, ctx: Ctx, h: Handles) -> dict:
    # Plain def: the Keystone look-up and the database run in FastAPI's threads.
    sent = sorted(payload.model_fields_set)
    if len(sent) != 1:
        raise BadRequest("There is no such action: the body must hold exactly one action")
    adding = sent[0] == "addTenantAccess"
    tenant = (payload.addTenantAccess if adding else payload.removeTenantAccess).tenant
    try:
        verify_project_id(h.settings.keystone_auth_url(), ctx.token, tenant)
    except BadRequest:
        if adding:
            raise  # removing a deleted project's access is allowed, as in Nova
    with h.db.writer() as s:
        flavor = get_flavor(s, flavor_id)
        projects = projects_of(s, flavor.flavorid)
        if adding:
            if flavor.is_public and ctx.version.at_least("2.7"):
                raise Conflict("Can not add access to a public flavor.")
            if tenant in projects:
                raise Conflict(f"Flavor access already exists for flavor {flavor_id} and "
                               f"project {tenant} combination.")
            s.add(FlavorProject(flavorid=flavor.flavorid, project_id=tenant))
            projects.append(tenant)
        else:
            if tenant not in projects:
                raise NotFound(f"Flavor access not found for {flavor_id} / {tenant} "
                               "combination.")
            s.execute(sql_delete(FlavorProject).where(FlavorProject.flavorid == flavor.flavorid,
                                                      FlavorProject.project_id == tenant))
            projects.remove(tenant)
        return _access(flavor, projects)
