"""Host set-up for real guests: the Debian packages, a running libvirtd, and
which domain type (kvm or qemu) this machine can actually run.

Containers and CI machines have no systemd, so the daemons are started here
(``virtlogd -d``, ``libvirtd -d``) when their sockets do not answer.  A
socket file left by a daemon that died (the machine's previous run) is
removed first, or the new daemon would never be started.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from novaflow import logs

log = logs.get_logger("novaflow.libvirtd")

PACKAGES = ["qemu-system-x86", "qemu-utils", "libvirt-daemon-system", "genisoimage"]
LIBVIRT_SOCKET = Path("/run/libvirt/libvirt-sock")
VIRTLOGD_SOCKET = Path("/run/libvirt/virtlogd-sock")
QEMU_URI = "qemu:///system"

# ioctl numbers from <linux/kvm.h>: KVM_GET_API_VERSION and KVM_CREATE_VM.
_KVM_GET_API_VERSION = 0xAE00
_KVM_CREATE_VM = 0xAE01


class HostSetupError(RuntimeError):
    """The machine cannot run real guests, and why."""


def missing_packages() -> list[str]:
    """The Debian packages real guests need that are not installed."""
    out = []
    for pkg in PACKAGES:
        res = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                             capture_output=True, text=True, check=False)
        if "install ok installed" not in res.stdout:
            out.append(pkg)
    return out


def install_packages() -> None:
    """apt-get install what is missing (with sudo when not root)."""
    missing = missing_packages()
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    log.info("installing Debian packages", packages=missing)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends",
                    *missing], check=True, env=env, stdout=subprocess.DEVNULL)


def fix_kvm_node(path: Path = Path("/dev/kvm")) -> None:
    """Give /dev/kvm the owner and mode Debian's udev rule sets (group kvm,
    0660) when there is no udev to do it.  libvirtd probes QEMU as root but
    checks /dev/kvm as the qemu user; when the two disagree it throws its
    capabilities cache away on every call (measured: 40 s per defineXML)."""
    import grp
    try:
        st = path.stat()
        kvm_gid = grp.getgrnam("kvm").gr_gid
    except (OSError, KeyError):
        return
    if st.st_gid != kvm_gid or st.st_mode & 0o060 != 0o060:
        try:
            os.chown(path, -1, kvm_gid)
            os.chmod(path, 0o660)
        except OSError as exc:
            log.warning("cannot fix /dev/kvm's group", error=str(exc))


def socket_answers(path: Path) -> bool:
    """True when a daemon accepts connections on the Unix socket ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(2.0)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def _wait_until_answers(path: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not socket_answers(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def ensure_libvirtd(timeout: float = 20.0) -> None:
    """Start virtlogd and libvirtd unless their sockets already answer."""
    fix_kvm_node()
    for daemon, sock in (("virtlogd", VIRTLOGD_SOCKET), ("libvirtd", LIBVIRT_SOCKET)):
        if socket_answers(sock):
            continue
        if sock.exists():
            log.info("removing a stale socket", daemon=daemon, socket=str(sock))
            sock.unlink(missing_ok=True)
        exe = shutil.which(daemon) or f"/usr/sbin/{daemon}"
        if not os.path.exists(exe):
            raise HostSetupError(f"{daemon} is not installed (apt-get install "
                                 f"{' '.join(PACKAGES)})")
        log.info("starting daemon", daemon=daemon)
        subprocess.run([exe, "-d"], check=True)
        if not _wait_until_answers(sock, timeout):
            raise HostSetupError(f"{daemon} did not answer on {sock} within {timeout:.0f}s")


def kvm_usable(kernel: str | None = None) -> bool:
    """True when KVM really boots a Linux kernel here.

    An openable /dev/kvm that creates VMs is not enough: on some hosts the
    firmware runs but Linux hangs or QEMU aborts on an MSR.  So a guest kernel
    (``kernel``, else the host's /boot/vmlinuz-*) is booted under KVM and must
    print its banner on the serial port within a few seconds.  With no kernel
    to try, KVM is not trusted.
    """
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if fcntl.ioctl(fd, _KVM_GET_API_VERSION) != 12:
            return False
        os.close(fcntl.ioctl(fd, _KVM_CREATE_VM, 0))
    except OSError:
        return False
    finally:
        os.close(fd)
    if kernel is None:
        found = sorted(Path("/boot").glob("vmlinuz-*"))
        kernel = str(found[-1]) if found else None
    return kernel is not None and _kvm_boots(kernel)


def _kvm_boots(kernel: str, timeout: float = 8.0) -> bool:
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        serial = Path(tmp) / "serial"
        proc = subprocess.Popen(
            [qemu, "-accel", "kvm", "-machine", "pc", "-m", "128", "-display", "none",
             "-nodefaults", "-monitor", "none", "-no-reboot", "-serial", f"file:{serial}",
             "-kernel", kernel, "-append", "console=ttyS0 earlyprintk=ttyS0 panic=-1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and proc.poll() is None:
                if serial.exists() and b"Linux version" in serial.read_bytes():
                    return True
                time.sleep(0.2)
            return False
        finally:
            proc.kill()
            proc.wait()


def probe_virt_type(kernel: str | None = None) -> str:
    """``kvm`` when this machine really runs KVM guests, else ``qemu`` (TCG)."""
    return "kvm" if kvm_usable(kernel) else "qemu"
