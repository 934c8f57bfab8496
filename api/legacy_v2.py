"""Nova's ``/v2`` endpoint: the v2.1 API in legacy-v2 compatible mode.

Nova serves ``/v2/+`` with the same controllers as ``/v2.1/+`` behind its
``LegacyV2CompatibleWrapper``: the microversion headers of the request are
ignored (so every request is served as the base version, 2.1), the response
carries no ``OpenStack-API-Version`` / ``X-OpenStack-Nova-API-Version`` (nor
their ``Vary``), and request bodies are validated softly: a property the
schema does not declare is dropped instead of refused (Nova's
``_soft_validate_additional_properties``; fields of later microversions are
undeclared at 2.1, so they are dropped too).

``LegacyV2Compat`` is a plain ASGI middleware that rewrites ``/v2/...`` to
``/v2.1/...`` and marks the request: ``LEGACY_V2`` (a context variable, read
by the request schemas) and ``scope["state"]["legacy_v2"]`` (read by the
request context, whose ``api_url`` then links to ``/v2``).  ``GET /v2`` and
``GET /v2/`` are the version document (api/routes/versions.py), not rewritten.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

LEGACY_V2: ContextVar[bool] = ContextVar("novaflow_legacy_v2", default=False)

_VERSION_HEADERS = {b"openstack-api-version", b"x-openstack-nova-api-version"}
_VERSION_NAMES = {"openstack-api-version", "x-openstack-nova-api-version"}


def _filtered_vary(value: bytes) -> bytes:
    kept = [v.strip() for v in value.decode("latin-1").split(",")
            if v.strip() and v.strip().lower() not in _VERSION_NAMES]
    return ", ".join(kept).encode("latin-1")


class LegacyV2Compat:
    """Serves ``/v2/<path>`` as ``/v2.1/<path>`` in Nova's legacy-v2 mode."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/v2/") or path == "/v2/":
            await self.app(scope, receive, send)
            return
        raw = scope.get("raw_path") or path.encode()
        scope = dict(scope, path="/v2.1" + path[3:],
                     raw_path=b"/v2.1" + raw[3:] if raw.startswith(b"/v2/") else raw,
                     headers=[(k, v) for k, v in scope["headers"]
                              if k.lower() not in _VERSION_HEADERS],
                     state={**scope.get("state", {}), "legacy_v2": True})

        async def send_without_versions(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = []
                for k, v in message.get("headers", []):
                    name = k.lower()
                    if name in _VERSION_HEADERS:
                        continue
                    if name == b"vary":
                        v = _filtered_vary(v)
                        if not v:
                            continue
                    headers.append((k, v))
                message = dict(message, headers=headers)
            await send(message)

        token = LEGACY_V2.set(True)
        try:
            await self.app(scope, receive, send_without_versions)
        finally:
            LEGACY_V2.reset(token)
