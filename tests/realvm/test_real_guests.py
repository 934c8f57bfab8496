"""Real QEMU guests through the whole stack: two simulated hosts share one
libvirtd on qemu:///system and boot the test image (a Debian cloud kernel
and a busybox initramfs that prints its config drive's identity on the
serial console).  Everything a user would notice is checked through the API
(status, power state, ``os-getConsoleOutput``) and on the host itself
(libvirt domains, qemu processes, instance and base files).

CI always runs this module (the stack installs and starts libvirtd itself);
elsewhere it is skipped only when QEMU is not installed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import libvirt
import pytest
from stack import StackThread, wait_for

from activities.hypervisor import disks, networks

if not os.environ.get("CI") and shutil.which("qemu-system-x86_64") is None:
    pytest.skip("QEMU is not installed (CI always runs these)", allow_module_level=True)

MICROVERSION = {"OpenStack-API-Version": "compute 2.3"}
BOOT_TIMEOUT = 180  # TCG on two shared cores, with the other suites running
CONSOLE_TIMEOUT = 60
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def real_stack():
    # QEMU runs as libvirt-qemu: the instances must sit under directories
    # everyone may traverse (pytest's tmp dirs are private).
    state = Path(tempfile.mkdtemp(prefix="novaflow-realvm-", dir="/var/tmp"))
    os.chmod(state, 0o755)
    st = StackThread(state, hosts=2, virt="qemu", spawn_timeout=240.0,
                     host_schedule_to_start_timeout=30.0)
    st.start(timeout=600)
    yield st
    try:
        st.stop()
    finally:
        _undefine_leftovers(state)
        shutil.rmtree(state, ignore_errors=True)
        for name, seconds in TIMINGS.items():
            print(f"realvm timing: {name} = {seconds:.1f}s")


def _undefine_leftovers(state: Path) -> None:
    """What a failed test may leave on the shared libvirtd: this stack's
    domains, then any novaflow network no domain uses."""
    conn = libvirt.open("qemu:///system")
    try:
        for dom in conn.listAllDomains():
            if str(state) in dom.XMLDesc():
                if dom.isActive():
                    dom.destroy()
                dom.undefine()
        names = [n for n in conn.listAllNetworks() if n.name().startswith("novaflow-")]
        networks.release_unused(conn, [n.name().removeprefix("novaflow-") for n in names])
    finally:
        conn.close()


@pytest.fixture(scope="module")
def api(real_stack: StackThread):
    # The stack has a Keystone of its own: its catalog points at its own API.
    with real_stack.client("admin", timeout=60) as c:
        c.headers.update(MICROVERSION)
        yield c


@pytest.fixture(scope="module")
def flavors(api: httpx.Client) -> dict[str, str]:
    """Small flavors: TCG guests boot faster with less to set up."""
    out = {}
    for name, ram, disk in (("rv.small", 256, 1), ("rv.big", 384, 2), ("rv.bigger", 448, 3)):
        r = api.post("/v2.1/flavors", json={"flavor": {
            "name": name, "ram": ram, "vcpus": 1, "disk": disk}})
        assert r.status_code == 200, r.text
        out[name] = r.json()["flavor"]["id"]
    return out


@pytest.fixture(scope="module")
def ids(real_stack: StackThread, api: httpx.Client) -> dict[str, str]:
    nets = api.get("/networking/v2.0/networks").json()["networks"]
    return {"image": real_stack.stack.test_image_id,
            "network": next(n["id"] for n in nets if n["name"] == "private")}


def server(api: httpx.Client, sid: str) -> dict:
    return api.get(f"/v2.1/servers/{sid}").json()["server"]


def wait_status(api: httpx.Client, sid: str, status: str, timeout: float = BOOT_TIMEOUT) -> dict:
    def check():
        s = server(api, sid)
        assert s["status"] != "ERROR", s.get("fault")
        return s if s["status"] == status and s.get("OS-EXT-STS:task_state") is None else None
    return wait_for(check, timeout, interval=0.5, what=f"{sid} {status}")


def console(api: httpx.Client, sid: str, length: int | None = None) -> str:
    r = api.post(f"/v2.1/servers/{sid}/action",
                 json={"os-getConsoleOutput": {"length": length} if length else {}})
    assert r.status_code == 200, r.text
    return r.json()["output"]


def wait_console(api: httpx.Client, sid: str, needle: str, count: int = 1,
                 timeout: float = CONSOLE_TIMEOUT) -> str:
    return wait_for(lambda: (out := console(api, sid)).count(needle) >= count and out,
                    timeout, interval=0.5, what=f"{needle!r} x{count} on {sid}'s console")


def action(api: httpx.Client, sid: str, body: dict) -> None:
    r = api.post(f"/v2.1/servers/{sid}/action", json=body)
    assert r.status_code in (200, 202, 204), r.text  # confirmResize 204, rescue 200


def qemu_running(sid: str) -> bool:
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"qemu-system" in cmdline and sid.encode() in cmdline:
                return True
    return False


def driver_of(real_stack: StackThread, host: str):
    return real_stack.stack.running_hosts[host].driver


def mem_total(output: str) -> int:
    return int([ln for ln in output.splitlines() if ln.startswith("MemTotal=")][-1].split("=")[1])


def _boot(api, ids, flavor, name, line, metadata=None):
    t0 = time.monotonic()
    r = api.post("/v2.1/servers", json={"server": {
        "name": name, "flavorRef": flavor, "imageRef": ids["image"],
        "networks": [{"uuid": ids["network"]}], "metadata": metadata or {},
        "user_data": base64.b64encode(f"{line}\nsecond line\n".encode()).decode()}})
    assert r.status_code == 202, r.text
    return r.json()["server"]["id"], t0


@pytest.fixture(scope="module")
def booted(real_stack, api, ids, flavors):
    """Two servers on one network, booted one after the other (cold, then
    warm image cache), each then printing its identity on its console."""
    out = {}
    cache_dir = Path(real_stack.stack.settings.state_dir).resolve() / "instances" / "_base"
    for n, name in enumerate(("vm-a", "vm-b")):
        # vm-b pings vm-a: two guests on one network reach each other.
        meta = {"ping": out["vm-a"][1]["addresses"]["private"][0]["addr"]} if n else None
        sid, t0 = _boot(api, ids, flavors["rv.small"], name, f"hello from {name}", meta)
        s = wait_status(api, sid, "ACTIVE")
        TIMINGS[f"spawn {'cold' if n == 0 else 'warm'} cache (POST to ACTIVE)"] = \
            time.monotonic() - t0
        if n == 0:
            bases = {p.name: p.stat().st_ino for p in cache_dir.iterdir()}
            downloads = sum(h.driver.files.cache.downloads
                            for h in real_stack.stack.running_hosts.values())
            out["cache"] = (bases, downloads)
        out[name] = (sid, s, t0)
    # Both consoles polled together: when did each guest first print its identity?
    pending = {name: out[name] for name in ("vm-a", "vm-b")}

    def seen() -> bool:
        for name, (sid, _s, t0) in list(pending.items()):
            if "novaflow-guest: ready" in console(api, sid):
                TIMINGS[f"boot to console ({name}, POST to identity line)"] = \
                    time.monotonic() - t0
                del pending[name]
        return not pending
    wait_for(seen, BOOT_TIMEOUT, interval=0.5, what="both guests' identity lines")
    return out


def _remote_console(api: httpx.Client, sid: str, protocol: str, kind: str) -> str:
    r = api.post(f"/v2.1/servers/{sid}/remote-consoles",
                 json={"remote_console": {"protocol": protocol, "type": kind}},
                 headers={"OpenStack-API-Version": "compute 2.6"})
    assert r.status_code == 200, r.text
    return r.json()["remote_console"]["url"]


def test_serial_and_vnc_consoles_through_the_proxy(real_stack, api, booted):
    """The guest's shell answers on its serial console, and its VNC server
    greets with RFB, both through the console proxy with one-time tokens."""
    from urllib.parse import parse_qs, urlsplit

    from websockets.sync.client import connect

    sid = booted["vm-a"][0]
    wait_console(api, sid, "novaflow-guest: ready")
    t0 = time.monotonic()
    url = _remote_console(api, sid, "serial", "serial")
    with connect(url, open_timeout=10) as ws:
        got = b""

        def answered() -> bool:
            nonlocal got
            ws.send(b"\necho console-$((6*7))\n")
            deadline = time.monotonic() + 2
            with contextlib.suppress(TimeoutError):
                while b"console-42" not in got and time.monotonic() < deadline:
                    got += ws.recv(timeout=max(0.1, deadline - time.monotonic()))
            return b"console-42" in got
        wait_for(answered, 30, interval=0.1, what="the guest's shell on the serial console")
    TIMINGS["serial console through the proxy (token to shell answer)"] = time.monotonic() - t0
    vnc = _remote_console(api, sid, "vnc", "novnc")
    token = parse_qs(parse_qs(urlsplit(vnc).query)["path"][0].lstrip("?"))["token"][0]
    info = api.get(f"/v2.1/os-console-auth-tokens/{token}",
                   headers={"OpenStack-API-Version": "compute 2.31"}).json()["console"]
    assert info["instance_uuid"] == sid and info["port"] >= 5900
    proxy = real_stack.stack.settings.console_proxy_base().replace("http://", "ws://")
    with connect(f"{proxy}/?token={token}", open_timeout=10,
                 subprotocols=["binary"]) as ws:
        assert ws.recv(timeout=10).startswith(b"RFB 003.")


def test_two_servers_show_their_identity_on_the_console(api, booted):
    for name in ("vm-a", "vm-b"):
        sid, s, _t0 = booted[name]
        assert s["addresses"]["private"], s
        out = wait_console(api, sid, "novaflow-guest: ready")
        assert f"instance-id={sid}" in out
        assert f"hostname={s['OS-EXT-SRV-ATTR:hostname']}" in out
        assert f"user_data=hello from {name}" in out
        ip = s["addresses"]["private"][0]["addr"]
        assert f"ip={ip}" in out
        # length: only the last lines
        tail = console(api, sid, 2)
        assert len(tail.splitlines()) <= 2


def test_two_guests_on_one_network_reach_each_other(api, booted):
    a_ip = booted["vm-a"][1]["addresses"]["private"][0]["addr"]
    out = wait_console(api, booted["vm-b"][0], "novaflow-guest: ready")
    assert f"ping {a_ip}: ok" in out


def test_diagnostics_of_a_real_guest(api, booted):
    """libvirt's counters of a running QEMU guest, read on its host: vCPU
    time, its disks (root and config drive) with the reads of its boot, the
    packets vm-b's ping brought it, its memory."""
    sid = booted["vm-a"][0]
    wait_console(api, booted["vm-b"][0], "novaflow-guest: ready")
    d = api.get(f"/v2.1/servers/{sid}/diagnostics",
                headers={"OpenStack-API-Version": "compute 2.48"})
    assert d.status_code == 200, d.text
    d = d.json()
    assert (d["state"], d["driver"], d["config_drive"]) == ("running", "libvirt", True)
    assert d["hypervisor"] in ("qemu", "kvm") and d["num_cpus"] == 1
    assert d["cpu_details"][0]["time"] > 0
    assert d["num_disks"] >= 2 and sum(k["read_bytes"] for k in d["disk_details"]) > 0
    assert d["memory_details"]["maximum"] == 256
    (nic,) = d["nic_details"]
    assert nic["mac_address"] == booted["vm-a"][1]["addresses"]["private"][0][
        "OS-EXT-IPS-MAC:mac_addr"] and nic["rx_packets"] > 0
    flat = api.get(f"/v2.1/servers/{sid}/diagnostics").json()  # the driver's own dict
    assert flat["memory"] == 256 * 1024 and flat["cpu0_time"] > 0 and "vda_read" in flat


