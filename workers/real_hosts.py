"""Compute hosts on real QEMU guests (``novaflow up --virt qemu``).

Prepares the machine (Debian packages, virtlogd/libvirtd, the kvm-or-qemu
probe), builds each host's LibvirtDriver on ``qemu:///system`` with the
files and cloud lookups real guests need, and uploads the test guest image
(scripts/build_test_image.sh) on first start.  Several simulated hosts share
the one libvirtd; each owns its domains and a share of the machine.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from activities.hypervisor import libvirtd
from activities.hypervisor.cloud_lookups import CloudLookups
from activities.hypervisor.driver import ComputeDriver
from activities.hypervisor.guest_files import GuestFiles
from activities.hypervisor.libvirt_driver import LibvirtDriver
from novaflow import logs
from novaflow.cloud import host_connection
from novaflow.settings import Settings
from workers import sim_hosts

log = logs.get_logger("novaflow.real_hosts")

REPO = Path(__file__).resolve().parent.parent
TEST_IMAGE_DIR = REPO / "build" / "test-image"
TEST_IMAGE_NAME = "novaflow-test"
# What the test guest's kernel is told: log to the serial console, quietly.
TEST_IMAGE_CMDLINE = "console=ttyS0 quiet panic=-1"


def instances_dir(settings: Settings) -> Path:
    return (settings.instances_path or settings.state_dir / "instances").resolve()


def build_test_image(out: Path = TEST_IMAGE_DIR) -> tuple[Path, Path]:
    """Build (or reuse) the test guest's kernel and initramfs."""
    subprocess.run([str(REPO / "scripts" / "build_test_image.sh"), str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    return out / "vmlinuz", out / "initrd.img"


def prepare_machine(kernel: Path | None = None) -> str:
    """Install and start what real guests need; returns the virt type to use."""
    libvirtd.install_packages()
    libvirtd.ensure_libvirtd()
    virt_type = libvirtd.probe_virt_type(str(kernel) if kernel else None)
    log.info("real guests ready", virt_type=virt_type)
    return virt_type


def driver_factory(settings: Settings, virt_type: str, share: int):
    """A DriverFactory (workers/stack.py) for hosts on qemu:///system."""
    instances = instances_dir(settings)

    def factory(host: sim_hosts.SimHost, uri: str, state_dir: Path) -> ComputeDriver:
        files = GuestFiles(instances, CloudLookups(lambda: host_connection(settings)),
                           force_config_drive=settings.force_config_drive)
        files.remove_unused_min_age_s = settings.remove_unused_original_minimum_age_seconds
        return LibvirtDriver(libvirtd.QEMU_URI, host.name, images_dir=str(instances),
                             guest_files=files, virt_type=virt_type, inventory_share=share)
    return factory


def upload_test_image(settings: Settings, kernel: Path, ramdisk: Path) -> str:
    """Upload kernel, ramdisk and an image booting them, unless already there;
    returns the bootable image's id.  Done as the service user."""
    conn = host_connection(settings)
    headers = {"X-Auth-Token": conn.auth_token}
    image_url = conn.image.get_endpoint().rstrip("/")
    base = image_url if image_url.endswith("/v2") else f"{image_url}/v2"
    with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
        found = http.get("/images", params={"name": TEST_IMAGE_NAME}).json()["images"]
        if found:
            return found[0]["id"]

        def upload(name: str, disk_format: str, data: bytes, **props: str) -> str:
            # Glance wants kernel and ramdisk images' container format to match.
            container = disk_format if disk_format in ("aki", "ari", "ami") else "bare"
            img = http.post("/images", json={
                "name": name, "disk_format": disk_format, "container_format": container,
                "visibility": "public", **props}).raise_for_status().json()
            http.put(f"/images/{img['id']}/file", content=data,
                     headers={"Content-Type": "application/octet-stream"}).raise_for_status()
            return img["id"]

        kernel_id = upload(f"{TEST_IMAGE_NAME}-kernel", "aki", kernel.read_bytes())
        ramdisk_id = upload(f"{TEST_IMAGE_NAME}-ramdisk", "ari", ramdisk.read_bytes())
        # The root disk: an empty raw megabyte (the initramfs is the whole
        # system); the instance disk is a qcow2 overlay on it, flavor-sized.
        image_id = upload(TEST_IMAGE_NAME, "raw", bytes(1024 * 1024), kernel_id=kernel_id,
                          ramdisk_id=ramdisk_id, os_command_line=TEST_IMAGE_CMDLINE)
        log.info("uploaded the test image", image_id=image_id)
        return image_id
