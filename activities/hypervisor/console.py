"""A guest's serial console log: libvirt hands the serial port to virtlogd,
which writes ``console.log`` in the instance directory and rotates it at its
``max_size`` (``console.log.0``, ...).  Reading is Nova's
``get_console_output``: the last lines, the newest rotated file first."""

from __future__ import annotations

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
