"""Remote consoles: ask the server's host where its console listens, issue a
one-time token for it, and build the URL of the console proxy.

Nova's order of checks (``compute/api.py get_vnc_console`` and the compute
manager's): the server's state (409 ``Cannot 'get_vnc_console' instance ...``;
novaflow serves consoles of ACTIVE, idle servers only), then the console type
for the protocol (400 ``Invalid console type ...``), then the host: a guest
without such a console is Nova's ``ConsoleTypeUnavailable``, 400
``Unavailable console type vnc.`` (the protocol, as Nova's libvirt driver
words it) — what libvirt's test driver answers, as its
domains have no graphics and no serial port.  Protocols novaflow does not
serve (spice, rdp, mks) are unavailable consoles too, as on a Nova host with
them disabled.

The token exists in clear only in the URL returned to the caller; the
database keeps its SHA-256 (schema/console_tokens.py).
"""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlencode

from temporalio.client import WorkflowFailureError

from activities.types.consoles import SERIAL, VNC
from api.deps import AppHandles, RequestContext
from api.errors import BadRequest, Conflict, NotFound
from api.operations import check_transition, failure_type, read_on_host
from novaflow import errors
from schema import console_tokens
from schema.models import Instance
from workflows.console import RemoteConsoleWorkflow, RemoteConsoleWorkflowInput

# The console types each served protocol offers (Nova's handlers accept only these).
SERVED = {VNC: ("novnc",), SERIAL: ("serial",)}


def operation(protocol: str) -> str:
    """The transitions-table row (and Nova's word in a 409) of a console request."""
    return f"get_{protocol}_console"


def access_url(base: str, console_type: str, token: str) -> str:
    """Nova's access URL: noVNC reads the token from its ``path`` parameter
    (``vnc_auto.html?path=%3Ftoken%3D...``); a serial client connects its
    WebSocket to ``ws://.../?token=...``."""
    if console_type == "novnc":
        return f"{base}/vnc_auto.html?{urlencode({'path': f'?token={token}'})}"
    ws_base = "ws" + base[len("http"):] if base.startswith("http") else base
    return f"{ws_base}/?token={token}"


async def console_url(h: AppHandles, ctx: RequestContext, inst: Instance, protocol: str,
                      console_type: str) -> str:
    """The URL of a new console session on ``inst`` (see the module docstring)."""
    if protocol not in SERVED:
        raise BadRequest(f"Unavailable console type {console_type}.")
    check_transition(operation(protocol), inst, ctx)
    if console_type not in SERVED[protocol]:
        raise BadRequest(f"Invalid console type {console_type}.")
    try:
        where = await read_on_host(
            h, RemoteConsoleWorkflow.run,
            RemoteConsoleWorkflowInput(server_id=inst.uuid, host=inst.host, protocol=protocol),
            f"remote-console-{inst.uuid}-{uuid.uuid4().hex[:8]}",
            f"{protocol} console of {inst.display_name} on {inst.host}")
    except WorkflowFailureError as exc:
        kind = failure_type(exc.cause)
        if kind == errors.CONSOLE_UNAVAILABLE:  # Nova's libvirt driver names the protocol
            raise BadRequest(f"Unavailable console type {protocol}.") from exc
        if kind == errors.NOT_FOUND:
            raise NotFound(f"Instance {inst.uuid} could not be found.") from exc
        raise Conflict(f"Instance {inst.uuid} is not ready.") from exc

    def store() -> str:
        with h.db.writer() as s:
            return console_tokens.issue(
                s, instance_uuid=inst.uuid, console_type=console_type, host=where.host,
                port=where.port, internal_access_path=where.internal_access_path,
                ttl=h.settings.console_token_ttl)

    token = await asyncio.to_thread(store)
    return access_url(h.settings.console_proxy_base(), console_type, token)
