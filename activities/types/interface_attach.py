"""Inputs and results of interface attach / detach (os-interface): ids and
small values only."""

from __future__ import annotations

from dataclasses import dataclass, field

from activities.types.catalog import PortInfo
from activities.types.context import EventRecord, OpContext

# Failure types the workflows raise; the API maps them to Nova's answers.
INTERFACE_ATTACH_FAILED = "InterfaceAttachFailed"
INTERFACE_DETACH_FAILED = "InterfaceDetachFailed"
PORT_IN_USE = "PortInUse"


@dataclass
class InterfaceRequest:
    """What the API asked for: a port of the user's, or a new one on a network."""

    port_id: str | None = None
    network_id: str | None = None
    ip_address: str | None = None
    tag: str | None = None


@dataclass
class PortStepInput:
    ctx: OpContext
    request: InterfaceRequest


@dataclass
class BoundPort:
    """A port bound to the server by an attach; ``created``: novaflow made it."""

    host: str
    port: PortInfo
    created: bool


@dataclass
class FinishInterfaceInput:
    """The end of an attach/detach: its events, and why it failed (None: it did not)."""

    ctx: OpContext
    bound: BoundPort | None = None
    port_id: str | None = None
    tag: str | None = None
    error: str | None = None
    events: list[EventRecord] = field(default_factory=list)


@dataclass
class HostInterfaceInput:
    """A host step: plug or unplug one port's interface in the server's domain."""

    server_id: str
    port: PortInfo
