"""The embedded stack's first image: ``cirros``, uploaded to Glance through
openstacksdk as the control plane's service user when no image of that name
exists yet.  Its bits are a small qcow2 (``qemu-img create``, 1 GiB virtual)
and it carries the properties Nova reads and ``min_disk``/``min_ram``."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import openstack.connection

from novaflow import logs

log = logs.get_logger("novaflow.glance_setup")

CIRROS = "cirros"
CIRROS_PROPERTIES = {"hw_architecture": "x86_64", "img_hv_type": "qemu",
                     "hw_vm_mode": "hvm", "hw_disk_bus": "virtio", "os_distro": "cirros",
                     "os_type": "linux"}
CIRROS_MIN_DISK_GB = 1
CIRROS_MIN_RAM_MB = 64


def _qcow2(path: Path, virtual_size: str = "1G") -> bytes:
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), virtual_size],
                   check=True, stdin=subprocess.DEVNULL, capture_output=True)
    return path.read_bytes()


def ensure_cirros(conn: openstack.connection.Connection) -> str:
    """The ``cirros`` image's id, uploading it first if it is missing."""
    found = list(conn.image.images(name=CIRROS))
    if found:
        return found[0].id
    with tempfile.TemporaryDirectory(prefix="novaflow-cirros-") as tmp:
        data = _qcow2(Path(tmp) / "cirros.qcow2")
    image = conn.image.create_image(
        name=CIRROS, disk_format="qcow2", container_format="bare", visibility="public",
        min_disk=CIRROS_MIN_DISK_GB, min_ram=CIRROS_MIN_RAM_MB, data=data,
        validate_checksum=False, use_import=False, **CIRROS_PROPERTIES)
    log.info("uploaded the cirros image", image_id=image.id)
    return image.id
