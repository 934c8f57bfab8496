"""``POST /v2.1/os-server-external-events``: events other services send Nova
(Neutron's ``network-vif-plugged`` when a port is bound, Cinder's
``volume-extended``...), admin or service role only.

Each event is answered on its own, as Nova does: 200 delivered, 404 no such
server, 422 a server that is neither on a host nor being built; the response
is 200 when every event was delivered, 207 when some were not, 404 when none
was.  Delivered means signalled (``external_event``) to the server's running
build workflow (see workflows/boot.py), the one operation that waits for
events (``network-vif-plugged``).  Other servers take the event and drop it,
as a Nova compute drops an event nothing waits for: Neutron's events when a
move rebinds the ports go nowhere.  (A signal that lands while a workflow
task runs makes Temporal retry that task, and the local activities it ran
run again: a signal nobody waits for is not sent.)"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from sqlmodel import select
from temporalio.service import RPCError

from activities.types.external_events import EVENT_NAMES, SIGNAL, ExternalEvent
from api.deps import Ctx, Handles
from api.errors import BadRequest, NotFound
from api.schemas.external_events import ExternalEventsRequest
from novaflow import logs
from novaflow.states import VmState
from schema.models import Instance

log = logs.get_logger("novaflow.api")
router = APIRouter(prefix="/v2.1/os-server-external-events", tags=["external-events"])


@router.post("")
async def create_events(payload: ExternalEventsRequest, response: Response, ctx: Ctx,
                        h: Handles) -> dict:
    events = payload.as_dict()["events"]
    for ev in events:
        ev.setdefault("status", "completed")
        since = EVENT_NAMES.get(ev["name"])
        if since is None or not ctx.version.at_least(since):
            raise BadRequest(f"Invalid input for field/attribute name. Value: {ev['name']}. "
                             f"'{ev['name']}' is not one of {sorted(EVENT_NAMES)}")
    uuids = {ev["server_uuid"] for ev in events}

    def load() -> dict[str, Instance]:
        with h.db.reader() as s:
            rows = s.exec(select(Instance).where(Instance.uuid.in_(uuids),
                                                 Instance.deleted == False)).all()  # noqa: E712
            return {i.uuid: i for i in rows}
    servers = await asyncio.to_thread(load)
    out = []
    for ev in events:
        inst = servers.get(ev["server_uuid"])
        result = {"name": ev["name"], "server_uuid": ev["server_uuid"],
                  "status": ev["status"], **({"tag": ev["tag"]} if ev.get("tag") else {})}
        if inst is None:
            result["code"] = 404
        elif not inst.host and inst.vm_state != VmState.BUILDING:
            result["code"] = 422
        else:
            result["code"] = 200
            workflow_id = _running_workflow(inst)
            if workflow_id:
                await _signal(h, workflow_id, ExternalEvent(
                    name=ev["name"], server_uuid=inst.uuid, tag=ev.get("tag") or "",
                    status=ev["status"]))
        out.append(result)
    if all(r["code"] != 200 for r in out):
        raise NotFound("No instances found for any event")
    response.status_code = 200 if all(r["code"] == 200 for r in out) else 207
    return {"events": out}


def _running_workflow(inst: Instance) -> str | None:
    """The workflow that waits for the server's events: its build."""
    return f"boot-{inst.uuid}" if inst.vm_state == VmState.BUILDING else None


async def _signal(h, workflow_id: str, event: ExternalEvent) -> None:
    handle = h.temporal.get_workflow_handle(workflow_id)
    try:
        await handle.signal(SIGNAL, event)
    except RPCError as exc:
        # The operation already ended (or was never started): nothing waits.
        log.info("external event not delivered", event_name=event.name,
                 server_id=event.server_uuid, workflow_id=workflow_id, reason=str(exc))
