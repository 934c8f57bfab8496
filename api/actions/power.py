"""Power actions: os-start, os-stop, reboot, pause, unpause, suspend, resume.

Each starts a PowerActionWorkflow (workflows/power.py) through
``start_operation``; the transitions table (novaflow/states.py) says from
which states each may start and which task_state it holds.
"""

from __future__ import annotations

from typing import Any

from api.actions import action
from api.deps import AppHandles, RequestContext
from api.errors import BadRequest
from api.operations import Operation, op_timeouts, start_operation
from novaflow.states import transition
from schema.models import Instance
from workflows.power import PowerActionWorkflow, PowerActionWorkflowInput


async def start_power_action(h: AppHandles, ctx: RequestContext, inst: Instance,
                             key: str) -> None:
    """Start the power action ``key`` (a transitions-table key); 202 on return."""
    name = transition(key).operation
    await start_operation(h, ctx, inst, Operation(
        key=key, workflow=PowerActionWorkflow.run, search_operation=name,
        workflow_id=lambda row, action_id: f"{name}-{row.uuid}-{action_id}",
        make_input=lambda op_ctx, _started: PowerActionWorkflowInput(
            ctx=op_ctx, key=key, host=inst.host or "", timeouts=op_timeouts(h)),
        summary=f"{name} {inst.display_name} on {inst.host}"))


@action("reboot", operations=("reboot:SOFT", "reboot:HARD"))
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


def _no_body_action(key: str):
    async def handler(h: AppHandles, ctx: RequestContext, inst: Instance, _body: Any) -> None:
        await start_power_action(h, ctx, inst, key)
    handler.__name__ = key
    return handler


# The actions whose body carries nothing but their name: API key -> table key.
for _name, _key in (("os-start", "start"), ("os-stop", "stop"), ("pause", "pause"),
                    ("unpause", "unpause"), ("suspend", "suspend"), ("resume", "resume")):
    action(_name, operations=(_key,))(_no_body_action(_key))
