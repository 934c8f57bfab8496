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
    └── ServiceUnavailable  503 serviceUnavailable (Temporal cannot take the operation)

``install(app)`` maps these, FastAPI's validation errors and Starlette's HTTP
errors onto that shape, so no handler ever leaks ``{"detail": ...}``.
"""

from __future__ import annotations

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


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return "Invalid input for field/attribute " + "; ".join(parts)


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
