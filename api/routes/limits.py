"""/v2.1/limits: the project's absolute limits and what it uses of them.

Keys follow the microversion: network quotas go at 2.36, image metadata at
2.39, personality files at 2.57, as in Nova.  Rate limits are always empty.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api import quotas
from api.deps import Ctx, Handles
from api.schemas.lists import LimitsQuery

router = APIRouter(prefix="/v2.1/limits", tags=["limits"])


@router.get("")
async def show_limits(request: Request, ctx: Ctx, h: Handles,
                      _query: Annotated[LimitsQuery, Query()]) -> dict:
    project_id = request.query_params.get("tenant_id") or ctx.project_id
    if project_id != ctx.project_id:
        ctx.require_admin("os_compute_api:limits:other_project")
    with h.db.reader() as s:
        lim = quotas.project_limits(s, project_id, h.settings)
        used = quotas.project_usage(s, project_id)
    absolute = {
        "maxServerMeta": lim["metadata_items"],
        "maxTotalInstances": lim["instances"],
        "maxTotalCores": lim["cores"],
        "maxTotalRAMSize": lim["ram"],
        "maxTotalKeypairs": lim["key_pairs"],
        "maxServerGroups": lim["server_groups"],
        "maxServerGroupMembers": lim["server_group_members"],
        "totalInstancesUsed": used["instances"],
        "totalCoresUsed": used["cores"],
        "totalRAMUsed": used["ram"],
        "totalServerGroupsUsed": used["server_groups"],
    }
    v = ctx.version
    if not v.at_least("2.36"):
        absolute.update({"maxSecurityGroups": 10, "maxSecurityGroupRules": 20,
                         "maxTotalFloatingIps": 10, "totalSecurityGroupsUsed": 0,
                         "totalFloatingIpsUsed": 0})
    if not v.at_least("2.39"):
        absolute["maxImageMeta"] = 128
    if not v.at_least("2.57"):
        absolute.update({"maxPersonality": 5, "maxPersonalitySize": 10240})
    return {"limits": {"rate": [], "absolute": absolute}}
