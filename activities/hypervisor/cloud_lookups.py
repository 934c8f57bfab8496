"""What a host asks the cloud while it builds a guest, over openstacksdk
only (never the database): the image's hashes and bytes (Glance's
``GET /v2/images/{id}`` and ``/file``), the server's boot details for its
config drive (Nova's ``GET /servers/{id}`` as admin, its key pair) and each
port's subnet (Neutron)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import openstack.connection

from activities.hypervisor.config_drive import GuestMetadata
from activities.hypervisor.driver import DriverError
from activities.hypervisor.image_cache import ImageMeta
from activities.types.catalog import PortInfo
from novaflow.cloud import LazyConnection
from novaflow.guest_network import GuestPort, guest_port

CHUNK = 1024 * 1024
# The microversion that shows hostname and user_data to admins (2.3) and
# lets an admin read another user's key pair (2.10).
_MICROVERSION = "2.10"


class CloudLookups(LazyConnection):
    """The host's openstacksdk calls, over one lazily made Connection."""

    def image_meta(self, image_id: str) -> ImageMeta:
        try:
            img = self.conn.image.get_image(image_id)
        except openstack.exceptions.SDKException as exc:
            raise DriverError(f"image {image_id} could not be read: {exc}") from exc
        return ImageMeta(id=img.id, os_hash_algo=img.hash_algo, os_hash_value=img.hash_value,
                         checksum=img.checksum)

    def download(self, image_id: str) -> Iterator[bytes]:
        """The image's bytes, streamed (``GET /v2/images/{id}/file``)."""
        try:
            resp = self.conn.image.download_image(image_id, stream=True)
        except openstack.exceptions.SDKException as exc:
            raise DriverError(f"downloading image {image_id} failed: {exc}") from exc
        try:
            yield from resp.iter_content(CHUNK)
        finally:
            resp.close()

    def upload(self, image_id: str, path) -> None:
        """Store ``path`` as the queued image's data (``PUT /v2/images/{id}/file``)."""
        try:
            img = self.conn.image.get_image(image_id)
            with open(path, "rb") as data:
                img.data = data
                img.upload(self.conn.image)
        except openstack.exceptions.SDKException as exc:
            raise DriverError(f"uploading image {image_id} failed: {exc}") from exc

    def _get(self, url: str) -> dict:
        resp = self.conn.compute.get(url, microversion=_MICROVERSION)
        if resp.status_code != 200:
            raise DriverError(f"GET {url}: {resp.status_code} {resp.text[:200]}")
        return resp.json()

    def guest_metadata(self, server_id: str, ports: list[PortInfo]) -> GuestMetadata:
        """The server's config-drive contents, as Nova's API reports them."""
        server = self._get(f"/servers/{server_id}")["server"]
        keys = {}
        if server.get("key_name"):
            kp = self._get(f"/os-keypairs/{server['key_name']}?user_id={server['user_id']}")
            keys[server["key_name"]] = kp["keypair"]["public_key"]
        user_data = server.get("OS-EXT-SRV-ATTR:user_data")
        return GuestMetadata(
            uuid=server_id, name=server["name"],
            hostname=server.get("OS-EXT-SRV-ATTR:hostname") or server["name"],
            project_id=server.get("tenant_id", ""),
            availability_zone=server.get("OS-EXT-AZ:availability_zone") or "nova",
            launch_index=int(server.get("OS-EXT-SRV-ATTR:launch_index") or 0),
            metadata=server.get("metadata") or {}, public_keys=keys,
            user_data=base64.b64decode(user_data) if user_data else None,
            ports=[self._guest_port(p) for p in ports])

    def _guest_port(self, port: PortInfo) -> GuestPort:
        return guest_port(self.conn, port.id, port.network_id, port.mac_address,
                          port.ip_address)
