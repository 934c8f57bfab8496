"""Errors the API answers with, always in Nova's body shape.

    NovaAPIError(status, key)            {"<key>": {"code": status, "message": ...}}
    ├── BadRequest          400 badRequest
    ├── Unauthorized        401 unauthorized
    ├── Forbidden           403 forbidden      (policy, quota exceeded)
    ├── NotFound            404 itemNotFound
    ├── MethodNotAllowed    405 badMethod
    ├── NotAcceptable       406 computeFault   (microversion out of range)
    ├── Conflict            409 conflictingRequest
    ├── OverLimit           413 overLimit
    ├── ComputeFault        500 computeFault   (never with a stack trace)
    ├── NotImplementedByDriver 501 notImplemented (the hypervisor cannot, e.g. changePassword)
    └── ServiceUnavailable  503 serviceUnavailable (Temporal or Keystone unreachable)

``install(app)`` maps these, FastAPI's validation errors and Starlette's HTTP
errors onto that shape, so no handler ever leaks ``{"detail": ...}``.
"""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from novaflow import logs

log = logs.get_logger("novaflow.api")


class NovaAPIError(Exception):
    status = 500
    key = "computeFault"

    def __init__(self, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict:
        return {self.key: {"code": self.status, "message": self.message}}


class BadRequest(NovaAPIError):
    status, key = 400, "badRequest"


class Unauthorized(NovaAPIError):
    status, key = 401, "unauthorized"


class Forbidden(NovaAPIError):
    status, key = 403, "forbidden"


class NotFound(NovaAPIError):
    status, key = 404, "itemNotFound"


class MethodNotAllowed(NovaAPIError):
    status, key = 405, "badMethod"


class NotAcceptable(NovaAPIError):
    # Nova has no fault name for 406, so its body falls back to computeFault.
    status, key = 406, "computeFault"


class Conflict(NovaAPIError):
    status, key = 409, "conflictingRequest"


class OverLimit(NovaAPIError):
    status, key = 413, "overLimit"


class ComputeFault(NovaAPIError):
    status, key = 500, "computeFault"


class NotImplementedByDriver(NovaAPIError):
    status, key = 501, "notImplemented"


class ServiceUnavailable(NovaAPIError):
    status, key = 503, "serviceUnavailable"


_BY_STATUS = {cls.status: cls for cls in
              (BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, NotAcceptable,
               Conflict, OverLimit, ComputeFault, ServiceUnavailable)}


def error_response(exc: NovaAPIError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


_TYPES = {"dict_type": "object", "model_type": "object", "model_attributes_type": "object",
          "list_type": "array", "string_type": "string", "int_type": "integer",
          "int_parsing": "integer", "int_from_float": "integer", "bool_type": "boolean",
          "bool_parsing": "boolean", "float_type": "number", "float_parsing": "number"}


_MEMBER = re.compile(r"^(constrained-|function-|literal\[|list\[|dict\[|tagged-union\[)"
                     r"|^(str|int|bool|float|list|dict|none|is-instance\[.*)$")


def _reason(err: dict) -> tuple[str, str]:
    """(field, reason) of one Pydantic error, worded as Nova's JSON-schema errors."""
    # Field names only: a list index or a union member's type names no field.
    loc = [str(p) for p in err.get("loc", ()) if isinstance(p, str)
           and p not in ("body", "query", "header", "path") and not _MEMBER.match(p)]
    kind, ctx, value = err.get("type", ""), err.get("ctx") or {}, err.get("input")
    leaf = loc[-1] if loc else "body"
    parent = loc[-2] if len(loc) > 1 else "body"  # the object missing or refusing a key
    shown = f"{value!r:.100}"
    if kind == "missing":
        return parent, f"'{leaf}' is a required property"
    if kind == "extra_forbidden":
        return parent, f"Additional properties are not allowed ('{leaf}' was unexpected)"
    if kind in _TYPES:
        return leaf, f"Value: {shown}. {shown} is not of type '{_TYPES[kind]}'"
    if kind in ("greater_than_equal", "greater_than"):
        return leaf, f"Value: {shown}. {shown} is less than the minimum of " \
                     f"{ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return leaf, f"Value: {shown}. {shown} is greater than the maximum of " \
                     f"{ctx.get('le', ctx.get('lt'))}"
    if kind == "string_too_short":
        return leaf, f"Value: {shown}. {shown} is too short"
    if kind == "string_too_long":
        return leaf, f"Value: {shown}. {shown} is too long"
    if kind == "string_pattern_mismatch":
        return leaf, f"Value: {shown}. {shown} does not match '{ctx.get('pattern')}'"
    if kind in ("literal_error", "enum"):
        return leaf, f"Value: {shown}. {shown} is not one of {ctx.get('expected')}"
    if kind == "json_invalid":
        return "body", "Malformed request body"
    msg = str(err.get("msg", "is invalid"))
    return leaf, f"Value: {shown}. {msg.removeprefix('Value error, ')}"


def _validation_message(exc: RequestValidationError) -> str:
    """Nova's wording for the first few failures of a declared schema."""
    parts = []
    for err in exc.errors()[:3]:
        field, reason = _reason(err)
        if reason == "Malformed request body":
            return reason
        parts.append(f"Invalid input for field/attribute {field}. {reason}")
    return "; ".join(parts) or "Invalid input"


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into Nova's body."""

    @app.exception_handler(NovaAPIError)
    async def _nova(_req: Request, exc: NovaAPIError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(BadRequest(_validation_message(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        cls = _BY_STATUS.get(exc.status_code)
        if exc.status_code == 404:
            message = "The resource could not be found."
        elif exc.status_code == 405:
            message = "The method is not allowed for the requested URL."
        else:
            message = str(exc.detail)
        if cls is None:
            body = {"computeFault": {"code": exc.status_code, "message": message}}
            return JSONResponse(body, status_code=exc.status_code)
        return error_response(cls(message))

    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected API error", error=repr(exc))
        return error_response(unexpected_fault())


def unexpected_fault() -> ComputeFault:
    """What a bug looks like to the client: Nova's message, no stack trace."""
    return ComputeFault("Unexpected API Error. Please report this at the novaflow issue "
                        "tracker and attach the request id.")
