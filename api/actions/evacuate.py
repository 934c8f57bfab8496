"""evacuate (admin): rebuild a server on another host when its own host's
compute service is down or forced down.

Body per microversion, as Nova's schema: ``host`` and ``adminPass``;
``onSharedStorage`` required until 2.13 (and then no ``adminPass`` with it,
since the existing disk keeps its password); ``force`` from 2.29 to 2.67
(a named host past the scheduler's filters).  The source host's service must
be down: 400 "Compute service of <host> is still in use." otherwise, as
Nova's API answers ComputeServiceInUse.  A named host must exist and not be
the source.  Answers 200: ``{"adminPass": ...}`` until 2.13, no body after
(Nova 2.14).  From 2.95 the evacuated server is left stopped.

The migration record (type ``evacuation``) is written with the operation's
start (api/actions/moves.py ``_start_move``); EvacuateServerWorkflow
(workflows/evacuate.py) schedules, rebuilds and queues the source's clean-up.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from fastapi.responses import JSONResponse, Response
from sqlmodel import select

from api.actions import action
from api.actions.moves import _start_move
from api.deps import AppHandles, RequestContext
from api.errors import BadRequest, NotFound
from api.operations import check_transition, op_timeouts
from api.validation import no_extra_keys, string
from novaflow.rules import service_is_up
from schema.models import ComputeNode, ControlPlaneClock, Instance, Service
from workflows.evacuate import EvacuateServerInput, EvacuateServerWorkflow


def _allowed(ctx: RequestContext) -> set[str]:
    keys = {"host", "adminPass"}
    if not ctx.version.at_least("2.14"):
        keys.add("onSharedStorage")
    if ctx.version.at_least("2.29") and not ctx.version.at_least("2.68"):
        keys.add("force")
    return keys


def _boolean(body: dict, key: str) -> bool:
    value = body.get(key, False)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value!r:.50}. "
                         f"{value!r:.50} is not of type 'boolean'")
    return value


def _source_is_down(h: AppHandles, inst: Instance) -> bool:
    with h.db.reader() as s:
        svc = s.exec(select(Service).where(Service.host == inst.host,
                                           Service.binary == "nova-compute")).first()
        return not service_is_up(svc, h.settings.scheduler.service_down_time,
                                 clock=ControlPlaneClock.read(s))


def _target(h: AppHandles, inst: Instance, host: str | None) -> None:
    if host is None:
        return
    with h.db.reader() as s:
        node = s.exec(select(ComputeNode).where(ComputeNode.host == host)).first()
    if node is None:
        raise NotFound(f"Compute host {host} could not be found.")
    if host == inst.host:
        raise BadRequest("The target host can't be the same one.")


@action("evacuate", operations=("evacuate",))
async def evacuate(h: AppHandles, ctx: RequestContext, inst: Instance, body: Any):
    if not isinstance(body, dict):
        raise BadRequest(f"Invalid input for field/attribute evacuate. Value: {body!r:.100}. "
                         f"{body!r:.100} is not of type 'object'")
    no_extra_keys(body, _allowed(ctx), "evacuate")
    host = string(body, "host", min_len=1)
    password = string(body, "adminPass")
    shared = False
    if not ctx.version.at_least("2.14"):
        if "onSharedStorage" not in body:
            raise BadRequest("Invalid input for field/attribute evacuate. 'onSharedStorage' "
                             "is a required property")
        shared = _boolean(body, "onSharedStorage")
        if shared and password:
            raise BadRequest("admin password can't be changed on existing disk")
    force = _boolean(body, "force") if "force" in body else False
    if force and host is None:
        raise BadRequest("Can't force to a non-provided destination")
    check_transition("evacuate", inst, ctx)
    _target(h, inst, host)
    if not await asyncio.to_thread(_source_is_down, h, inst):
        raise BadRequest(f"Compute service of {inst.host} is still in use.")
    if not shared:
        password = password or secrets.token_urlsafe(9)
    stop_after = ctx.version.at_least("2.95")
    await _start_move(
        h, ctx, inst, "evacuate", new_flavor=None, status="accepted",
        make_input=lambda op_ctx, mig_id: EvacuateServerInput(
            ctx=op_ctx, migration_id=mig_id, host=host, force=force, stop_after=stop_after,
            max_attempts=h.settings.scheduler.max_attempts, timeouts=op_timeouts(h)),
        workflow=EvacuateServerWorkflow.run)
    if ctx.version.at_least("2.14") or shared:
        return Response(status_code=200)
    return JSONResponse({"adminPass": password}, status_code=200)
