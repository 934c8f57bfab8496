"""Server external events (Nova's ``os-server-external-events``), as the
API delivers them to a server's running workflow as a signal.

Pure data: workflows import this."""

from __future__ import annotations

from dataclasses import dataclass

SIGNAL = "external_event"
# The events Nova accepts, and the microversion each came with.
EVENT_NAMES = {"network-changed": "2.1", "network-vif-plugged": "2.1",
               "network-vif-unplugged": "2.1", "network-vif-deleted": "2.1",
               "volume-extended": "2.51", "power-update": "2.76",
               "accelerator-request-bound": "2.82", "volume-reimaged": "2.93"}


@dataclass
class ExternalEvent:
    name: str  # e.g. network-vif-plugged
    server_uuid: str
    tag: str = ""  # the port id for network events, the volume id for volume ones
    status: str = "completed"  # completed | failed | in-progress
