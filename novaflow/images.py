"""Images as Nova sees them, read from the image service (Glance) through
openstacksdk, and Nova's checks of an image against a flavor.

One client path for the API and the control activities: a Connection as the
control plane's service user (``novaflow.cloud.host_connection``), the image
endpoint from Keystone's catalog.  As the service user reads every image,
what the caller's project may see is decided here as Glance decides it:
public and community images, the project's own, and shared images the
project is a member of.  Calls block: run them in a thread from async code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openstack.connection
import openstack.exceptions

from novaflow.cloud import SERVICE_ERRORS, LazyConnection

GiB = 1024 ** 3

# Image attributes that are not properties (Nova reads the rest as properties).
_BASE = {"id", "name", "status", "visibility", "owner", "owner_id", "size", "virtual_size",
         "min_disk", "min_ram", "disk_format", "container_format", "checksum",
         "created_at", "updated_at", "protected", "is_protected", "tags", "file", "schema",
         "self", "direct_url", "locations", "os_hash_algo", "os_hash_value", "os_hidden",
         "is_hidden", "hash_algo", "hash_value", "stores", "location", "links", "metadata"}


class ImageServiceUnavailable(RuntimeError):
    """Glance did not answer (down, or its endpoint unknown)."""


@dataclass
class GlanceImage:
    """One image's fields Nova uses, as Glance reports them."""

    id: str
    name: str
    status: str
    visibility: str
    owner: str | None
    size: int = 0
    min_disk: int = 0
    min_ram: int = 0
    disk_format: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


def from_sdk(img: Any) -> GlanceImage:
    """A GlanceImage from openstacksdk's image resource (its raw Glance body)."""
    raw = img.to_dict(computed=False, original_names=True)
    props = {k: v for k, v in raw.items() if k not in _BASE and v is not None}
    props.update(raw.get("properties") or {})
    for k in [k for k in props if k.startswith("owner_specified.")]:
        props.pop(k)
    return GlanceImage(id=img.id, name=img.name or "", status=img.status or "",
                       visibility=img.visibility or "shared", owner=img.owner_id,
                       size=int(img.size or 0), min_disk=int(img.min_disk or 0),
                       min_ram=int(img.min_ram or 0), disk_format=img.disk_format,
                       properties={k: v for k, v in props.items()
                                   if k not in ("properties", "stores")})


class ImageClient(LazyConnection):
    """Glance over one lazily made openstacksdk Connection (thread-safe)."""

    def endpoint(self) -> str:
        """Glance's URL, from the catalog."""
        return self.conn.image.get_endpoint()

    def _visible(self, img: Any, project_id: str, is_admin: bool) -> bool:
        if is_admin or img.visibility in ("public", "community") or img.owner_id == project_id:
            return True
        if img.visibility != "shared":
            return False
        try:
            member = self.conn.image.get_member(project_id, img.id)
        except openstack.exceptions.NotFoundException:
            return False
        return member is not None  # Glance shows a shared image to any member

    def get(self, ref: str, project_id: str, is_admin: bool = False) -> GlanceImage | None:
        """The image ``ref`` as project ``project_id`` may see it, else None."""
        try:
            img = self.conn.image.get_image(ref)
            if not self._visible(img, project_id, is_admin):
                return None
        except openstack.exceptions.NotFoundException:
            return None
        except openstack.exceptions.BadRequestException:
            return None  # not an image id at all
        except SERVICE_ERRORS as exc:
            raise ImageServiceUnavailable(f"image service: {exc}") from exc
        return from_sdk(img)


