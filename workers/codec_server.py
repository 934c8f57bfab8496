"""The codec server the Temporal UI calls to show decoded payloads
(``temporal server start-dev --ui-codec-endpoint URL``; on a cluster, the UI's
``TEMPORAL_CODEC_ENDPOINT``).  ``POST /decode`` and ``POST /encode`` take and
return ``{"payloads": [{"metadata": {k: base64}, "data": base64}]}`` as
Temporal's codec-server protocol says; CORS lets the UI's origin call it.

It decrypts what the history holds, so it must be reachable only by whoever
may read the histories: the embedded stack binds it to 127.0.0.1 beside the
UI; on a cluster put it behind the same authentication as the UI."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec


def codec_app(codec: PayloadCodec, ui_origins: list[str]) -> FastAPI:
    """An ASGI app serving ``codec`` to the UIs at ``ui_origins``."""
    app = FastAPI(title="novaflow codec server", docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.add_middleware(CORSMiddleware, allow_origins=ui_origins, allow_credentials=True,
                       allow_methods=["POST", "OPTIONS"],
                       allow_headers=["content-type", "x-namespace", "authorization"])

    async def _apply(request: Request, encode: bool) -> JSONResponse:
        try:
            body = await request.json()
            payloads = [json_format.ParseDict(p, Payload()) for p in body["payloads"]]
            out = await (codec.encode(payloads) if encode else codec.decode(payloads))
        except Exception as exc:  # bad input is the caller's: 400, never 500
            return JSONResponse({"message": f"cannot {'en' if encode else 'de'}code: "
                                            f"{type(exc).__name__}"}, status_code=400)
        return JSONResponse({"payloads": [json_format.MessageToDict(p) for p in out]})

    @app.post("/decode")
    async def decode(request: Request) -> JSONResponse:
        return await _apply(request, encode=False)

    @app.post("/encode")
    async def encode(request: Request) -> JSONResponse:
        return await _apply(request, encode=True)

    return app
