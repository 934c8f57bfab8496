"""Soft delete (``reclaim_instance_interval`` > 0), restore and forceDelete.

``DELETE /servers/{id}`` asks ``soft_delete`` first: an idle server on a
host, in a state the table's ``soft_delete`` row accepts, is powered off and
kept SOFT_DELETED by a SoftDeleteServerWorkflow (workflows/soft_delete.py)
whose durable timer reclaims it later; any other server (busy, never
scheduled, in ERROR, already soft-deleted) is deleted at once, as before.
``restore`` powers a soft-deleted server on again (a PowerActionWorkflow
with the table's ``restore`` row); ``forceDelete`` deletes it now.
"""

from __future__ import annotations

from typing import Any

from api import compute
from api.actions import action
from api.actions.power import start_power_action
from api.deps import AppHandles, RequestContext
from api.operations import Operation, check_transition, op_timeouts, start_operation
from novaflow.states import transition
from schema.models import Instance
from workflows.soft_delete import SoftDeleteServerInput, SoftDeleteServerWorkflow


def _soft_deletable(h: AppHandles, inst: Instance) -> bool:
    rule = transition("soft_delete")
    return (h.settings.reclaim_instance_interval > 0 and bool(inst.host)
            and rule.refusal(inst.uuid, inst.vm_state, inst.task_state) is None)


async def soft_delete(h: AppHandles, ctx: RequestContext, inst: Instance) -> bool:
    """Start a soft delete if this server gets one; False if it is to be
    deleted at once."""
    if not _soft_deletable(h, inst):
        return False
    interval = float(h.settings.reclaim_instance_interval)
    await start_operation(h, ctx, inst, Operation(
        key="soft_delete", workflow=SoftDeleteServerWorkflow.run,
        workflow_id=lambda row, action_id: f"soft-delete-{row.uuid}-{action_id}",
        make_input=lambda op_ctx, _started: SoftDeleteServerInput(
            ctx=op_ctx, host=inst.host or "", reclaim_after_s=interval,
            timeouts=op_timeouts(h)),
        summary=f"soft delete {inst.display_name} (reclaimed after {interval:g} s)"))
    return True


@action("restore", operations=("restore",))
async def restore(h: AppHandles, ctx: RequestContext, inst: Instance, _body: Any) -> None:
    await start_power_action(h, ctx, inst, "restore")


@action("forceDelete", operations=("forceDelete",))
async def force_delete(h: AppHandles, ctx: RequestContext, inst: Instance, _body: Any) -> None:
    check_transition("forceDelete", inst, ctx)
    await compute.delete_server(h, ctx, inst)
