"""os-resetState (admin): set a server's vm_state to ``active`` or ``error``
and clear its task_state, as Nova's admin action does.

Like Nova's, it changes the row at once and records a ``resetState``
instance action; it starts no workflow.  An operation still running on the
server is not cancelled (Nova does not either): resetting is the operator's
way out of a state the server is stuck in, and the server's ``workflow_id``
is cleared so that the next operation starts afresh.
"""

from __future__ import annotations

from typing import Any

from api.actions import action
from api.actions.lock import record_action, server_row
from api.deps import AppHandles, RequestContext
from api.errors import BadRequest
from api.operations import check_transition
from api.validation import no_extra_keys
from novaflow.states import VmState
from schema.models import Instance, utcnow

RESET_STATE_POLICY = "os_compute_api:os-admin-actions:reset_state"
_STATES = {"active": VmState.ACTIVE, "error": VmState.ERROR}


def _state(body: Any) -> str:
    if not isinstance(body, dict) or "state" not in body:
        raise BadRequest("Invalid input for field/attribute os-resetState. Value: "
                         f"{body!r:.100}. 'state' is a required property")
    no_extra_keys(body, {"state"}, "os-resetState")
    state = body["state"]
    if state not in _STATES:
        raise BadRequest(f"Invalid input for field/attribute state. Value: {state!r:.50}. "
                         f"{state!r:.50} is not one of ['active', 'error']")
    return _STATES[state]


@action("os-resetState", operations=("resetState",))
async def reset_state(h: AppHandles, ctx: RequestContext, inst: Instance, body: Any) -> None:
    ctx.require_admin(RESET_STATE_POLICY)
    vm_state = _state(body)
    with h.db.writer() as s:
        row = server_row(s, inst)
        check_transition("resetState", row, ctx)
        row.vm_state, row.task_state, row.workflow_id = vm_state, None, None
        row.updated_at = utcnow()
        s.add(row)
        record_action(s, ctx, row, "resetState")