class ImageWriter(ImageClient):
    """The image writes of snapshots and shelving, as the service user.

    An image is created queued; the host uploads the disk into it (real
    guests), or, where there are no bits (libvirt's test driver), an empty
    upload makes it active as a real Glance requires."""

    def _call(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except SERVICE_ERRORS as exc:
            if isinstance(exc, openstack.exceptions.NotFoundException):
                raise
            raise ImageServiceUnavailable(f"image service: {exc}") from exc

    def create_queued(self, name: str, owner: str, visibility: str, disk_format: str,
                      container_format: str, min_ram: int, min_disk: int,
                      properties: dict[str, Any]) -> str:
        """A queued image with Nova's snapshot properties; its id."""
        body = {**{k: str(v) for k, v in properties.items()}, "name": name, "owner": owner,
                "visibility": visibility, "disk_format": disk_format,
                "container_format": container_format, "min_ram": min_ram, "min_disk": min_disk}
        # Glance's own create (the SDK's create_image would reuse an image of
        # the same name, as its cloud layer does).
        resp = self._call(lambda: self.conn.image.post("/images", json=body))
        if resp.status_code != 201:
            raise ImageServiceUnavailable(f"image service: create answered {resp.status_code}: "
                                          f"{resp.text[:200]}")
        return resp.json()["id"]

    def status(self, image_id: str) -> str | None:
        """The image's status; None when it is gone."""
        try:
            return self._call(lambda: self.conn.image.get_image(image_id)).status
        except openstack.exceptions.NotFoundException:
            return None

    def activate_empty(self, image_id: str) -> None:
        """A host without image bits (libvirt's test driver): upload one
        zeroed sector as a raw disk, which makes the queued image active
        (Glance checks that what is uploaded matches the disk format)."""
        def upload() -> None:
            img = self.conn.image.get_image(image_id)
            if img.disk_format != "raw":
                img = self.conn.image.update_image(img, disk_format="raw")
            img.data = bytes(512)
            img.upload(self.conn.image)
        self._call(upload)

    def upload_empty(self, image_id: str) -> None:
        """Zero bytes as the image's data: what makes Nova's image of a
        volume-backed server (raw, size 0, only properties) active in
        Glance v2 (Nova's ``force_activate``)."""
        def upload() -> None:
            img = self.conn.image.get_image(image_id)
            img.data = b""
            img.upload(self.conn.image)
        self._call(upload)

    def delete(self, image_id: str) -> bool:
        """Delete the image; False when it was gone already."""
        try:
            self._call(lambda: self.conn.image.delete_image(image_id, ignore_missing=False))
        except openstack.exceptions.NotFoundException:
            return False
        return True

    def backups(self, server_id: str, backup_type: str) -> list[str]:
        """Ids of the server's backups of that type, newest first (Nova's rotation)."""
        # Glance filters on any image property given as a query parameter;
        # the SDK's images() passes only the keys it knows and would drop these.
        query = {"instance_uuid": server_id, "image_type": "backup",
                 "backup_type": backup_type, "limit": 100}
        imgs: list[dict] = []
        url: str | None = "/images"
        while url:
            resp = self._call(lambda u=url: self.conn.image.get(
                u, params=query if u == "/images" else None))
            if resp.status_code != 200:
                raise ImageServiceUnavailable(f"image service: list answered "
                                              f"{resp.status_code}: {resp.text[:200]}")
            page = resp.json()
            imgs += page.get("images", [])
            nxt = page.get("next")
            url = nxt.removeprefix("/v2") if nxt else None
        imgs.sort(key=lambda i: (i.get("created_at") or "", i["id"]), reverse=True)
        return [i["id"] for i in imgs]


def boot_refusal(image: GlanceImage, memory_mb: int, root_gb: int,
                 volume_backed: bool = False) -> str | None:
    """Nova's 400 text when ``image`` may not boot on the flavor, else None
    (``_validate_flavor_image_nostatus``: min_ram, then image size and
    min_disk against the root disk; a 0 GB root disk is not checked)."""
    if image.status != "active":
        return f"Image {image.id} is not active."
    if image.min_ram > memory_mb:
        return "Flavor's memory is too small for requested image."
    if volume_backed or root_gb == 0:
        return None
    dest = root_gb * GiB
    if image.size > dest:
        return (f"Flavor's disk is too small for requested image. Flavor disk is {dest} "
                f"bytes, image is {image.size} bytes.")
    if image.min_disk * GiB > dest:
        return ("Flavor's disk is smaller than the minimum size specified in image metadata. "
                f"Flavor disk is {dest} bytes, minimum size is {image.min_disk * GiB} bytes.")
    return None
