"""/v2.1/os-quota-class-sets/{class} (admin): show and update a quota class.
As in Nova, only the class "default" is used: its limits are every project's
defaults (api/quotas.py ``class_limits``); other classes are kept but unused.

Before 2.50 the answer carries nova-network's quotas (fixed values here,
never enforced) and not the server-group ones; before 2.57 file injection's.
An update answers without ``id``, as Nova's does."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import delete as sql_delete

from api import quotas
from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest
from api.schemas.common import check_versions
from api.schemas.quota_classes import QuotaClassSetUpdateRequest
from schema.models import QuotaClass

router = APIRouter(prefix="/v2.1/os-quota-class-sets", tags=["quota class sets"])

_NETWORK = {"fixed_ips": -1, "floating_ips": 10, "security_group_rules": 20,
            "security_groups": 10}  # shown before 2.50
_FILES = {"injected_file_content_bytes": 10240, "injected_file_path_bytes": 255,
          "injected_files": 5}  # shown before 2.57


def _view(ctx: RequestContext, limits: dict[str, int], class_name: str | None) -> dict:
    body: dict = {"id": class_name} if class_name is not None else {}
    body.update(limits)
    if not ctx.version.at_least("2.50"):
        body.update(_NETWORK)
        body.pop("server_groups", None)
        body.pop("server_group_members", None)
    if not ctx.version.at_least("2.57"):
        body.update(_FILES)
    return {"quota_class_set": body}


@router.get("/{class_name}")
def show_quota_class(class_name: str, ctx: Ctx, h: Handles) -> dict:
    with h.db.reader() as s:
        return _view(ctx, quotas.class_limits(s, class_name, h.settings), class_name)


@router.put("/{class_name}")
def update_quota_class(class_name: str, payload: QuotaClassSetUpdateRequest, ctx: Ctx,
                       h: Handles) -> dict:
    check_versions(payload.quota_class_set, ctx.version, "quota_class_set")
    if not 1 <= len(class_name) <= 255:
        raise BadRequest("Invalid input received: quota_class_name has a length of more "
                         "than 255 characters.")
    updates = {k: v for k, v in payload.quota_class_set.as_dict().items()
               if k in quotas.RESOURCES}  # nova-network's and injection's: accepted, unused
    with h.db.writer() as s:
        for resource, limit in updates.items():
            s.execute(sql_delete(QuotaClass).where(QuotaClass.class_name == class_name,
                                                   QuotaClass.resource == resource))
            s.add(QuotaClass(class_name=class_name, resource=resource, hard_limit=limit))
        s.flush()
        return _view(ctx, quotas.class_limits(s, class_name, h.settings), None)
