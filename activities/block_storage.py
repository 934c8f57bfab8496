"""The control plane's calls to Cinder's attachments API (3.27+), over
openstacksdk as the service user, exactly as against a real cloud.

Kept in one small class so that the whole conversation with Cinder is in one
place: ``reserve`` (attachment create, no connector), ``connect`` (update
with the host's connector: the connection info), ``complete``, ``delete``
(a missing attachment is no error: deletes are retried and raced by a
server's delete), and the legacy ``detach`` of a volume attached without an
attachment record.  Cinder's refusals become ``CinderRefused`` with
Cinder's own message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import openstack.connection
import openstack.exceptions

# Attachments appeared in 3.27, os-complete in 3.44.
MICROVERSION = "3.44"


class CinderRefused(Exception):
    """Cinder said no (4xx): the message is Cinder's."""

    def __init__(self, status: int | None, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _message(exc: openstack.exceptions.HttpException) -> str:
    try:
        body = exc.response.json()
        inner = next(iter(body.values())) if isinstance(body, dict) else {}
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    except Exception:
        pass
    return exc.details or str(exc)


class CinderAttachments:
    """Cinder's attachments, through one lazily made openstacksdk Connection."""

    def __init__(self, connect: Callable[[], openstack.connection.Connection]):
        self._connect = connect
        self._conn: openstack.connection.Connection | None = None
        self._lock = threading.Lock()

    @property
    def _storage(self):
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()
            return self._conn.block_storage

    def _call(self, method: str, url: str, body: dict | None = None) -> dict:
        try:
            resp = getattr(self._storage, method)(
                url, json=body, microversion=MICROVERSION, raise_exc=False)
            openstack.exceptions.raise_from_response(resp)
        except openstack.exceptions.HttpException as exc:
            status = exc.status_code
            if status is not None and 400 <= status < 500:
                raise CinderRefused(status, _message(exc)) from exc
            raise
        return resp.json() if resp.content else {}

    def reserve(self, volume_id: str, server_id: str) -> str:
        """Attachment create without a connector: the volume is reserved; its id."""
        body = {"attachment": {"volume_uuid": volume_id, "instance_uuid": server_id}}
        return self._call("post", "/attachments", body)["attachment"]["id"]

    def find(self, volume_id: str, server_id: str) -> str | None:
        """The attachment of the volume to the server, if Cinder has one."""
        got = self._call("get", f"/attachments?volume_id={volume_id}&instance_id={server_id}")
        return next((a["id"] for a in got.get("attachments", [])), None)

    def connect(self, attachment_id: str, connector: dict) -> dict:
        """Attachment update with the host's connector: the connection info."""
        got = self._call("put", f"/attachments/{attachment_id}",
                         {"attachment": {"connector": connector}})
        return got["attachment"].get("connection_info") or {}

    def complete(self, attachment_id: str) -> None:
        self._call("post", f"/attachments/{attachment_id}/action", {"os-complete": None})

    def delete(self, attachment_id: str) -> bool:
        """False if it was gone already."""
        try:
            self._call("delete", f"/attachments/{attachment_id}")
        except CinderRefused as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def detach(self, volume_id: str) -> bool:
        """The legacy os-detach, for a volume attached without an attachment
        record; False if it was not attached (any more)."""
        try:
            self._call("post", f"/volumes/{volume_id}/action", {"os-detach": {}})
        except CinderRefused as exc:
            if exc.status in (400, 404):
                return False
            raise
        return True
