"""Who sees and boots which flavor (Nova's ``_flavor_get_query_from_db``):
admins every flavor; others the public ones and the private ones their project
was given with ``addTenantAccess`` (``flavor_projects``).  Also the project
check Nova makes before granting access (``nova/api/openstack/identity.py``):
Keystone is asked with the caller's own token."""

from __future__ import annotations

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from sqlalchemy import delete as sql_delete
from sqlalchemy import or_
from sqlmodel import Session, select

from api.errors import BadRequest, ServiceUnavailable
from schema.models import Flavor, FlavorProject


def visible(stmt, ctx):
    """``stmt`` (a select of Flavor) narrowed to the flavors the caller may see."""
    if ctx.is_admin:
        return stmt
    granted = select(FlavorProject.flavorid).where(FlavorProject.project_id == ctx.project_id)
    return stmt.where(or_(Flavor.is_public == True, Flavor.flavorid.in_(granted)))  # noqa: E712


def may_use(s: Session, ctx, flavor: Flavor) -> bool:
    if flavor.is_public or ctx.is_admin:
        return True
    return s.exec(select(FlavorProject.id).where(
        FlavorProject.flavorid == flavor.flavorid,
        FlavorProject.project_id == ctx.project_id)).first() is not None


def projects_of(s: Session, flavorid: str) -> list[str]:
    return list(s.exec(select(FlavorProject.project_id)
                       .where(FlavorProject.flavorid == flavorid)
                       .order_by(FlavorProject.id)).all())


def verify_project_id(auth_url: str, token: str, project_id: str, timeout: float = 10) -> None:
    """400 if Keystone says the project does not exist; a 403 (the caller may not
    look) is accepted, as Nova does.  Blocking: call it from a thread."""
    sess = ks_session.Session(timeout=timeout)
    try:
        resp = sess.get(f"{auth_url.rstrip('/')}/projects/{project_id}", raise_exc=False,
                        headers={"X-Auth-Token": token})
    except ks_exc.ClientException as exc:
        raise ServiceUnavailable("Nova was unable to find Keystone service endpoint.") \
            from exc
    if resp.status_code == 404:
        raise BadRequest(f"Project ID {project_id} is not a valid project.")
    if resp.status_code not in (200, 403):
        raise ServiceUnavailable("Nova was unable to find Keystone service endpoint.")


def forget_flavor(s: Session, flavorid: str) -> None:
    """Drop a deleted flavor's access list."""
    s.execute(sql_delete(FlavorProject).where(FlavorProject.flavorid == flavorid))
