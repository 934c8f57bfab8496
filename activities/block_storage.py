"""The control plane's calls to Cinder (volumes, and the attachments API of
3.27+), over openstacksdk as the service user, exactly as against a real cloud.

Kept in one small class so that the whole conversation with Cinder is in one
place: ``reserve`` (attachment create, no connector), ``connect`` (update
with the host's connector: the connection info), ``complete``, ``delete``
(a missing attachment is no error: deletes are retried and raced by a
server's delete), ``attachments`` (a volume's or a server's), and the
legacy ``detach`` of a volume attached without an attachment record.
Volumes: ``volume`` (None if gone), ``create_volume`` (as the user, with
their token, so that the volume is their project's, as Nova's compute
creates a boot's volumes with the request's context), ``wait_available``
and ``delete_volume``.  Cinder's refusals become ``CinderRefused`` with
Cinder's own message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import openstack.connection
import openstack.exceptions
from keystoneauth1 import exceptions as ks_exceptions

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

    def __init__(self, connect: Callable[[], openstack.connection.Connection],
                 as_user: Callable[[str, str], openstack.connection.Connection] | None = None):
        self._connect = connect
        # (token, project_id) -> a Connection as that user, for volume creates.
        self._as_user = as_user
        self._conn: openstack.connection.Connection | None = None
        self._lock = threading.Lock()

    @property
    def _storage(self):
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()
            return self._conn.block_storage

    def _call(self, method: str, url: str, body: dict | None = None,
              storage=None) -> dict:
        try:
            resp = getattr(storage or self._storage, method)(
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

    def _delete(self, path: str) -> bool:
        """DELETE ``path``; False if it was gone already."""
        try:
            self._call("delete", path)
        except CinderRefused as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def delete(self, attachment_id: str) -> bool:
        """False if it was gone already."""
        return self._delete(f"/attachments/{attachment_id}")

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

    def attachments(self, volume_id: str | None = None,
                    server_id: str | None = None) -> list[dict]:
        """Attachments of a volume, of a server, or both (the service user
        sees every project's)."""
        query = "&".join(f"{k}={v}" for k, v in (("volume_id", volume_id),
                                                 ("instance_id", server_id)) if v)
        got = self._call("get", "/attachments" + (f"?{query}" if query else ""))
        return list(got.get("attachments", []))

    # -- volumes ---------------------------------------------------------------

    def volume(self, volume_id: str) -> dict | None:
        """The volume (Cinder's detailed view, with the admin's attributes); None if gone."""
        try:
            return self._call("get", f"/volumes/{volume_id}")["volume"]
        except CinderRefused as exc:
            if exc.status == 404:
                return None
            raise

    def volumes(self) -> list[dict]:
        """Every project's volumes (detailed), for the audit."""
        return list(self._call("get", "/volumes/detail?all_tenants=1").get("volumes", []))

    def create_volume(self, token: str, project_id: str, name: str, size: int,
                      image_id: str | None = None) -> str:
        """POST /volumes as the user (their token, their project): the new volume's id."""
        if self._as_user is None:
            raise RuntimeError("no way to act as the user: volumes cannot be created")
        body: dict = {"volume": {"name": name, "size": size}}
        if image_id:
            body["volume"]["imageRef"] = image_id
        conn = self._as_user(token, project_id)
        try:
            return self._call("post", "/volumes", body,
                              storage=conn.block_storage)["volume"]["id"]
        except ks_exceptions.Unauthorized as exc:
            raise CinderRefused(401, "The request you have made requires authentication "
                                     "(the user's token was refused).") from exc
        finally:
            conn.close()

    def wait_available(self, volume_id: str, timeout: float = 300.0,
                       interval: float = 0.5) -> dict:
        """The volume once it is available (a create from an image takes time in
        Cinder); CinderRefused if it went to error or away, TimeoutError after
        ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            vol = self.volume(volume_id)
            if vol is None:
                raise CinderRefused(404, f"Volume {volume_id} could not be found.")
            if vol.get("status") == "available":
                return vol
            if str(vol.get("status", "")).startswith("error"):
                raise CinderRefused(None, f"Volume {volume_id} did not finish being "
                                          f"created even after we waited; status: "
                                          f"{vol.get('status')}")
            if time.monotonic() >= deadline:
                raise TimeoutError(f"volume {volume_id} still {vol.get('status')} after "
                                   f"{timeout:g} s")
            time.sleep(interval)

    def delete_volume(self, volume_id: str) -> bool:
        """False if it was gone already; CinderRefused if Cinder will not (in use)."""
        return self._delete(f"/volumes/{volume_id}")


def server_ids(volume: dict) -> set[str]:
    """The servers the volume is attached to (reserved for, or in use by)."""
    return {a.get("server_id") for a in volume.get("attachments") or []
            if a.get("server_id")}
