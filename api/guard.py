"""The request guard: what every request body must pass before any route.

An ASGI middleware in front of the routes that

- answers 413 (Nova's ``overLimit`` body) to a body larger than
  ``max_request_body_size`` (114688 bytes, oslo.middleware's sizelimit
  default that Nova runs with), from its Content-Length or while reading;
- answers 400 (``badRequest``) to a JSON body that is not valid UTF-8 JSON,
  nests deeper than ``MAX_DEPTH`` (50,000 ``[`` would exhaust the parser's
  recursion), holds a non-finite number (``Infinity``, ``NaN``, ``1e400``)
  or a lone surrogate (``"\\ud800"``, which no database can store).

The body, once read, is handed on unchanged.
"""

from __future__ import annotations

import json
import math

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import BadRequest, NovaAPIError, OverLimit, error_response

MAX_REQUEST_BODY = 114688
MAX_DEPTH = 32  # Nova's deepest request body nests 5 levels
OFF_LOOP_BYTES = 16384  # larger bodies are checked in the thread pool


def _non_finite(text: str) -> float:
    raise ValueError(f"{text} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text:.50} is out of range")
    return value


def _too_deep(value: object) -> bool:
    """Whether parsed JSON nests deeper than MAX_DEPTH (iterative: linear, no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > MAX_DEPTH:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return False


def check_json(body: bytes) -> None:
    """Raise BadRequest unless ``body`` is JSON every handler can safely use.

    Linear in the body: the C parser refuses nesting past the interpreter's
    recursion limit itself (RecursionError), the depth check walks the parsed
    value without recursing, and one ``dumps`` finds any lone surrogate.
    """
    try:
        parsed = json.loads(body, parse_constant=_non_finite, parse_float=_finite)
    except RecursionError:
        raise BadRequest(f"Malformed request body: nested deeper than {MAX_DEPTH} "
                         "levels") from None
    except ValueError as exc:  # UnicodeDecodeError is a ValueError
        raise BadRequest(f"Malformed request body: {str(exc):.200}") from None
    if _too_deep(parsed):
        raise BadRequest(f"Malformed request body: nested deeper than {MAX_DEPTH} levels")
    try:
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("Malformed request body: a string holds an invalid Unicode "
                         "code point (lone surrogate)") from None


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            ctype = value.split(b";")[0].strip().lower()
            return ctype == b"application/json" or ctype.endswith(b"+json")
    return True  # no content type: the API parses JSON anyway


class RequestGuard:
    """ASGI middleware enforcing the body limits described in the module docstring."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_REQUEST_BODY):
        self.app = app
        self.max_body = max_body

    def _refuse(self, exc: NovaAPIError):
        return error_response(exc)

    def _over(self) -> OverLimit:
        return OverLimit(f"Request is too large. Larger than max_request_body_size "
                         f"({self.max_body}).")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or len(value) > 12
                                              or int(value) > self.max_body):
                await self._refuse(self._over())(scope, receive, send)
                return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay(b"", message, receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await self._refuse(self._over())(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body.strip() and _is_json(scope):
            try:
                if len(body) > OFF_LOOP_BYTES:  # tens of ms of parsing: not on the loop
                    await run_in_threadpool(check_json, body)
                else:
                    check_json(body)
            except BadRequest as exc:
                await self._refuse(exc)(scope, receive, send)
                return
        await self.app(scope, _replay(body, None, receive), send)


def _replay(body: bytes, pending: Message | None, receive: Receive) -> Receive:
    """A receive() that hands the app the body already read, then the real stream."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return pending or {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
