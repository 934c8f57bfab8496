"""Every Temporal client of novaflow is made here, with the payload codec, so
no process writes a payload in clear (see novaflow/codec.py)."""

from __future__ import annotations

import base64
import dataclasses

import temporalio.converter
from temporalio.client import Client

from novaflow.codec import AESGCMCodec
from novaflow.credentials import codec_keys
from novaflow.settings import Settings


def payload_codec(settings: Settings) -> AESGCMCodec:
    """The codec for ``settings``: its keys, or the state dir's (``novaflow up``
    makes them; any other process without them fails here, never silently
    with keys of its own)."""
    if settings.codec_keys:
        keys = {k: base64.b64decode(v.get_secret_value()) for k, v in settings.codec_keys.items()}
        return AESGCMCodec(keys, settings.codec_active_key or next(iter(keys)))
    return AESGCMCodec.from_config(codec_keys(settings.state_dir, create=False))


def data_converter(settings: Settings) -> temporalio.converter.DataConverter:
    return dataclasses.replace(temporalio.converter.default(),
                               payload_codec=payload_codec(settings))


async def connect(settings: Settings, address: str | None = None,
                  namespace: str | None = None) -> Client:
    """A client of ``settings``' Temporal that encrypts every payload."""
    return await Client.connect(address or settings.temporal_address,
                                namespace=namespace or settings.temporal_namespace,
                                data_converter=data_converter(settings))
