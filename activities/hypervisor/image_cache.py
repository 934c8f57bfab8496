"""Nova's libvirt image cache: each image downloaded once per host into
``<instances>/_base/``, checked against the image service's hash, shared by
every instance disk built on it.

The file name is the SHA-1 of the image id (as Nova names its base files).
A download goes to a temporary file and is renamed into place only once its
hash matches, so a crash never leaves a half-written base image; a lock per
base file, shared by every host of the process (simulated hosts share one
``_base``), makes concurrent spawns of one image download it once.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from activities.hypervisor.driver import DriverError


@dataclass
class ImageMeta:
    """What the host needs to know about an image to cache it."""

    id: str
    os_hash_algo: str | None = None
    os_hash_value: str | None = None
    checksum: str | None = None  # md5, Glance's legacy field


# Streams an image's bytes: (image id) -> chunks.
Downloader = Callable[[str], Iterable[bytes]]

_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(path, threading.Lock())


class ImageCache:
    """The base images of one host."""

    def __init__(self, instances_dir: Path, download: Downloader):
        self.base_dir = Path(instances_dir) / "_base"
        self._download = download
        self.downloads = 0  # how many images were fetched (a cache miss each)

    def path(self, image_id: str) -> Path:
        return self.base_dir / hashlib.sha1(image_id.encode()).hexdigest()

    def fetch(self, meta: ImageMeta) -> Path:
        """The base file of ``meta``, downloading and verifying it on a miss."""
        path = self.path(meta.id)
        with _lock(path):
            if path.exists():
                os.utime(path)  # in use: keeps it from ageing out
                return path
            self.base_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(self.base_dir, 0o755)
            algo = meta.os_hash_algo if meta.os_hash_value else None
            digest = hashlib.new(algo) if algo else None
            md5 = hashlib.md5() if meta.checksum else None
            tmp = path.with_name(f"{path.name}.{os.getpid()}.part")
            with open(tmp, "wb") as out:
                for chunk in self._download(meta.id):
                    out.write(chunk)
                    if digest:
                        digest.update(chunk)
                    if md5:
                        md5.update(chunk)
            if digest and digest.hexdigest() != meta.os_hash_value:
                tmp.unlink()
                raise DriverError(f"image {meta.id} failed verification: {algo} "
                                  f"{digest.hexdigest()} != {meta.os_hash_value}")
            if md5 and md5.hexdigest() != meta.checksum:
                tmp.unlink()
                raise DriverError(f"image {meta.id} failed verification: md5 mismatch")
            os.chmod(tmp, 0o644)  # QEMU runs as another user and reads it
            os.replace(tmp, path)
            self.downloads += 1
            return path

    def remove_unused(self, in_use: set[Path], min_age_s: float) -> list[Path]:
        """Nova's remove_unused_base_images: drop base files no instance uses
        that have not been touched for ``min_age_s``; returns what went."""
        removed = []
        if not self.base_dir.is_dir():
            return removed
        now = time.time()
        for path in self.base_dir.iterdir():
            if path.suffix == ".part" or path in in_use:
                continue
            if now - path.stat().st_mtime >= min_age_s:
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed
