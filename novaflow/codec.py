"""The payload codec: every payload Temporal stores (workflow inputs, activity
arguments and results, ...) is encrypted with AES-GCM before it leaves the
process, so a bearer token in an operation's context never sits in
Temporal's history or UI in clear.

An encrypted payload carries ``encoding: binary/encrypted`` and the id of its
key (``encryption-key-id``) in its metadata, so keys can rotate: new payloads
use the active key, old ones decrypt with whichever key they name.  Payloads
without that encoding (histories recorded before the codec) pass through.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Mapping, Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
_NONCE = 12


class UnknownKey(Exception):
    """A payload names a key this process does not have."""


class AESGCMCodec(PayloadCodec):
    """AES-256-GCM over the serialised payload; the key id is authenticated too."""

    def __init__(self, keys: Mapping[str, bytes], active: str):
        if active not in keys:
            raise ValueError(f"active key {active!r} is not among the keys")
        for key_id, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"key {key_id!r} is not 32 bytes")
        self._ciphers = {k: AESGCM(v) for k, v in keys.items()}
        self.active = active

    @classmethod
    def from_config(cls, config: Mapping) -> AESGCMCodec:
        """From ``{"active": id, "keys": {id: base64}}`` (the state dir's file)."""
        keys = {k: base64.b64decode(v) for k, v in config["keys"].items()}
        return cls(keys, config["active"])

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(_NONCE)
        key_id = self.active.encode()
        sealed = self._ciphers[self.active].encrypt(nonce, payload.SerializeToString(), key_id)
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # recorded before the codec, or by a process without one
        key_id = payload.metadata.get(KEY_ID, b"")
        cipher = self._ciphers.get(key_id.decode())
        if cipher is None:
            raise UnknownKey(f"payload encrypted with unknown key {key_id.decode()!r}")
        nonce, sealed = payload.data[:_NONCE], payload.data[_NONCE:]
        plain = Payload()
        plain.ParseFromString(cipher.decrypt(nonce, sealed, key_id))
        return plain


def is_encrypted(payloads: Iterable[Payload]) -> bool:
    return all(p.metadata.get("encoding") == ENCODING for p in payloads)


def decrypt_all(message, codec: AESGCMCodec) -> None:
    """Decrypt, in place, every payload anywhere inside a protobuf ``message``
    (e.g. a fetched workflow history, to save it readable by any replayer)."""
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        is_map = field.message_type.GetOptions().map_entry
        if is_map:
            items = list(value.values()) if field.message_type.fields_by_name[
                "value"].message_type is not None else []
        elif field.is_repeated:
            items = list(value)
        else:
            items = [value]
        for item in items:
            if isinstance(item, Payload):
                item.CopyFrom(codec.decrypt(item))
            else:
                decrypt_all(item, codec)
