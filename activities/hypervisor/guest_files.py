"""The files of a real guest on its host, as Nova's libvirt driver lays them
out in ``<instances>/<uuid>/``: ``disk`` (qcow2 overlay on the cached base
image), ``disk.eph0`` and ``disk.swap`` when the flavor asks, ``disk.config``
(the config drive), ``console.log`` (virtlogd's) and ``libvirt.xml`` (the
last definition, so a hard reboot can recreate a vanished domain).  A resize
keeps the old disks in ``<instances>/<uuid>_resize/`` until confirm or revert.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import libvirt

from activities.hypervisor import config_drive, disks, networks
from activities.hypervisor.cloud_lookups import CloudLookups
from activities.hypervisor.console import free_serial_port
from activities.hypervisor.image_cache import ImageCache
from activities.types.hypervisor import SpawnInput

# The files a resize keeps for a revert.
_DISK_FILES = ("disk", "disk.eph0", "disk.swap")


@dataclass
class GuestPaths:
    """Where a guest's pieces are, for its domain XML."""

    disk: str | None
    console_log: str
    config_drive: str | None = None
    kernel: str | None = None
    ramdisk: str | None = None
    cmdline: str | None = None
    ephemeral: str | None = None
    swap: str | None = None
    # port id -> libvirt network name
    networks: dict[str, str] = field(default_factory=dict)
    # The TCP port the serial console binds on 127.0.0.1 (None: a pty only).
    serial_port: int | None = None