def _domain_xml(sid: str, flags: int = 0) -> str:
    conn = libvirt.open("qemu:///system")
    try:
        return conn.lookupByUUIDString(sid).XMLDesc(flags)
    finally:
        conn.close()


def test_an_interface_hot_plugs_into_a_running_guest_and_back_out(api, booted, ids):
    """os-interface on QEMU: the new port's NIC joins the running domain on
    its network's libvirt network (live and in its definition); a detach
    takes it out of both and deletes the port novaflow made."""
    sid = booted["vm-a"][0]
    r = api.post(f"/v2.1/servers/{sid}/os-interface",
                 json={"interfaceAttachment": {"net_id": ids["network"]}})
    assert r.status_code == 200, r.text
    att = r.json()["interfaceAttachment"]
    mac, port_id = att["mac_addr"], att["port_id"]
    live = _domain_xml(sid)
    assert mac in live and f"novaflow-{ids['network']}" in live
    assert mac in _domain_xml(sid, libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert qemu_running(sid)
    r = api.delete(f"/v2.1/servers/{sid}/os-interface/{port_id}")
    assert r.status_code == 202, r.text
    wait_for(lambda: port_id not in [i["port_id"] for i in api.get(
        f"/v2.1/servers/{sid}/os-interface").json()["interfaceAttachments"]], 60,
        interval=0.5, what="the interface to be detached")
    assert mac not in _domain_xml(sid, libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert api.get(f"/networking/v2.0/ports/{port_id}").status_code == 404
    wait_status(api, sid, "ACTIVE")


def test_the_openstack_cli_boots_a_guest_and_shows_its_console(real_stack, booted,
                                                                 tmp_path):
    """The issue's acceptance: server create --user-data --wait, console log show."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(OS_CLIENT_CONFIG_FILE=str(real_stack.stack.clouds_file), OS_CLOUD="novaflow")

    def cli(*args: str, timeout: float = 120) -> str:
        proc = subprocess.run([str(Path(sys.executable).parent / "openstack"), *args], env=env,
                              capture_output=True, text=True, timeout=timeout, check=False)
        assert proc.returncode == 0, f"openstack {' '.join(args)}: {proc.stderr}"
        return proc.stdout

    ud = tmp_path / "ud.txt"
    ud.write_text("hello from the cli\n")
    made = json.loads(cli("server", "create", "--flavor", "rv.small", "--image",
                          "novaflow-test", "--network", "private", "--user-data", str(ud),
                          "--wait", "vm-cli", "-f", "json", timeout=BOOT_TIMEOUT))
    try:
        assert made["status"] == "ACTIVE"
        out = wait_for(lambda: (o := cli("console", "log", "show", "vm-cli"))
                       .count("novaflow-guest: ready") and o, CONSOLE_TIMEOUT, interval=1,
                       what="vm-cli's identity on `openstack console log show`")
        assert f"instance-id={made['id']}" in out
        assert "user_data=hello from the cli" in out
    finally:
        cli("server", "delete", "--wait", "vm-cli", timeout=120)


def test_second_boot_downloads_no_image(real_stack, booted):
    cache_dir = Path(real_stack.stack.settings.state_dir).resolve() / "instances" / "_base"
    bases, downloads = booted["cache"]
    # kernel, ramdisk and root image: each fetched once, by the first boot
    assert downloads == 3
    assert sum(h.driver.files.cache.downloads
               for h in real_stack.stack.running_hosts.values()) == downloads
    assert {p.name: p.stat().st_ino for p in cache_dir.iterdir()} == bases


def test_both_hosts_see_only_their_own_domains(real_stack, booted):
    seen = {}
    for name, running in real_stack.stack.running_hosts.items():
        seen[name] = {d.server_id for d in running.driver.list_domains()}
    sids = {booted["vm-a"][0], booted["vm-b"][0]}
    assert set().union(*seen.values()) >= sids
    a, b = list(seen.values())
    assert not (a & b)


def test_stop_then_start_boots_again(real_stack, api, booted):
    sid = booted["vm-a"][0]
    wait_console(api, sid, "novaflow-guest: ready")
    t0 = time.monotonic()
    action(api, sid, {"os-stop": None})
    # The guest powers off on the ACPI button: well before the 60 s
    # shutdown_timeout after which the host would pull the plug.
    s = wait_status(api, sid, "SHUTOFF", timeout=45)
    TIMINGS["stop (ACPI shutdown to SHUTOFF)"] = time.monotonic() - t0
    assert "powering off" in console(api, sid)
    assert s["OS-EXT-STS:power_state"] == 4
    assert not qemu_running(sid)
    action(api, sid, {"os-start": None})
    wait_status(api, sid, "ACTIVE")
    assert qemu_running(sid)
    wait_console(api, sid, "novaflow-guest: ready", count=2)


def test_hard_reboot_recreates_a_vanished_domain(real_stack, api, booted):
    sid, s, _ = booted["vm-b"]
    wait_console(api, sid, "novaflow-guest: ready")
    conn = libvirt.open("qemu:///system")
    try:
        dom = conn.lookupByUUIDString(sid)
        dom.destroy()
        dom.undefine()  # gone behind novaflow's back
    finally:
        conn.close()
    action(api, sid, {"reboot": {"type": "HARD"}})
    wait_status(api, sid, "ACTIVE")
    assert qemu_running(sid)
    wait_console(api, sid, "novaflow-guest: ready", count=2)


def test_rescue_boots_the_rescue_disk_then_unrescue_restores_the_guest(real_stack, api,
                                                                       booted):
    """Rescue on QEMU: the guest boots again from a rescue disk made from its
    image, its own disk second; unrescue boots the original definition and
    removes the rescue disk."""
    sid = booted["vm-b"][0]
    ready = console(api, sid).count("novaflow-guest: ready")
    rescue_disk = (Path(real_stack.stack.settings.state_dir).resolve() / "instances" / sid /
                   "disk.rescue")
    action(api, sid, {"rescue": None})
    wait_status(api, sid, "RESCUE")
    root = ET.fromstring(_domain_xml(sid))
    sources = {d.find("target").get("dev"): d.find("source").get("file")
               for d in root.iter("disk") if d.get("device") == "disk"}
    assert sources["vda"] == str(rescue_disk) and sources["vdb"].endswith(f"{sid}/disk")
    assert qemu_running(sid)
    wait_console(api, sid, "novaflow-guest: ready", count=ready + 1)
    action(api, sid, {"unrescue": None})
    wait_status(api, sid, "ACTIVE")
    assert "disk.rescue" not in _domain_xml(sid) and not rescue_disk.exists()
    wait_console(api, sid, "novaflow-guest: ready", count=ready + 2)


def test_resize_to_more_ram_then_confirm(real_stack, api, booted, flavors):
    sid = booted["vm-a"][0]
    before = mem_total(wait_console(api, sid, "novaflow-guest: ready", count=2))
    ready = console(api, sid).count("novaflow-guest: ready")
    action(api, sid, {"resize": {"flavorRef": flavors["rv.big"]}})
    wait_status(api, sid, "VERIFY_RESIZE")
    action(api, sid, {"confirmResize": None})
    s = wait_status(api, sid, "ACTIVE")
    out = wait_console(api, sid, "novaflow-guest: ready", count=ready + 1)
    assert mem_total(out) > before
    disk = Path(real_stack.stack.settings.state_dir).resolve() / "instances" / sid / "disk"
    assert disks.virtual_size(disk) == 2 * disks.GiB
    assert not (disk.parent.parent / f"{sid}_resize").exists()
    assert s["OS-EXT-SRV-ATTR:host"] in real_stack.stack.running_hosts


def test_resize_revert_restores_the_old_disk(real_stack, api, booted, flavors):
    sid = booted["vm-a"][0]
    disk = Path(real_stack.stack.settings.state_dir).resolve() / "instances" / sid / "disk"
    before = wait_status(api, sid, "ACTIVE")
    old_size = disks.virtual_size(disk)
    action(api, sid, {"resize": {"flavorRef": flavors["rv.bigger"]}})
    wait_status(api, sid, "VERIFY_RESIZE")
    assert disks.virtual_size(disk) == 3 * disks.GiB
    action(api, sid, {"revertResize": None})
    s = wait_status(api, sid, "ACTIVE")
    assert s["OS-EXT-SRV-ATTR:host"] == before["OS-EXT-SRV-ATTR:host"]
    assert disks.virtual_size(disk) == old_size
    assert qemu_running(sid)


def test_delete_removes_everything_but_the_base_image(real_stack, api, booted):
    base_dir = Path(real_stack.stack.settings.state_dir).resolve() / "instances" / "_base"
    bases = sorted(p.name for p in base_dir.iterdir())
    for name in ("vm-a", "vm-b"):
        sid = booted[name][0]
        assert api.delete(f"/v2.1/servers/{sid}").status_code == 204
    conn = libvirt.open("qemu:///system")
    try:
        for name in ("vm-a", "vm-b"):
            sid = booted[name][0]
            wait_for(lambda sid=sid: api.get(f"/v2.1/servers/{sid}").status_code == 404,
                     120, interval=0.5, what=f"{sid} deleted")
            with pytest.raises(libvirt.libvirtError):
                conn.lookupByUUIDString(sid)
            assert not (base_dir.parent / sid).exists()
            assert not qemu_running(sid)
        assert not [n for n in conn.listNetworks() if n.startswith("novaflow-")]
    finally:
        conn.close()
    assert sorted(p.name for p in base_dir.iterdir()) == bases
