"""Every request's id, microversion headers and log line, as plain ASGI
middleware.

Each request gets ``req-<uuid>`` (bound to the log context and answered in
``x-openstack-request-id`` and ``x-compute-request-id``); a ``/v2.1/`` request
has its microversion parsed (406 at once if unsupported) and answered in the
version headers; an exception the app let through becomes Nova's 500 fault
body, never a stack trace; and one ``request`` line is logged with the method,
the path (console tokens hidden), the status and the time taken.

It was Starlette's ``@app.middleware("http")``, which runs the rest of the app
in a task of its own and streams the response through a memory channel: a
cost every request paid, 200 of them a second while a boot benchmark polls.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.microversion import requested_version, response_headers
from novaflow import logs

log = logs.get_logger("novaflow.api")


class RequestIds:
    def __init__(self, app: ASGIApp, loggable: Callable[[str], str]):
        self.app = app
        self.loggable = loggable

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"req-{uuid.uuid4()}"
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        logs.clear()
        logs.bind(request_id=request_id)
        started = time.perf_counter()
        extra = {"x-openstack-request-id": request_id, "x-compute-request-id": request_id}
        status = [500]

        async def answer(response) -> None:
            await response(scope, receive, send_with_ids)

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = MutableHeaders(scope=message)
                for key, value in extra.items():
                    headers[key] = value
            await send(message)

        try:
            if scope["path"].startswith("/v2.1/"):
                try:
                    ver = requested_version(Headers(scope=scope))
                except errors.NovaAPIError as exc:
                    await answer(errors.error_response(exc))
                    return
                state["api_version"] = ver
                extra.update(response_headers(ver))
            started_response = [False]

            async def tracking(message: Message) -> None:
                if message["type"] == "http.response.start":
                    started_response[0] = True
                await send_with_ids(message)

            try:
                await self.app(scope, receive, tracking)
            except Exception as exc:  # never a stack trace, and always the request ids
                log.exception("unexpected API error", error=repr(exc))
                if started_response[0]:
                    raise
                await answer(errors.error_response(errors.unexpected_fault()))
        finally:
            log.info("request", method=scope["method"], path=self.loggable(scope["path"]),
                     status=status[0], ms=round((time.perf_counter() - started) * 1000, 1))
