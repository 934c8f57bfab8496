"""The pieces of a real guest that need no hypervisor: the image cache, the
config drive's contents, the console tail and the real domain XML."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from activities.hypervisor import config_drive
from activities.hypervisor.console import read_tail
from activities.hypervisor.domain_xml import owner_host, real_guest_xml
from activities.hypervisor.driver import DriverError
from activities.hypervisor.guest_files import GuestPaths
from activities.hypervisor.image_cache import ImageCache, ImageMeta
from activities.types.catalog import FlavorInfo, ImageInfo, PortInfo
from activities.types.hypervisor import SpawnInput
from novaflow import guest_network

DATA = b"image bytes " * 1000

CI = bool(os.environ.get("CI"))  # CI installs every package: it never skips


def _meta(image_id: str = "img-1", data: bytes = DATA) -> ImageMeta:
    return ImageMeta(id=image_id, os_hash_algo="sha512",
                     os_hash_value=hashlib.sha512(data).hexdigest(),
                     checksum=hashlib.md5(data).hexdigest())


def test_image_cache_downloads_once_and_verifies(tmp_path):
    calls = []

    def download(image_id):
        calls.append(image_id)
        yield DATA[:100]
        yield DATA[100:]

    cache = ImageCache(tmp_path, download)
    first = cache.fetch(_meta())
    inode = first.stat().st_ino
    second = cache.fetch(_meta())
    assert first == second and second.read_bytes() == DATA
    assert second.stat().st_ino == inode and calls == ["img-1"] and cache.downloads == 1
    assert first.parent == tmp_path / "_base"


def test_image_cache_refuses_a_corrupt_download(tmp_path):
    cache = ImageCache(tmp_path, lambda _id: iter([b"not the image"]))
    with pytest.raises(DriverError, match="failed verification"):
        cache.fetch(_meta())
    assert not any((tmp_path / "_base").iterdir())  # nothing half-written kept


def test_unused_base_images_age_out(tmp_path):
    cache = ImageCache(tmp_path, lambda _id: iter([DATA]))
    used, unused = cache.fetch(_meta("a")), cache.fetch(_meta("b"))
    assert cache.remove_unused({used}, min_age_s=0) == [unused]
    assert used.exists() and not unused.exists()


def test_network_data_gives_the_port_its_address():
    port = guest_network.GuestPort(
        port_id="p-1234567890abc", network_id="net-1", mac_address="fa:16:3e:00:00:01",
        ip_address="10.0.0.5", subnet=guest_network.SubnetInfo(
            cidr="10.0.0.0/24", gateway_ip="10.0.0.1", dns_nameservers=["10.0.0.2"]))
    data = guest_network.network_data([port])
    assert data["links"][0]["ethernet_mac_address"] == "fa:16:3e:00:00:01"
    net = data["networks"][0]
    assert (net["ip_address"], net["netmask"]) == ("10.0.0.5", "255.255.255.0")
    assert net["routes"][0]["gateway"] == "10.0.0.1"
    assert data["services"] == [{"type": "dns", "address": "10.0.0.2"}]


@pytest.mark.skipif(not CI and (shutil.which("genisoimage") is None
                                or shutil.which("isoinfo") is None),
                    reason="genisoimage is not installed (CI always runs this)")
def test_config_drive_is_an_iso_labelled_config_2(tmp_path):
    md = config_drive.GuestMetadata(uuid="u-1", name="vm", hostname="vm", project_id="p",
                                    user_data=b"#!/bin/sh\necho hi\n")
    iso = tmp_path / "disk.config"
    config_drive.build(iso, md)
    info = subprocess.run(["isoinfo", "-d", "-i", str(iso)], capture_output=True,
                          text=True, check=True).stdout
    assert "Volume id: config-2" in info
    meta = subprocess.run(["isoinfo", "-R", "-i", str(iso), "-x",
                           "/openstack/latest/meta_data.json"],
                          capture_output=True, check=True).stdout
    assert json.loads(meta)["uuid"] == "u-1"
    ud = subprocess.run(["isoinfo", "-R", "-i", str(iso), "-x", "/openstack/latest/user_data"],
                        capture_output=True, check=True).stdout
    assert ud == b"#!/bin/sh\necho hi\n"


def test_console_tail_reads_the_rotated_log_first(tmp_path):
    log = tmp_path / "console.log"
    (tmp_path / "console.log.0").write_text("one\ntwo\n")
    log.write_text("three\r\nfour\n")
    assert read_tail(log) == "one\ntwo\nthree\nfour\n"
    assert read_tail(log, 2) == "three\nfour\n"
    assert read_tail(log, 0) == ""
    assert read_tail(tmp_path / "missing.log", 5) == ""


def test_real_domain_xml_boots_the_kernel_with_its_disks_and_network():
    inp = SpawnInput(server_id="11111111-1111-1111-1111-111111111111", name="vm",
                     project_id="p", flavor=FlavorInfo("1", "tiny", 1, 256, 1),
                     image=ImageInfo(id="i", name="img"),
                     ports=[PortInfo("port-1", "net-1", "private", "10.0.0.5",
                                     "fa:16:3e:00:00:01")])
    paths = GuestPaths(disk="/i/disk", console_log="/i/console.log",
                       config_drive="/i/disk.config", kernel="/b/k", ramdisk="/b/r",
                       cmdline="console=ttyS0", networks={"port-1": "novaflow-net-1"})
    xml = real_guest_xml(inp, "qemu", paths, "host-2")
    root = ET.fromstring(xml)
    assert root.get("type") == "qemu"
    assert root.findtext("os/kernel") == "/b/k" and root.findtext("os/initrd") == "/b/r"
    assert root.find("features/acpi") is not None  # ACPI shutdown reaches the guest
    assert root.find("devices/disk[@device='cdrom']/source").get("file") == "/i/disk.config"
    nic = root.find("devices/interface")
    assert nic.find("source").get("network") == "novaflow-net-1"
    assert nic.find("mac").get("address") == "fa:16:3e:00:00:01"
    assert root.find("devices/serial/log").get("file") == "/i/console.log"
    meta = ET.tostring(root.find("metadata")[0], encoding="unicode")
    assert owner_host(meta) == "host-2"


def test_ageing_keeps_the_kernels_instances_boot(tmp_path):
    from activities.hypervisor.guest_files import GuestFiles

    class NoCloud:  # the ageing never asks the cloud anything
        def download(self, _id):
            return iter([DATA])

    files = GuestFiles(tmp_path, NoCloud())
    kernel, stale = files.cache.fetch(_meta("kernel")), files.cache.fetch(_meta("old"))
    (tmp_path / "vm1").mkdir()
    (tmp_path / "vm1" / "libvirt.xml").write_text(f"<domain><os><kernel>{kernel}</kernel>"
                                                  "</os></domain>")
    assert files.age_base_images(min_age_s=0, every_s=0) == [stale]
    assert kernel.exists()


@pytest.mark.skipif(not CI and shutil.which("qemu-img") is None,
                    reason="qemu-utils is not installed (CI always runs this)")
def test_instance_disks_overlay_grow_and_blank(tmp_path):
    from activities.hypervisor import disks

    base = tmp_path / "base"
    base.write_bytes(bytes(1024 * 1024))
    disk = tmp_path / "disk"
    disks.create_overlay(base, disk, 1)
    assert disks.virtual_size(disk) == disks.GiB
    assert disks.backing_file(disk) == str(base)
    disks.grow(disk, 2)
    disks.grow(disk, 1)  # never shrinks
    assert disks.virtual_size(disk) == 2 * disks.GiB
    disks.create_blank(tmp_path / "disk.eph0", 64)
    disks.create_blank(tmp_path / "disk.swap", 32, swap=True)
    assert disks.info(tmp_path / "disk.eph0")["format"] == "qcow2"
    assert disks.virtual_size(tmp_path / "disk.swap") == 32 * 1024 * 1024


def test_a_socket_left_by_a_dead_daemon_does_not_answer(tmp_path):
    """CI once found libvirtd's socket file from an earlier run, its daemon
    gone: taking the file for a running daemon meant never starting one."""
    import socket as sk

    from activities.hypervisor.libvirtd import socket_answers

    path = tmp_path / "daemon-sock"
    assert not socket_answers(path)
    server = sk.socket(sk.AF_UNIX, sk.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    assert socket_answers(path)
    server.close()
    assert path.exists() and not socket_answers(path)
