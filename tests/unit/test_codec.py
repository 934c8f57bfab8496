"""The payload codec: AES-GCM with the key id in the metadata (so keys can
rotate), plain payloads passing through, and the codec server the Temporal
UI calls."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.exceptions import InvalidTag
from fastapi.testclient import TestClient
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload

from novaflow.codec import ENCODING, KEY_ID, AESGCMCodec, UnknownKey
from novaflow.credentials import codec_keys, passwords
from workers.codec_server import codec_app

SECRET = b'{"token": "gAAAAAB-very-secret"}'


def plain() -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=SECRET)


async def test_round_trip_hides_the_data_and_names_the_key():
    codec = AESGCMCodec({"k1": os.urandom(32)}, "k1")
    (enc,) = await codec.encode([plain()])
    assert SECRET not in enc.SerializeToString()
    assert enc.metadata["encoding"] == ENCODING and enc.metadata[KEY_ID] == b"k1"
    assert await codec.decode([enc]) == [plain()]


async def test_plain_payloads_pass_through():
    codec = AESGCMCodec({"k1": os.urandom(32)}, "k1")
    assert await codec.decode([plain()]) == [plain()]


async def test_rotation_keeps_old_payloads_readable():
    old, new = os.urandom(32), os.urandom(32)
    (enc_old,) = await AESGCMCodec({"k1": old}, "k1").encode([plain()])
    rotated = AESGCMCodec({"k1": old, "k2": new}, "k2")
    (enc_new,) = await rotated.encode([plain()])
    assert enc_new.metadata[KEY_ID] == b"k2"
    assert await rotated.decode([enc_old, enc_new]) == [plain(), plain()]
    with pytest.raises(UnknownKey):
        await AESGCMCodec({"k2": new}, "k2").decode([enc_old])


async def test_tampering_is_detected():
    codec = AESGCMCodec({"k1": os.urandom(32)}, "k1")
    (enc,) = await codec.encode([plain()])
    enc.data = enc.data[:-1] + bytes([enc.data[-1] ^ 1])
    with pytest.raises(InvalidTag):
        await codec.decode([enc])


def test_keys_and_passwords_are_made_once_and_private(tmp_path):
    keys = codec_keys(tmp_path)
    assert codec_keys(tmp_path) == keys
    assert len(base64.b64decode(keys["keys"][keys["active"]])) == 32
    pw = passwords(tmp_path)
    assert passwords(tmp_path) == pw and {"admin", "demo", "reader", "novaflow"} <= set(pw)
    for name in ("payload-keys.json", "passwords.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600


async def test_codec_server_decodes_for_the_ui_origin_and_refuses_junk():
    codec = AESGCMCodec({"k1": os.urandom(32)}, "k1")
    (enc,) = await codec.encode([plain()])
    ui = "http://127.0.0.1:8233"
    with TestClient(codec_app(codec, [ui])) as http:
        pre = http.options("/decode", headers={"Origin": ui,
                                               "Access-Control-Request-Method": "POST",
                                               "Access-Control-Request-Headers": "content-type"})
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == ui
        resp = http.post("/decode", headers={"Origin": ui},
                         json={"payloads": [json_format.MessageToDict(enc)]})
        assert resp.status_code == 200
        (out,) = resp.json()["payloads"]
        assert json_format.ParseDict(out, Payload()) == plain()
        junk = {"metadata": {"encoding": base64.b64encode(ENCODING).decode(),
                             KEY_ID: base64.b64encode(b"k1").decode()},
                "data": base64.b64encode(b"not a sealed payload").decode()}
        assert http.post("/decode", json={"payloads": [junk]}).status_code == 400
        assert http.post("/decode", content=b"nope").status_code == 400
        bad = http.options("/decode", headers={"Origin": "http://evil.example",
                                               "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in bad.headers


def test_only_the_embedded_stack_makes_keys(tmp_path):
    from novaflow.credentials import MissingKeys
    from novaflow.settings import Settings
    from novaflow.temporal_client import payload_codec

    with pytest.raises(MissingKeys):
        payload_codec(Settings(state_dir=tmp_path))
    key = base64.b64encode(os.urandom(32)).decode()
    given = payload_codec(Settings(state_dir=tmp_path, codec_keys={"k9": key},
                                   codec_active_key="k9"))
    assert given.active == "k9"
    codec_keys(tmp_path)  # what `novaflow up` does on first start
    assert payload_codec(Settings(state_dir=tmp_path)).active.startswith("k-")
