"""The metadata service guests call (``novaflow metadata``; Nova's
``nova-api-metadata`` behind Neutron's metadata proxy).

The proxy names the calling instance in ``X-Instance-ID`` and its project in
``X-Tenant-ID``, and proves it with ``X-Instance-ID-Signature``: the
HMAC-SHA256 of the instance id under the shared secret
(``metadata_proxy_shared_secret``).  A missing header is 400, a missing or
wrong signature 403, an unknown instance (or one of another project) 404, as
in Nova's ``handler.py``.  What an instance may read is cached for
``metadata_cache_expiration`` seconds; its password is always read afresh.

Trees: ``/openstack/<version>/{meta_data.json, user_data, password,
vendor_data.json, network_data.json, vendor_data2.json}`` and the EC2 one,
``/<version>/meta-data/...`` and ``/<version>/user-data``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlmodel import select

from api.metadata_content import (
    EC2_VERSIONS,
    OPENSTACK_VERSIONS,
    InstanceMetadata,
    build,
    listing,
    lookup,
)
from novaflow import logs
from novaflow.cloud import SERVICE_ERRORS, LazyConnection, host_connection
from novaflow.guest_network import GuestPort, server_ports
from novaflow.settings import Settings
from schema.db import Database, get_database
from schema.models import Instance, InstancePassword, utcnow

log = logs.get_logger("novaflow.metadata")

MAX_PASSWORD = 256  # bytes, Nova's password.MAX_SIZE
OPENSTACK_FILES = ("meta_data.json", "user_data", "password", "vendor_data.json",
                   "network_data.json", "vendor_data2.json")


def sign(secret: str, instance_id: str) -> str:
    """X-Instance-ID-Signature for ``instance_id`` (what Neutron's proxy sends)."""
    return hmac.new(secret.encode(), instance_id.encode(), hashlib.sha256).hexdigest()


class _Refused(Exception):
    def __init__(self, status: int, text: str):
        super().__init__(text)
        self.status, self.text = status, text


class MetadataService:
    """Request authentication, the per-instance cache and the two trees."""

    def __init__(self, db: Database, secret: str, cache_seconds: float,
                 ports: Callable[[str], list[GuestPort]]):
        self.db, self.secret, self.cache_seconds = db, secret, cache_seconds
        self.ports = ports  # a server's ports, from the network service
        self._cache: dict[str, tuple[float, InstanceMetadata]] = {}

    def caller(self, request: Request) -> InstanceMetadata:
        headers = request.headers
        ids, tenants = headers.getlist("x-instance-id"), headers.getlist("x-tenant-id")
        if not ids:
            raise _Refused(400, "X-Instance-ID header is missing from request.")
        if not tenants:
            raise _Refused(400, "X-Tenant-ID header is missing from request.")
        if len(ids) > 1 or len(tenants) > 1:
            raise _Refused(400, "Multiple X-Instance-ID or X-Tenant-ID headers found within "
                                "request.")
        instance_id, tenant_id = ids[0], tenants[0]
        given = headers.get("x-instance-id-signature", "")
        if not hmac.compare_digest(sign(self.secret, instance_id), given):
            log.warning("metadata request with a bad signature", instance_id=instance_id[:64])
            raise _Refused(403, "Invalid proxy request signature.")
        meta = self._metadata(instance_id)
        if meta is None or meta.project_id != tenant_id:
            raise _Refused(404, "The resource could not be found.")
        return meta

    def _metadata(self, instance_id: str) -> InstanceMetadata | None:
        now = time.monotonic()
        hit = self._cache.get(instance_id)
        if hit and hit[0] > now:
            return hit[1]
        with self.db.reader() as s:
            inst = s.exec(select(Instance).where(Instance.uuid == instance_id,
                                                 Instance.deleted == False)).first()  # noqa: E712
            if inst is None:
                return None
            try:
                ports = self.ports(instance_id)
            except SERVICE_ERRORS as exc:
                log.warning("the network service did not answer", error=repr(exc)[:200])
                raise _Refused(503, "The network service is unavailable; try again "
                                    "later.") from None
            meta = build(s, inst, ports)
        if meta is not None:
            if len(self._cache) > 10000:
                self._cache.clear()
            self._cache[instance_id] = (now + self.cache_seconds, meta)
        return meta

    def password(self, uuid: str) -> str:
        with self.db.reader() as s:
            row = s.get(InstancePassword, uuid)
            return row.password if row else ""

    def set_password(self, uuid: str, value: str) -> None:
        with self.db.writer() as s:
            row = s.get(InstancePassword, uuid)
            if row is not None and row.password:
                raise _Refused(409, "There was a conflict when trying to complete your "
                                    "request.")
            s.merge(InstancePassword(instance_uuid=uuid, password=value, updated_at=utcnow()))


def _text(body: str, status: int = 200) -> Response:
    return PlainTextResponse(body, status_code=status)


def _openstack(meta: InstanceMetadata, version: str, name: str) -> Response:
    if version not in OPENSTACK_VERSIONS + ["latest"]:
        raise _Refused(404, "The resource could not be found.")
    if name == "":
        files = [f for f in OPENSTACK_FILES if f != "user_data" or meta.user_data is not None]
        return _text("\n".join(files))
    if name == "meta_data.json":
        return JSONResponse(meta.meta_data)
    if name == "network_data.json":
        return JSONResponse(meta.network_data)
    if name in ("vendor_data.json", "vendor_data2.json"):
        return JSONResponse(meta.vendor_data)
    if name == "user_data" and meta.user_data is not None:
        return Response(meta.user_data, media_type="text/plain")
    raise _Refused(404, "The resource could not be found.")


def _ec2(meta: InstanceMetadata, version: str, rest: list[str]) -> Response:
    if version not in EC2_VERSIONS + ["latest"]:
        raise _Refused(404, "The resource could not be found.")
    if not rest:
        return _text("\n".join(["meta-data/"] + (["user-data"] if meta.user_data else [])))
    if rest == ["user-data"] and meta.user_data is not None:
        return Response(meta.user_data, media_type="text/plain")
    if rest[0] == "meta-data":
        node = lookup(meta.ec2, rest[1:])
        if isinstance(node, dict):
            return _text(listing(node))
        if node is not None:
            return _text(str(node))
    raise _Refused(404, "The resource could not be found.")


def create_metadata_app(settings: Settings, db: Database | None = None) -> FastAPI:
    """The metadata service's app (its own process or the embedded stack's)."""
    neutron = LazyConnection(lambda: host_connection(settings))
    svc = MetadataService(db or get_database(settings.effective_database_url()),
                          settings.effective_metadata_secret(),
                          settings.metadata_cache_expiration,
                          lambda server_id: server_ports(neutron.conn, server_id))
    app = FastAPI(title="novaflow metadata service", docs_url=None, redoc_url=None,
                  openapi_url=None)

    @app.api_route("/{path:path}", methods=["GET", "HEAD", "POST"])
    async def metadata(path: str, request: Request) -> Response:
        body = await _bounded_body(request) if request.method == "POST" else b""
        # The database visits run in a thread: no guest may stall the loop.
        return await asyncio.to_thread(_answer, svc, request, path, body)

    return app


async def _bounded_body(request: Request) -> bytes:
    """At most MAX_PASSWORD + 1 bytes of the body (more is refused anyway)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_PASSWORD:
            break
    return b"".join(chunks)


def _answer(svc: MetadataService, request: Request, path: str, body: bytes) -> Response:
    parts = [p for p in path.split("/") if p]
    try:
        if not parts:
            return _text("\n".join(EC2_VERSIONS + ["latest"]))
        if parts == ["openstack"]:
            return _text("\n".join(OPENSTACK_VERSIONS + ["latest"]))
        meta = svc.caller(request)
        name = "/".join(parts[2:]) if parts[0] == "openstack" else None
        if name == "password":
            if request.method != "POST":
                return _text(svc.password(meta.uuid))
            if len(body) > MAX_PASSWORD:
                raise _Refused(400, "Request is too large.")
            svc.set_password(meta.uuid, body.decode("utf-8", "replace"))
            return _text("")
        if request.method == "POST":
            raise _Refused(405, "The method is not allowed for the requested URL.")
        if name is not None:
            return _openstack(meta, parts[1], name)
        return _ec2(meta, parts[0], parts[1:])
    except _Refused as exc:
        return _text(exc.text, exc.status)
