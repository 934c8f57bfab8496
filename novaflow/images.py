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

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openstack.connection
import openstack.exceptions

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


class ImageClient:
    """Glance over one lazily made openstacksdk Connection (thread-safe)."""

    def __init__(self, connect: Callable[[], openstack.connection.Connection]):
        self._connect = connect
        self._conn: openstack.connection.Connection | None = None
        self._lock = threading.Lock()

    @property
    def conn(self) -> openstack.connection.Connection:
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()
            return self._conn

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
        except (openstack.exceptions.SDKException, OSError) as exc:
            raise ImageServiceUnavailable(f"image service: {exc}") from exc
        return from_sdk(img)


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
