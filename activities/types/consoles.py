"""Remote consoles: what the API asks a host about a guest's console, and
what the host answers (where the console proxy may connect)."""

from __future__ import annotations

from dataclasses import dataclass

# Nova's console types: the protocol each one speaks.
VNC, SERIAL = "vnc", "serial"


@dataclass
class ConsoleEndpointInput:
    server_id: str
    protocol: str  # "vnc" or "serial"


@dataclass
class ConsoleEndpoint:
    """Where a guest's console listens on its host (Nova's ``ConsoleVNC`` /
    ``ConsoleSerial``): the proxy connects to ``host:port``."""

    host: str
    port: int
    internal_access_path: str | None = None
