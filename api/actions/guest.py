"""Guest actions: trigger_crash_dump (2.17) and changePassword.

Started through ``start_operation`` as a GuestActionWorkflow
(workflows/guest_action.py).  Nova's API learns whether the hypervisor could
do it (its compute call fails fast), so the handler waits a few seconds for
the workflow's result and answers as Nova does: 400 "Triggering crash dump
is not supported" when the driver cannot inject an NMI (libvirt's test
driver), 409 when the guest is not running; 202 once it is done, or if it
is still running when the wait ends (the instance action then tells).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlmodel import select
from temporalio.client import WorkflowFailureError

from activities.types.day2 import GUEST_NOT_RUNNING, NOT_SUPPORTED
from api.actions import action
from api.deps import AppHandles, RequestContext
from api.errors import BadRequest, Conflict, NotFound, NotImplementedByDriver
from api.operations import Operation, check_transition, op_timeouts, start_operation
from api.validation import no_extra_keys
from schema.models import ComputeNode, Instance
from workflows.guest_action import GuestActionWorkflow, GuestActionWorkflowInput

# How long the API waits for a guest action's answer before it answers 202.
RESULT_WAIT_S = 10.0


async def _start_and_wait(h: AppHandles, ctx: RequestContext, inst: Instance,
                          key: str) -> str | None:
    """Start the guest action; the failure type if it failed within the wait."""
    started = await start_operation(h, ctx, inst, Operation(
        key=key, workflow=GuestActionWorkflow.run,
        workflow_id=lambda row, action_id: f"{key}-{row.uuid}-{action_id}",
        make_input=lambda op_ctx, _started: GuestActionWorkflowInput(
            ctx=op_ctx, key=key, host=inst.host or "", timeouts=op_timeouts(h)),
        summary=f"{key} {inst.display_name} on {inst.host}"))
    handle = h.temporal.get_workflow_handle(started.workflow_id)
    try:
        await asyncio.wait_for(handle.result(), RESULT_WAIT_S)
    except TimeoutError:
        return None
    except WorkflowFailureError as exc:
        return getattr(exc.cause, "type", None) or "failed"
    return None


@action("trigger_crash_dump", operations=("trigger_crash_dump",))
async def trigger_crash_dump(h: AppHandles, ctx: RequestContext, inst: Instance,
                             body: Any) -> None:
    if not ctx.version.at_least("2.17"):
        raise NotFound("There is no such action: trigger_crash_dump")
    if body is not None:
        raise BadRequest(f"Invalid input for field/attribute trigger_crash_dump. Value: "
                         f"{body!r:.100}. {body!r:.100} is not of type 'null'")
    failed = await _start_and_wait(h, ctx, inst, "trigger_crash_dump")
    if failed == NOT_SUPPORTED:
        raise BadRequest("Triggering crash dump is not supported")
    if failed == GUEST_NOT_RUNNING:
        raise Conflict(f"Instance {inst.uuid} is not running.")


# -- changePassword -----------------------------------------------------------------

SET_PASSWORD_UNSUPPORTED = "Set admin password is not supported"
AGENT_NOT_ENABLED = "QEMU guest agent is not enabled"


def _admin_pass(body: Any) -> str:
    if not isinstance(body, dict) or "adminPass" not in body:
        raise BadRequest("Invalid input for field/attribute changePassword. Value: "
                         f"{body!r:.20}. 'adminPass' is a required property")
    no_extra_keys(body, {"adminPass"}, "changePassword")
    if not isinstance(body["adminPass"], str):
        raise BadRequest("Invalid input for field/attribute adminPass. It is not of type "
                         "'string'")
    return body["adminPass"]


@action("changePassword", operations=("changePassword",))
async def change_password(h: AppHandles, ctx: RequestContext, inst: Instance,
                          body: Any) -> None:
    """Nova's libvirt driver sets a password only through the QEMU guest agent
    (kvm/qemu hosts, images with ``hw_qemu_guest_agent``); its refusals are
    409s, answered here from what the control plane knows.  Where the agent
    could do it, the password would have to reach the host in a workflow's
    input, which history keeps in clear until a payload codec encrypts it
    (DESIGN.md): until then, Nova's 501 for a driver that cannot."""
    _admin_pass(body)
    check_transition("changePassword", inst, ctx)
    with h.db.reader() as s:
        node = s.exec(select(ComputeNode).where(ComputeNode.host == inst.host)).first()
    if node is None or node.libvirt_uri.startswith("test:") or (
            node.hypervisor_type or "").upper() not in ("QEMU", "KVM"):
        raise Conflict(SET_PASSWORD_UNSUPPORTED)
    agent = str((inst.image or {}).get("properties", {}).get("hw_qemu_guest_agent", ""))
    if agent.lower() not in ("yes", "true", "1", "on", "y", "t"):
        raise Conflict(AGENT_NOT_ENABLED)
    raise NotImplementedByDriver("Unable to set password on instance")
