"""Request schemas of remote consoles (Nova's ``schemas/remote_consoles.py``):
``POST /servers/{id}/remote-consoles`` (2.6+; ``mks``/``webmks`` from 2.8) and
the legacy actions ``os-getVNCConsole`` / ``os-getSerialConsole`` (< 2.6)."""

from __future__ import annotations

from typing import Literal

from api.schemas.common import RequestBody

Protocol = Literal["vnc", "spice", "rdp", "serial", "mks"]
ConsoleType = Literal["novnc", "xvpvnc", "rdp-html5", "spice-html5", "serial", "webmks"]


class RemoteConsole(RequestBody):
    protocol: Protocol
    type: ConsoleType


class RemoteConsoleRequest(RequestBody):
    remote_console: RemoteConsole


class GetVNCConsole(RequestBody):
    """``os-getVNCConsole``: ``{"type": "novnc"}``."""

    type: Literal["novnc", "xvpvnc"]


class GetSerialConsole(RequestBody):
    """``os-getSerialConsole``: ``{"type": "serial"}``."""

    type: Literal["serial"]
