"""Instance disks with qemu-img: a qcow2 overlay on a cached base image,
grown to the flavor's root disk; blank ephemeral and swap disks."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from activities.hypervisor.driver import DriverError

GiB = 1024**3


def _qemu_img(*args: str) -> str:
    try:
        res = subprocess.run(["qemu-img", *args], capture_output=True, text=True, check=True)
    except FileNotFoundError as exc:
        raise DriverError("qemu-img is not installed (apt-get install qemu-utils)") from exc
    except subprocess.CalledProcessError as exc:
        raise DriverError(f"qemu-img {args[0]} failed: {exc.stderr.strip()}") from exc
    return res.stdout


def info(path: Path) -> dict:
    return json.loads(_qemu_img("info", "--output=json", "-U", str(path)))


def virtual_size(path: Path) -> int:
    return int(info(path)["virtual-size"])


def create_overlay(base: Path, path: Path, size_gb: int) -> None:
    """A qcow2 overlay on ``base``, at least ``size_gb`` (never smaller than the base)."""
    base_info = info(base)
    size = max(size_gb * GiB, int(base_info["virtual-size"]))
    tmp = path.with_suffix(".tmp")
    _qemu_img("create", "-f", "qcow2", "-F", base_info["format"], "-b", str(base),
              str(tmp), str(size))
    os.replace(tmp, path)


def create_blank(path: Path, size_mb: int, swap: bool = False) -> None:
    """A blank qcow2 disk (ephemeral) or a raw swap area."""
    tmp = path.with_suffix(".tmp")
    if swap:
        _qemu_img("create", "-f", "raw", str(tmp), f"{size_mb}M")
        subprocess.run(["mkswap", str(tmp)], capture_output=True, check=False)
    else:
        _qemu_img("create", "-f", "qcow2", str(tmp), f"{size_mb}M")
    os.replace(tmp, path)


def grow(path: Path, size_gb: int) -> None:
    """Grow a disk to ``size_gb``; a disk already that big is left alone."""
    if size_gb * GiB > virtual_size(path):
        _qemu_img("resize", str(path), f"{size_gb}G")


def backing_file(path: Path) -> str | None:
    return info(path).get("full-backing-filename") or info(path).get("backing-filename")


def flatten(path: Path, out: Path) -> None:
    """A standalone qcow2 copy of ``path`` and its backing chain (a snapshot's
    data), readable while the guest runs (``-U``)."""
    tmp = out.with_suffix(".tmp")
    _qemu_img("convert", "-U", "-O", "qcow2", str(path), str(tmp))
    os.replace(tmp, out)
