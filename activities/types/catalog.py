"""Flavors, images, networks, ports and volumes as the steps of a build see them.

One dataclass per call, ids and small values only: workflows import this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from activities.types.context import EventRecord, OpContext


@dataclass
class FlavorInfo:
    flavorid: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int = 0
    swap: int = 0
    extra_specs: dict[str, str] = field(default_factory=dict)


@dataclass
class ImageInfo:
    id: str
    name: str
    properties: dict[str, Any] = field(default_factory=dict)
    min_disk: int = 0
    min_ram: int = 0

    @classmethod
    def of(cls, image: Any) -> ImageInfo:
        """What a build needs of a Glance image (novaflow/images.py's GlanceImage)."""
        return cls(id=image.id, name=image.name, properties=dict(image.properties),
                   min_disk=image.min_disk, min_ram=image.min_ram)


@dataclass
class NetworkInfo:
    id: str
    name: str
    port_id: str = ""  # a pre-created port the user asked for (networks: [{port}])


@dataclass
class LookupInput:
    ctx: OpContext
    ref: str  # flavor id, image id
    refs: list[str] = field(default_factory=list)  # network ids
    ports: list[str] = field(default_factory=list)  # pre-created port ids


@dataclass
class PortInfo:
    id: str
    network_id: str
    network_name: str
    ip_address: str
    mac_address: str


@dataclass
class AllocateNetworkInput:
    ctx: OpContext
    networks: list[NetworkInfo]
    events: list[EventRecord] = field(default_factory=list)  # steps timed so far
    host: str = ""  # the ports' binding:host_id (the host about to spawn)
    availability_zone: str = ""  # device_owner compute:<zone>


@dataclass
class AllocateNetworkResult:
    ports: list[PortInfo]


@dataclass
class BindPortsInput:
    """Move the server's ports' ``binding:host_id`` to ``host`` ("" : unbind)."""

    ctx: OpContext
    host: str = ""


@dataclass
class BindPortsResult:
    ports: list[str]  # the server's ports, now bound to the host (or unbound)
    changed: int = 0  # how many had to be updated


@dataclass
class BlockDeviceSpec:
    """One block_device_mapping_v2 entry a build honours (after API validation)."""

    source_type: str  # volume | image | blank
    destination_type: str  # volume
    uuid: str | None = None  # the volume or image
    boot_index: int | None = None
    volume_size: int | None = None
    delete_on_termination: bool = False


@dataclass
class VolumeDisk:
    """A volume as the hypervisor attaches it."""

    volume_id: str
    device: str  # vda, vdb...
    boot_index: int | None
    size_gb: int
    path: str


@dataclass
class ReserveVolumesInput:
    ctx: OpContext
    block_devices: list[BlockDeviceSpec] = field(default_factory=list)


@dataclass
class ReserveVolumesResult:
    disks: list[VolumeDisk]
    boot_from_volume: bool = False
    image: ImageInfo | None = None  # the boot volume's image, if it came from one


@dataclass
class AttachVolumesInput:
    ctx: OpContext
    host: str
    disks: list[VolumeDisk] = field(default_factory=list)
    connector: dict = field(default_factory=dict)  # the host's, for Cinder (empty: a default)


@dataclass
class BuildLookupsInput:
    """A build's token check and lookups, in one step (activities/build_lookups.py)."""

    ctx: OpContext
    flavor_ref: str
    image_ref: str  # "" for a volume-backed server (its volume's image comes later)
    network_ids: list[str] = field(default_factory=list)
    port_ids: list[str] = field(default_factory=list)
    # The image as the API checked it a moment before: Glance is not asked again.
    image: ImageInfo | None = None


@dataclass
class BuildLookupsResult:
    flavor: FlavorInfo
    image: ImageInfo
    networks: list[NetworkInfo]
