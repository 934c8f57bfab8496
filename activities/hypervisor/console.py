"""A guest's consoles on its host.

The serial console log: libvirt hands the serial port's output to virtlogd,
which writes ``console.log`` in the instance directory and rotates it at its
``max_size`` (``console.log.0``, ...).  Reading is Nova's
``get_console_output``: the last lines, the newest rotated file first.

Remote consoles: a real guest's serial port also listens on a TCP port of
the host (``<serial type='tcp'>`` in bind mode, picked by
``free_serial_port``) and its screen on a VNC port libvirt picks
(``autoport``); ``console_endpoint_from_xml`` reads both from the running
domain, for the console proxy to connect to."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree


@dataclass
class ConsoleOutputInput:
    server_id: str
    length: int | None = None  # lines; None: everything kept


@dataclass
class ConsoleOutputResult:
    output: str


# What a host returns at most (Nova's libvirt driver caps it at 100 KiB too).
MAX_CONSOLE_BYTES = 100 * 1024


def read_tail(log: Path, length: int | None = None) -> str:
    """The console's text, at most the last ``length`` lines (all when None)."""
    data = b""
    for path in (log.with_name(log.name + ".0"), log):  # rotated first, then current
        if path.exists():
            data += path.read_bytes()
    data = data[-MAX_CONSOLE_BYTES:]
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    if length is None:
        return text
    if length <= 0:
        return ""
    lines = text.splitlines(keepends=True)
    return "".join(lines[-length:])


def console_endpoint_from_xml(xml: str, protocol: str) -> tuple[str, int] | None:
    """(listen address, port) of a running domain's ``protocol`` console, as
    Nova's libvirt driver reads it: the VNC ``<graphics>`` (its live port, -1
    before the domain runs) or the first ``<serial type='tcp'>`` in bind mode.
    None when the domain has no such console."""
    root = ElementTree.fromstring(xml)
    if protocol == "vnc":
        graphics = root.find("./devices/graphics[@type='vnc']")
        if graphics is None:
            return None
        port = int(graphics.get("port") or -1)
        listen = graphics.get("listen") or "127.0.0.1"
        return (listen, port) if port > 0 else None
    if protocol == "serial":
        for serial in root.findall("./devices/serial[@type='tcp']"):
            source = serial.find("source")
            if source is not None and source.get("mode") == "bind" and source.get("service"):
                return source.get("host") or "127.0.0.1", int(source.get("service"))
    return None


# Nova's [serial_console] port_range: the TCP ports guests' serial consoles bind.
SERIAL_PORT_RANGE = range(10000, 20000)
SERIAL_LISTEN = "127.0.0.1"
_handed_out: dict[int, float] = {}  # port -> when; not yet in a defined domain maybe
_handed_lock = threading.Lock()
_HANDED_FOR_S = 120.0


def free_serial_port(conn, host: str = SERIAL_LISTEN) -> int:
    """A TCP port for a new guest's serial console (Nova's ``acquire_port``):
    not in any domain's XML on this libvirtd (running or not), not handed out
    in the last two minutes by this process (a spawn still defining its
    domain), and free to bind right now."""
    used = set()
    for dom in conn.listAllDomains():
        with contextlib.suppress(Exception):
            root = ElementTree.fromstring(dom.XMLDesc(0))
            for source in root.findall("./devices/serial[@type='tcp']/source"):
                with contextlib.suppress(TypeError, ValueError):
                    used.add(int(source.get("service")))
    with _handed_lock:
        now = time.monotonic()
        for port, when in list(_handed_out.items()):
            if now - when > _HANDED_FOR_S:
                del _handed_out[port]
        for port in SERIAL_PORT_RANGE:
            if port in used or port in _handed_out:
                continue
            with socket.socket() as sock:
                try:
                    sock.bind((host, port))
                except OSError:
                    continue
            _handed_out[port] = now
            return port
    raise RuntimeError(f"no free serial console port in {SERIAL_PORT_RANGE} on {host}")
