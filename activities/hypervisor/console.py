"""A guest's serial console log: libvirt hands the serial port to virtlogd,
which writes ``console.log`` in the instance directory and rotates it at its
``max_size`` (``console.log.0``, ...).  Reading is Nova's
``get_console_output``: the last lines, the newest rotated file first."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
