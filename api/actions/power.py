"""Power actions: os-start, os-stop, reboot, pause, unpause, suspend, resume.

Each checks Nova's allowed vm_states for the action (409 otherwise, in
Nova's words), refuses while another operation holds task_state, sets the
action's task_state (``powering-off``…), records the instance action and
starts a PowerActionWorkflow (workflows/power.py).
"""

from __future__ import annotations

from typing import Any

from temporalio.common import WorkflowIDConflictPolicy

from api import compute
from api.actions import action
from api.deps import AppHandles, RequestContext
from api.errors import BadRequest, ComputeFault, Conflict, NotFound
from novaflow import logs
from novaflow.queues import CONTROL_QUEUE
from schema.models import Instance, InstanceAction, utcnow
from workflows.power import POWER_ACTIONS, PowerActionWorkflow, PowerActionWorkflowInput

log = logs.get_logger("novaflow.api")


def _invalid_state(name: str, inst: Instance, attr: str, state: Any) -> Conflict:
    return Conflict(f"Cannot '{name}' instance {inst.uuid} while it is in {attr} {state}")


async def start_power_action(h: AppHandles, ctx: RequestContext, inst: Instance,
                             key: str) -> None:
    """Check the state, take task_state, start the workflow (202 on return)."""
    spec = POWER_ACTIONS[key]
    with h.db.writer() as s:
        row = s.get(Instance, inst.id)
        if row is None or row.deleted:
            raise NotFound(f"Instance {inst.uuid} could not be found.")
        if row.vm_state not in spec.allowed_vm_states:
            raise _invalid_state(spec.name, row, "vm_state", row.vm_state)
        if row.task_state is not None:
            raise _invalid_state(spec.name, row, "task_state", row.task_state)
        if not row.host:
            raise Conflict(f"Cannot '{spec.name}' instance {row.uuid}: it is not on any host")
        act = InstanceAction(action=spec.name, instance_uuid=row.uuid,
                             request_id=ctx.request_id, project_id=row.project_id,
                             user_id=ctx.user_id)
        s.add(act)
        s.flush()
        workflow_id = f"{spec.name}-{row.uuid}-{act.id}"
        act.workflow_id = workflow_id
        row.task_state = spec.task_state
        row.workflow_id = workflow_id
        row.updated_at = utcnow()
        s.add_all([act, row])
        action_id, host = act.id, row.host
    inp = PowerActionWorkflowInput(ctx=compute.op_context(ctx, row, action_id), key=key,
                                   host=host, timeouts=compute.op_timeouts(h))
    try:
        await h.temporal.start_workflow(
            PowerActionWorkflow.run, inp, id=workflow_id, task_queue=CONTROL_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=compute.search_attributes(row, spec.name),
            static_summary=f"{spec.name} {row.display_name} on {host}")
    except Exception as exc:
        log.error("could not start the power action", action=spec.name, error=repr(exc))
        with h.db.writer() as s:
            row = s.get(Instance, inst.id)
            if row.task_state == spec.task_state and row.workflow_id == workflow_id:
                row.task_state = None
                s.add(row)
        raise ComputeFault(f"The {spec.name} could not be started; try again later.") from exc


@action("reboot")
async def reboot(h: AppHandles, ctx: RequestContext, inst: Instance, body: Any) -> None:
    if not isinstance(body, dict) or set(body) - {"type"}:
        raise BadRequest("Invalid input for field/attribute reboot. Value: "
                         f"{body!r:.100}. It must be an object with only 'type'")
    kind = body.get("type")
    if not isinstance(kind, str) or kind.upper() not in ("SOFT", "HARD"):
        raise BadRequest("Invalid input for field/attribute type. Value: "
                         f"{kind!r:.50}. {kind!r:.50} is not one of ['HARD', 'Hard', 'hard', "
                         "'SOFT', 'Soft', 'soft']")
    await start_power_action(h, ctx, inst, f"reboot:{kind.upper()}")


def _no_body_action(name: str):
    async def handler(h: AppHandles, ctx: RequestContext, inst: Instance, _body: Any) -> None:
        await start_power_action(h, ctx, inst, name)
    handler.__name__ = name.replace("os-", "").replace("-", "_")
    return handler


# The actions whose body carries nothing but their name.
for _name in ("os-start", "os-stop", "pause", "unpause", "suspend", "resume"):
    action(_name)(_no_body_action(_name))