class GuestFiles:
    """Builds, keeps and removes the files of one host's guests."""

    def __init__(self, instances_dir: Path, lookups: CloudLookups,
                 force_config_drive: bool = True):
        self.instances_dir = Path(instances_dir)
        self.lookups = lookups
        self.cache = ImageCache(self.instances_dir, lookups.download)
        self.force_config_drive = force_config_drive
        self.remove_unused_min_age_s = 86400.0
        self._last_aged = time.monotonic()

    def dir(self, server_id: str) -> Path:
        return self.instances_dir / server_id

    def resize_dir(self, server_id: str) -> Path:
        return self.instances_dir / f"{server_id}_resize"

    def console_log(self, server_id: str) -> Path:
        return self.dir(server_id) / "console.log"

    def _base(self, image_id: str) -> Path:
        return self.cache.fetch(self.lookups.image_meta(image_id))

    def prepare(self, conn: libvirt.virConnect, inp: SpawnInput) -> GuestPaths:
        """Everything the domain needs, created where missing, grown where the
        flavor grew (a resize); the config drive is always rebuilt."""
        d = self.dir(inp.server_id)
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.instances_dir, 0o755)
        os.chmod(d, 0o755)  # QEMU runs as libvirt-qemu and must reach its files
        props = inp.image.properties or {}
        volume_root = any(v.boot_index == 0 for v in inp.volumes)
        paths = GuestPaths(disk=None, console_log=str(self.console_log(inp.server_id)))
        if not volume_root and inp.image.id:
            base = self._base(inp.image.id)
            disk = d / "disk"
            if not disk.exists():
                disks.create_overlay(base, disk, inp.flavor.root_gb)
            else:
                disks.grow(disk, inp.flavor.root_gb)
            paths.disk = str(disk)
        if props.get("kernel_id"):
            paths.kernel = str(self._base(props["kernel_id"]))
            if props.get("ramdisk_id"):
                paths.ramdisk = str(self._base(props["ramdisk_id"]))
            paths.cmdline = props.get("os_command_line") or "console=ttyS0 root=/dev/vda"
        if inp.flavor.ephemeral_gb:
            eph = d / "disk.eph0"
            if not eph.exists():
                disks.create_blank(eph, inp.flavor.ephemeral_gb * 1024)
            paths.ephemeral = str(eph)
        if inp.flavor.swap:
            swap = d / "disk.swap"
            if not swap.exists():
                disks.create_blank(swap, inp.flavor.swap, swap=True)
            paths.swap = str(swap)
        if self.force_config_drive or props.get("img_config_drive") == "mandatory":
            drive = d / "disk.config"
            config_drive.build(drive, self.lookups.guest_metadata(inp.server_id, inp.ports))
            paths.config_drive = str(drive)
        for port in inp.ports:
            paths.networks[port.id] = networks.ensure(conn, port.network_id)
        paths.serial_port = free_serial_port(conn)
        return paths

    def rescue_disk(self, server_id: str) -> Path:
        return self.dir(server_id) / "disk.rescue"

    def prepare_rescue(self, server_id: str, image_id: str, root_gb: int) -> Path:
        """The rescue disk: an overlay on the rescue image's cached base
        (Nova's ``disk.rescue``), made once."""
        path = self.rescue_disk(server_id)
        if not path.exists():
            disks.create_overlay(self._base(image_id), path, root_gb)
        return path

    def save_xml(self, server_id: str, xml: str) -> None:
        path = self.dir(server_id) / "libvirt.xml"
        if path.parent.is_dir():
            path.write_text(xml)

    def saved_xml(self, server_id: str) -> str | None:
        path = self.dir(server_id) / "libvirt.xml"
        return path.read_text() if path.exists() else None

    def remove(self, server_id: str) -> None:
        """Delete the guest's files; the base images stay in the cache."""
        shutil.rmtree(self.dir(server_id), ignore_errors=True)

    def backup_for_resize(self, server_id: str) -> None:
        """Copy the disks aside so a revert can put them back (idempotent)."""
        backup = self.resize_dir(server_id)
        if backup.exists():
            return
        tmp = backup.with_name(backup.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name in _DISK_FILES:
            src = self.dir(server_id) / name
            if src.exists():
                shutil.copy2(src, tmp / name)
        os.replace(tmp, backup)

    def restore_from_resize(self, server_id: str) -> None:
        """Put the disks kept by ``backup_for_resize`` back (a revert)."""
        backup = self.resize_dir(server_id)
        if not backup.exists():
            return
        d = self.dir(server_id)
        d.mkdir(parents=True, exist_ok=True)
        for name in _DISK_FILES:
            with contextlib.suppress(FileNotFoundError):
                (d / name).unlink()
            if (backup / name).exists():
                os.replace(backup / name, d / name)
        shutil.rmtree(backup, ignore_errors=True)

    def drop_resize_backup(self, server_id: str) -> None:
        shutil.rmtree(self.resize_dir(server_id), ignore_errors=True)

    def in_use_bases(self) -> set[Path]:
        """Base files some instance here is built on or boots (kernel, ramdisk),
        including disks kept for a resize revert."""
        used = set()
        base = str(self.cache.base_dir)
        for d in self.instances_dir.iterdir() if self.instances_dir.is_dir() else []:
            if d.name == "_base" or not d.is_dir():
                continue
            for f in d.iterdir():
                if f.name.startswith("disk") and f.suffix != ".config":
                    with contextlib.suppress(Exception):
                        backing = disks.backing_file(f)
                        if backing:
                            used.add(Path(backing))
                elif f.name == "libvirt.xml":
                    text = f.read_text()
                    for tag in ("kernel", "initrd"):
                        start = text.find(f"<{tag}>")
                        if start >= 0:
                            path = text[start + len(tag) + 2:text.find(f"</{tag}>")]
                            if path.startswith(base):
                                used.add(Path(path))
        return used

    def age_base_images(self, min_age_s: float, every_s: float = 2400.0) -> list[Path]:
        """Nova's image cache manager: at most every ``every_s`` seconds
        (``image_cache.manager_interval``), remove base images no instance
        uses that are older than ``min_age_s``."""
        now = time.monotonic()
        if now - self._last_aged < every_s:
            return []
        self._last_aged = now
        return self.cache.remove_unused(self.in_use_bases(), min_age_s)
