"""/v2.1/os-keypairs: import (or, before 2.92, generate) SSH and x509 keys.

Key pairs belong to a user, not a project.  The fingerprint is Nova's: the
MD5 of an SSH key's blob, the SHA-1 of an x509 certificate, colon-separated.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Annotated

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from api import quotas
from api.deps import Ctx, Handles, RequestContext
from api.errors import BadRequest, Conflict, Forbidden, NotFound
from api.schemas.common import check_versions
from api.schemas.keypairs import KeypairCreateRequest, KeypairListQuery, KeypairShowQuery
from api.views import isotime, page
from schema.models import KeyPair

router = APIRouter(prefix="/v2.1/os-keypairs", tags=["keypairs"])

_NAME = re.compile(r"^[a-zA-Z0-9 _-]+$")
_NAME_292 = re.compile(r"^[a-zA-Z0-9 @._-]+$")  # 2.92 allows '@' and '.'


def _colons(digest: str) -> str:
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def fingerprint(public_key: str, key_type: str) -> str:
    """Nova's fingerprint of a public key, or 400 if it is not one."""
    try:
        if key_type == "x509":
            cert = x509.load_pem_x509_certificate(public_key.encode())
            der = cert.public_bytes(serialization.Encoding.DER)
            return _colons(hashlib.sha1(der).hexdigest())
        serialization.load_ssh_public_key(public_key.strip().encode())
        blob = base64.b64decode(public_key.split()[1])
        return _colons(hashlib.md5(blob).hexdigest())
    except (ValueError, IndexError, TypeError, UnicodeError):
        raise BadRequest("Keypair data is invalid: failed to generate fingerprint") from None


def _generate() -> tuple[str, str]:
    """A new RSA key pair: (OpenSSH public key, PEM private key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    return f"{public} Generated-by-Nova", private


def _user(ctx: RequestContext, request: Request | None, body: dict | None = None) -> str:
    """Whose key pairs: the caller's, or (admins, 2.10+) the ``user_id`` asked for."""
    wanted = None
    if body is not None:
        wanted = body.get("user_id")
    elif request is not None:
        wanted = request.query_params.get("user_id")
    if wanted is None or not ctx.version.at_least("2.10"):
        return ctx.user_id
    if wanted != ctx.user_id:
        op = "create" if request is None else {"GET": "index" if request.url.path.endswith(
            "os-keypairs") else "show", "DELETE": "delete"}.get(request.method, "create")
        ctx.authorize(f"os_compute_api:os-keypairs:{op}",
                      {"user_id": str(wanted), "project_id": ctx.project_id})
    return str(wanted)


def _view(ctx: RequestContext, kp: KeyPair, full: bool = False) -> dict:
    body = {"name": kp.name, "public_key": kp.public_key, "fingerprint": kp.fingerprint}
    if ctx.version.at_least("2.2"):
        body["type"] = kp.type
    if full:
        body.update({"user_id": kp.user_id, "created_at": isotime(kp.created_at),
                     "deleted": False, "deleted_at": None, "updated_at": None, "id": kp.id})
    return body


def _get(s: Session, user_id: str, name: str) -> KeyPair:
    kp = s.exec(select(KeyPair).where(KeyPair.user_id == user_id,
                                      KeyPair.name == name)).first()
    if kp is None:
        raise NotFound(f"Keypair {name} not found for user {user_id}")
    return kp


@router.get("")
async def list_keypairs(request: Request, ctx: Ctx, h: Handles,
                        _query: Annotated[KeypairListQuery, Query()]) -> dict:
    user_id = _user(ctx, request)
    with h.db.reader() as s:
        rows = list(s.exec(select(KeyPair).where(KeyPair.user_id == user_id)
                           .order_by(KeyPair.name)).all())
    if ctx.version.at_least("2.35"):
        rows, links = page(ctx, request, rows, key=lambda k: k.name, collection="os-keypairs",
                           max_limit=h.settings.api_max_limit)
    else:
        links = None
    out: dict = {"keypairs": [{"keypair": _view(ctx, k)} for k in rows]}
    if links:
        out["keypairs_links"] = links
    return out


@router.get("/{name}")
async def show_keypair(name: str, request: Request, ctx: Ctx, h: Handles,
                       _query: Annotated[KeypairShowQuery, Query()]) -> dict:
    user_id = _user(ctx, request)
    with h.db.reader() as s:
        return {"keypair": _view(ctx, _get(s, user_id, name), full=True)}


@router.post("")
async def create_keypair(payload: KeypairCreateRequest, response: Response, ctx: Ctx,
                         h: Handles) -> dict:
    check_versions(payload, ctx.version)
    body = payload.as_dict()["keypair"]
    user_id = _user(ctx, None, body)
    name = body.get("name")
    pattern = _NAME_292 if ctx.version.at_least("2.92") else _NAME
    if not isinstance(name, str) or not 1 <= len(name) <= 255:
        raise BadRequest("Keypair data is invalid: Keypair name must be string and between "
                         "1 and 255 characters long")
    if not pattern.match(name):
        raise BadRequest("Keypair data is invalid: Keypair name contains unsafe characters")
    key_type = body.get("type", "ssh") if ctx.version.at_least("2.2") else "ssh"
    if key_type not in ("ssh", "x509"):
        raise BadRequest(f"Invalid input for field/attribute type. Value: {key_type}. "
                         f"'{key_type}' is not one of ['ssh', 'x509']")
    public_key = body.get("public_key")
    private_key = None
    if public_key is None:
        if ctx.version.at_least("2.92"):
            raise BadRequest("Invalid input for field/attribute keypair. 'public_key' is a "
                             "required property")
        if key_type != "ssh":
            raise BadRequest("Keypair data is invalid: only SSH key pairs can be generated")
        public_key, private_key = _generate()
    if not isinstance(public_key, str):
        raise BadRequest("Keypair data is invalid: failed to generate fingerprint")
    kp = KeyPair(name=name, user_id=user_id, public_key=public_key.strip(), type=key_type,
                 fingerprint=fingerprint(public_key, key_type))
    try:
        with h.db.writer() as s:
            limit = quotas.project_limits(s, ctx.project_id, h.settings)["key_pairs"]
            used = quotas.project_usage(s, ctx.project_id, user_id)["key_pairs"]
            if 0 <= limit <= used:
                raise Forbidden("Quota exceeded, too many key pairs.")
            s.add(kp)
            s.flush()
    except IntegrityError:
        raise Conflict(f"Key pair '{name}' already exists.") from None
    response.status_code = 201 if ctx.version.at_least("2.2") else 200
    out = _view(ctx, kp)
    out["user_id"] = kp.user_id
    if private_key is not None:
        out["private_key"] = private_key
    return {"keypair": out}


@router.delete("/{name}")
async def delete_keypair(name: str, request: Request, ctx: Ctx, h: Handles) -> Response:
    user_id = _user(ctx, request)
    with h.db.writer() as s:
        s.delete(_get(s, user_id, name))
    return Response(status_code=204 if ctx.version.at_least("2.2") else 202)
