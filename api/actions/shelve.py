"""shelve, shelveOffload and unshelve.

``shelve`` (body null) stops the guest and, for an image-backed server,
snapshots it into a new private image ``<name>-shelved`` (created here when
the operation starts, as Nova's API does); then, per ``shelved_offload_time``,
the server is offloaded at once, later by a durable timer, or never
(workflows/shelve.py).  ``shelveOffload`` (admin) frees the host of a
SHELVED server now.  ``unshelve`` brings it back: at 2.77 with an
``availability_zone``, at 2.91 with a ``host`` (admin) or a null zone that
unpins the server; both only for a SHELVED_OFFLOADED server (409 otherwise,
as Nova).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from api.actions import action
from api.actions.snapshot import delete_snapshot_image, snapshot_image
from api.deps import AppHandles, RequestContext
from api.errors import BadRequest, Conflict
from api.operations import Operation, check_transition, op_timeouts, start_operation
from api.validation import no_extra_keys, string
from novaflow.states import VmState
from schema.models import ComputeNode, Instance
from workflows.shelve import (
    ShelveOffloadInput,
    ShelveOffloadWorkflow,
    ShelveServerInput,
    ShelveServerWorkflow,
    UnshelveServerInput,
    UnshelveServerWorkflow,
)

UNSHELVE_TO_HOST = "os_compute_api:os-shelve:unshelve_to_host"
_UNSET = object()


@action("shelve", operations=("shelve",))
async def shelve(h: AppHandles, ctx: RequestContext, inst: Instance, _body: Any) -> None:
    check_transition("shelve", inst, ctx)
    image_id = (await snapshot_image(h, ctx, inst, f"{inst.display_name}-shelved", "snapshot")
                if inst.image_ref else None)
    after = float(h.settings.shelved_offload_time)
    try:
        await start_operation(h, ctx, inst, Operation(
            key="shelve", workflow=ShelveServerWorkflow.run,
            workflow_id=lambda row, action_id: f"shelve-{row.uuid}-{action_id}",
            make_input=lambda op_ctx, _started: ShelveServerInput(
                ctx=op_ctx, host=inst.host or "", image_id=image_id,
                offload_after_s=after, timeouts=op_timeouts(h)),
            summary=f"shelve {inst.display_name} on {inst.host}"
                    + (" and offload" if after == 0 else ""),
            details=f"server {inst.uuid}" + (f", image {image_id}" if image_id else "")))
    except BaseException:
        if image_id:
            await delete_snapshot_image(h, image_id)
        raise


@action("shelveOffload", operations=("shelveOffload",))
async def shelve_offload(h: AppHandles, ctx: RequestContext, inst: Instance,
                         _body: Any) -> None:
    check_transition("shelveOffload", inst, ctx)
    await start_operation(h, ctx, inst, Operation(
        key="shelveOffload", workflow=ShelveOffloadWorkflow.run,
        workflow_id=lambda row, action_id: f"shelve-offload-{row.uuid}-{action_id}",
        make_input=lambda op_ctx, _started: ShelveOffloadInput(
            ctx=op_ctx, host=inst.host or "", timeouts=op_timeouts(h)),
        summary=f"offload shelved {inst.display_name} from {inst.host}"))


def _unshelve_body(h: AppHandles, ctx: RequestContext, inst: Instance,
                   body: Any) -> tuple[Any, str | None]:
    """(availability_zone or _UNSET, host) from the body, per microversion."""
    if body is None or not ctx.version.at_least("2.77"):
        return _UNSET, None
    if not isinstance(body, dict):
        raise BadRequest(f"Invalid input for field/attribute unshelve. Value: {body!r:.100}. "
                         f"{body!r:.100} is not of type 'object', 'null'")
    allowed = {"availability_zone"} | ({"host"} if ctx.version.at_least("2.91") else set())
    no_extra_keys(body, allowed, "unshelve")
    zone: Any = _UNSET
    if "availability_zone" in body:
        if body["availability_zone"] is None and not ctx.version.at_least("2.91"):
            raise BadRequest("Invalid input for field/attribute availability_zone. Value: "
                             "None. None is not of type 'string'")
        zone = string(body, "availability_zone", min_len=1)
    host = string(body, "host", min_len=1) if "host" in body else None
    if host is not None:
        ctx.authorize(UNSHELVE_TO_HOST)
    if (zone is not _UNSET or host) and inst.vm_state != VmState.SHELVED_OFFLOADED:
        raise Conflict(f"The server {inst.uuid} status must be SHELVED_OFFLOADED to unshelve "
                       "to a given availability zone or host")
    with h.db.reader() as s:
        nodes = s.exec(select(ComputeNode)).all()
    if isinstance(zone, str) and zone not in {n.availability_zone for n in nodes}:
        raise BadRequest("The requested availability zone is not available")
    if host is not None:
        node = next((n for n in nodes if n.host == host), None)
        if node is None:
            raise BadRequest(f"Compute host {host} could not be found.")
        if isinstance(zone, str) and node.availability_zone != zone:
            raise BadRequest(f"Host {host} is not in availability zone {zone}.")
    return zone, host


@action("unshelve", operations=("unshelve",))
async def unshelve(h: AppHandles, ctx: RequestContext, inst: Instance, body: Any) -> None:
    zone, host = _unshelve_body(h, ctx, inst, body)
    check_transition("unshelve", inst, ctx)
    pinned = inst.pinned_availability_zone

    def prepare(_s: Session, row: Instance, _workflow_id: str) -> None:
        if zone is not _UNSET:  # the new zone (None: unpinned) is the server's from now on
            row.pinned_availability_zone = zone

    def undo(s: Session, row: Instance, _workflow_id: str) -> None:
        back = s.get(Instance, row.id)
        back.pinned_availability_zone = pinned
        s.add(back)

    await start_operation(h, ctx, inst, Operation(
        key="unshelve", workflow=UnshelveServerWorkflow.run,
        workflow_id=lambda row, action_id: f"unshelve-{row.uuid}-{action_id}",
        make_input=lambda op_ctx, _started: UnshelveServerInput(
            ctx=op_ctx, availability_zone=zone if isinstance(zone, str) else None,
            host=host, max_attempts=h.settings.scheduler.max_attempts,
            timeouts=op_timeouts(h)),
        prepare=prepare, undo=undo,
        summary=f"unshelve {inst.display_name}"
                + (f" to {host}" if host else f" in zone {zone}" if isinstance(zone, str)
                   else "")))
