"""The console proxy (Nova's ``nova-novncproxy`` and ``nova-serialproxy`` in
one): ``novaflow console-proxy``, a small ASGI app that takes a WebSocket at
``/?token=...``, checks the token and relays the connection to the console's
TCP port on its host — the guest's VNC server (RFB bytes, for noVNC) or its
serial port (``<serial type='tcp'>``).

A token (schema/console_tokens.py) is used up by the connection that
presents it: the row is deleted as it is checked, so it opens one session
only; an expired, used or unknown token, or one whose server has been
deleted meanwhile, gets the WebSocket closed with code 1008 and Nova's
message "The token is invalid or has expired" (the token itself is never
logged or echoed).  noVNC asks for the ``binary`` subprotocol; it is granted
when offered.  The query string carries the token: the server's uvicorn
writes no access log, and its "WebSocket /?token=..." lines are masked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass

from sqlmodel import select
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from novaflow import logs
from schema import console_tokens
from schema.db import Database
from schema.models import Instance

log = logs.get_logger("novaflow.console_proxy")

POLICY_VIOLATION = 1008  # RFC 6455: the token was refused
INTERNAL_ERROR = 1011  # the console's port could not be reached
INVALID_TOKEN = "The token is invalid or has expired"
CONNECT_TIMEOUT_S = 10.0
CHUNK = 64 * 1024


@dataclass
class Target:
    """Where a valid token leads."""

    instance_uuid: str
    console_type: str
    host: str
    port: int


def redeem(db: Database, token: str) -> Target | None:
    """Use the token up; where it leads, or None if it is not (or no longer) valid."""
    with db.writer() as s:
        row = console_tokens.consume(s, token)
        if row is None:
            return None
        inst = s.exec(select(Instance).where(Instance.uuid == row.instance_uuid)).first()
        if inst is None or inst.deleted:
            return None
        return Target(row.instance_uuid, row.console_type, row.host, row.port)


_TOKEN = re.compile(r"(token(?:=|%3D))[^&\s\"']+", re.IGNORECASE)


class HideTokens(logging.Filter):
    """Masks console tokens in log records (uvicorn logs each WebSocket's
    path and query string as it accepts it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(_TOKEN.sub(r"\1***", a) if isinstance(a, str) else a
                                for a in args)
        if isinstance(record.msg, str):
            record.msg = _TOKEN.sub(r"\1***", record.msg)
        return True


def console_proxy_app(db: Database) -> Starlette:
    """The proxy's ASGI app over the app database ``db``."""
    uvicorn_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, HideTokens) for f in uvicorn_log.filters):
        uvicorn_log.addFilter(HideTokens())

    async def console(ws: WebSocket) -> None:
        token = ws.query_params.get("token") or ws.cookies.get("token") or ""
        offered = ws.scope.get("subprotocols") or []
        await ws.accept(subprotocol="binary" if "binary" in offered else None)
        target = await asyncio.to_thread(redeem, db, token) if token else None
        if target is None:
            log.info("console connection refused: invalid token")
            await ws.close(POLICY_VIOLATION, INVALID_TOKEN)
            return
        bound = log.bind(server_id=target.instance_uuid, console_type=target.console_type)
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(target.host, target.port), CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            bound.warning("console port unreachable", host=target.host, port=target.port,
                          error=str(exc))
            await ws.close(INTERNAL_ERROR, "Failed to connect to the console")
            return
        bound.info("console session opened", host=target.host, port=target.port)
        try:
            await _relay(ws, reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            bound.info("console session closed")

    return Starlette(routes=[WebSocketRoute("/", console)])


async def _relay(ws: WebSocket, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
    """Copy both ways until either side closes."""

    async def client_to_console() -> None:
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                return
            data = msg.get("bytes")
            if data is None:
                data = (msg.get("text") or "").encode()
            writer.write(data)
            await writer.drain()

    async def console_to_client() -> None:
        while data := await reader.read(CHUNK):
            await ws.send_bytes(data)

    tasks = [asyncio.create_task(client_to_console()), asyncio.create_task(console_to_client())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, OSError,
                                     RuntimeError):
                await task
        with contextlib.suppress(RuntimeError, OSError):
            await ws.close()
