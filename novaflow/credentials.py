"""The embedded stack's generated secrets: Keystone users' passwords, the
payload-codec key and the metadata proxy's shared secret, each made on first
start and kept in the state dir with mode 0600.  Nothing here is ever logged."""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

PASSWORDS_FILE = "passwords.json"
METADATA_SECRET_FILE = "metadata-secret.json"
CODEC_KEYS_FILE = "payload-keys.json"

# The Keystone users the embedded stack creates, by the role they stand for
# (``glance``: the image service's own service user, for its token checks).
USERS = ("admin", "demo", "reader", "novaflow", "other", "glance")


def _write_private(path: Path, data: dict) -> None:
    """Write JSON readable by the owner only (created 0600, never wider)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1)
    os.chmod(path, 0o600)


def _load_or_make(path: Path, make) -> dict:
    data = json.loads(path.read_text()) if path.exists() else {}
    fresh = make(data)
    if fresh != data:
        _write_private(path, fresh)
    return fresh


def passwords(state_dir: Path) -> dict[str, str]:
    """Every embedded user's password, generating those still missing."""
    def make(have: dict) -> dict:
        return {**{u: secrets.token_urlsafe(18) for u in USERS if u not in have}, **have}
    return _load_or_make(state_dir / PASSWORDS_FILE, make)


def metadata_secret(state_dir: Path) -> str:
    """The secret Neutron's metadata proxy signs instance ids with (made once)."""
    def make(have: dict) -> dict:
        return have if have.get("secret") else {"secret": secrets.token_urlsafe(32)}
    return _load_or_make(state_dir / METADATA_SECRET_FILE, make)["secret"]


class MissingKeys(RuntimeError):
    """No payload keys where they were expected."""


def codec_keys(state_dir: Path, create: bool = True) -> dict:
    """``{"active": key_id, "keys": {key_id: base64 key}}``, made on first use
    (only the embedded stack creates; other processes must be given them).

    To rotate: add a key, point ``active`` at it, keep the old ones for as long
    as histories encrypted with them must stay readable.
    """
    path = state_dir / CODEC_KEYS_FILE
    if not create and not path.exists():
        raise MissingKeys(f"no payload codec keys: set NOVAFLOW_CODEC_KEYS, or point "
                          f"--state-dir at the state dir of `novaflow up` ({path})")

    def make(have: dict) -> dict:
        if have.get("keys"):
            return have
        key_id = f"k-{secrets.token_hex(4)}"
        return {"active": key_id,
                "keys": {key_id: base64.b64encode(secrets.token_bytes(32)).decode()}}
    return _load_or_make(path, make)
