"""/v2.1/os-quota-sets/{project_id}: show (the project itself or admins),
defaults, detail with usage, update and revert to defaults (admins)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import delete as sql_delete
from sqlmodel import select

from api import quotas
from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest
from api.schemas.common import check_versions
from api.schemas.quotas import QuotaSetUpdateRequest
from schema.models import Quota

router = APIRouter(prefix="/v2.1/os-quota-sets", tags=["quota sets"])

# Quotas Nova still shows at older microversions; fixed here, never enforced.
_LEGACY_NETWORK = {"fixed_ips": -1, "floating_ips": 10, "security_group_rules": 20,
                   "security_groups": 10}  # gone at 2.36
_LEGACY_FILES = {"injected_file_content_bytes": 10240, "injected_file_path_bytes": 255,
                 "injected_files": 5}  # gone at 2.57


def _legacy(ctx: RequestContext) -> dict[str, int]:
    out: dict[str, int] = {}
    if not ctx.version.at_least("2.36"):
        out.update(_LEGACY_NETWORK)
    if not ctx.version.at_least("2.57"):
        out.update(_LEGACY_FILES)
    return out


def _may_read(ctx: RequestContext, project_id: str) -> None:
    if project_id != ctx.project_id:
        ctx.require_admin("os_compute_api:os-quota-sets:show")


@router.get("/{project_id}")
async def show_quota_set(project_id: str, ctx: Ctx, h: Handles) -> dict:
    _may_read(ctx, project_id)
    with h.db.reader() as s:
        limits = quotas.project_limits(s, project_id, h.settings)
    return {"quota_set": {"id": project_id, **_legacy(ctx), **limits}}


@router.get("/{project_id}/defaults")
async def show_default_quota_set(project_id: str, ctx: Ctx, h: Handles) -> dict:
    with h.db.reader() as s:  # the default quota class's (os-quota-class-sets)
        limits = quotas.class_limits(s, "default", h.settings)
    return {"quota_set": {"id": project_id, **_legacy(ctx), **limits}}


@router.get("/{project_id}/detail")
async def show_quota_set_detail(project_id: str, ctx: Ctx, h: Handles) -> dict:
    _may_read(ctx, project_id)
    with h.db.reader() as s:
        limits = quotas.project_limits(s, project_id, h.settings)
        used = quotas.project_usage(s, project_id, ctx.user_id)
    detail = {r: {"in_use": 0, "limit": v, "reserved": 0} for r, v in _legacy(ctx).items()}
    detail.update({r: {"in_use": used[r], "limit": limits[r], "reserved": 0}
                   for r in quotas.RESOURCES})
    return {"quota_set": {"id": project_id, **detail}}


def _as_limit(resource: str, value: object) -> int:
    try:
        limit = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid input for field/attribute {resource}. Value: {value!r:.100}."
                         f" {value!r:.100} is not of type 'integer'") from None
    if isinstance(value, bool) or limit < -1:
        raise BadRequest(f"Invalid input for field/attribute {resource}. Value: {value!r:.100}."
                         f" {value!r:.100} is less than the minimum of -1")
    return limit


@router.put("/{project_id}")
async def update_quota_set(project_id: str, payload: QuotaSetUpdateRequest, ctx: Ctx,
                           h: Handles) -> dict:
    ctx.require_admin("os_compute_api:os-quota-sets:update")
    check_versions(payload, ctx.version)
    body = dict(payload.as_dict()["quota_set"])
    force = body.pop("force", False) in (True, "true", "True", "1", 1)
    allowed = set(quotas.RESOURCES) | set(_legacy(ctx))
    bad = sorted(set(body) - allowed)
    if bad:
        raise BadRequest(f"Invalid input for field/attribute quota_set. Additional properties "
                         f"are not allowed ({', '.join(repr(b) for b in bad)} "
                         f"{'was' if len(bad) == 1 else 'were'} unexpected)")
    wanted = {r: _as_limit(r, v) for r, v in body.items() if r in quotas.RESOURCES}
    with h.db.writer() as s:
        used = quotas.project_usage(s, project_id)
        for resource, limit in wanted.items():
            if not force and limit != -1 and resource in quotas.INSTANCE_RESOURCES \
                    and limit < used[resource]:
                raise BadRequest(f"Quota limit {limit} for {resource} must be greater than or "
                                 f"equal to already used and reserved {used[resource]}.")
            row = s.exec(select(Quota).where(Quota.project_id == project_id,
                                             Quota.resource == resource)).first()
            if row is None:
                row = Quota(project_id=project_id, resource=resource, hard_limit=limit)
            row.hard_limit = limit
            s.add(row)
        s.flush()
        limits = quotas.project_limits(s, project_id, h.settings)
    return {"quota_set": {**_legacy(ctx), **limits}}


@router.delete("/{project_id}", status_code=202)
async def revert_quota_set(project_id: str, ctx: Ctx, h: Handles) -> Response:
    ctx.require_admin("os_compute_api:os-quota-sets:delete")
    with h.db.writer() as s:
        s.execute(sql_delete(Quota).where(Quota.project_id == project_id))
    return Response(status_code=202)
