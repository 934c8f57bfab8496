"""SQLModel tables of novaflow.

Only the control plane (API and control-queue activities) opens these; host
workers never do.  Changes are additive and ship as an Alembic migration in
``schema/migrations/versions``.
"""

from __future__ import annotations

import uuid as uuidlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint, false
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Timezone-aware UTC now, the form every timestamp column stores."""
    return datetime.now(UTC)


def new_uuid() -> str:
    return str(uuidlib.uuid4())


def _json(default: Any = None) -> Any:
    factory = (lambda: {}) if default is None else default
    return Field(default_factory=factory, sa_column=Column(JSON, nullable=False))


class Flavor(SQLModel, table=True):
    __tablename__ = "flavors"
    id: int | None = Field(default=None, primary_key=True)
    flavorid: str = Field(index=True, unique=True)
    name: str = Field(index=True, unique=True)
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    is_public: bool = True
    disabled: bool = False
    description: str | None = None
    extra_specs: dict = _json()
    created_at: datetime = Field(default_factory=utcnow)


class ComputeNode(SQLModel, table=True):
    __tablename__ = "compute_nodes"
    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(default_factory=new_uuid, index=True, unique=True)
    host: str = Field(index=True, unique=True)
    hypervisor_hostname: str
    vcpus: int
    memory_mb: int
    local_gb: int
    reserved_host_cpus: int = 0
    reserved_host_memory_mb: int = 0
    reserved_host_disk_mb: int = 0
    cpu_allocation_ratio: float = 16.0
    ram_allocation_ratio: float = 1.5
    disk_allocation_ratio: float = 1.0
    availability_zone: str = "nova"
    hypervisor_type: str = "QEMU"
    hypervisor_version: int = 0
    cpu_arch: str = "x86_64"
    cpu_info: dict = _json()
    libvirt_uri: str = ""
    host_ip: str = "127.0.0.1"
    # Recent build failures on this node (BuildFailureWeigher); reset by a success.
    failed_builds: int = 0
    # Bumped by every claim: the compare-and-swap that makes claims atomic.
    generation: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Service(SQLModel, table=True):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("host", "binary"),)
    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(default_factory=new_uuid, index=True, unique=True)
    host: str = Field(index=True)
    binary: str = "nova-compute"
    topic: str = "compute"
    disabled: bool = False
    disabled_reason: str | None = None
    forced_down: bool = False
    last_seen_up: datetime | None = None
    report_count: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Allocation(SQLModel, table=True):
    """Resources a consumer (an instance, or a migration) holds on a node."""

    __tablename__ = "allocations"
    __table_args__ = (UniqueConstraint("consumer_id", "node_uuid"),)
    id: int | None = Field(default=None, primary_key=True)
    consumer_id: str = Field(index=True)
    node_uuid: str = Field(index=True)
    vcpus: int
    memory_mb: int
    disk_gb: int
    project_id: str = ""
    user_id: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class Instance(SQLModel, table=True):
    __tablename__ = "instances"
    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(default_factory=new_uuid, index=True, unique=True)
    display_name: str
    description: str | None = None
    project_id: str = Field(index=True)
    user_id: str
    vm_state: str = Field(index=True)
    task_state: str | None = None
    power_state: int = 0
    host: str | None = Field(default=None, index=True)
    node: str | None = None
    availability_zone: str | None = None
    flavor: dict = _json()  # snapshot: flavorid, name, vcpus, memory_mb, root_gb, ...
    image_ref: str = ""
    image: dict = _json()  # snapshot: id, name, properties
    key_name: str | None = None
    metadata_: dict = Field(default_factory=dict, sa_column=Column("metadata", JSON,
                                                                   nullable=False))
    addresses: dict = _json()  # {network name: [{addr, version, mac, type}]}
    requested_networks: list = _json(list)
    fault: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    launched_at: datetime | None = None
    terminated_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow, index=True)
    deleted_at: datetime | None = None
    deleted: bool = Field(default=False, index=True)
    workflow_id: str | None = None  # the operation currently holding task_state
    user_data: str | None = None
    hostname: str | None = None
    reservation_id: str | None = None
    launch_index: int = 0
    server_group_uuid: str | None = None
    # The zone the user asked for (None: any).  availability_zone shows where
    # the server is; moves are held to this one (Nova's pinned zone, 2.96).
    pinned_availability_zone: str | None = None
    # Nova's lock: a locked server refuses actions from non-admins; locked_by
    # is "owner" or "admin" (who may unlock it), locked_reason shows at 2.73.
    locked: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    locked_by: str | None = None
    locked_reason: str | None = None
    # Nova's accessIPv4/accessIPv6: addresses the user records (create, update, rebuild).
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    # Shelve (Nova's system_metadata shelved_image_id / shelved_at): the
    # snapshot an unshelve spawns from (None for a volume-backed server).
    shelved_image_id: str | None = None
    shelved_at: datetime | None = None
    # The security groups the boot asked for, resolved to ids in Neutron:
    # applied to the ports novaflow makes ([]: Neutron's default group).
    security_group_ids: list = Field(default_factory=list,
                                     sa_column=Column(JSON, nullable=False,
                                                      server_default="[]"))
    # The names of its ports' groups as the server view shows them, kept
    # like Nova's network info cache: written when the boot's ports are made
    # and by add/removeSecurityGroup, so a server show asks Neutron nothing.
    security_group_names: list = Field(default_factory=list,
                                       sa_column=Column(JSON, nullable=False,
                                                        server_default="[]"))


class InstanceAction(SQLModel, table=True):
    __tablename__ = "instance_actions"
    id: int | None = Field(default=None, primary_key=True)
    action: str
    instance_uuid: str = Field(index=True)
    request_id: str
    project_id: str
    user_id: str
    message: str | None = None
    workflow_id: str | None = None
    run_id: str | None = None
    start_time: datetime = Field(default_factory=utcnow)
    finish_time: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class InstanceActionEvent(SQLModel, table=True):
    __tablename__ = "instance_action_events"
    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(index=True, foreign_key="instance_actions.id")
    event: str
    start_time: datetime = Field(default_factory=utcnow)
    finish_time: datetime | None = None
    result: str | None = None  # "Success" | "Error"
    traceback: str | None = None
    host: str | None = None
    details: str | None = None
    workflow_id: str | None = None
    run_id: str | None = None


class Image(SQLModel, table=True):
    """Local image catalog (Glance's stand-in in the embedded stack)."""

    __tablename__ = "images"
    id: str = Field(default_factory=new_uuid, primary_key=True)
    name: str = Field(index=True)
    status: str = "active"
    visibility: str = "public"
    owner: str | None = None
    disk_format: str = "qcow2"
    container_format: str = "bare"
    min_disk: int = 0
    min_ram: int = 0
    size: int = 0
    properties: dict = _json()
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Network(SQLModel, table=True):
    """Local network catalog (Neutron's stand-in in the embedded stack)."""

    __tablename__ = "networks"
    id: str = Field(default_factory=new_uuid, primary_key=True)
    name: str = Field(index=True)
    project_id: str = ""
    shared: bool = True
    status: str = "ACTIVE"
    admin_state_up: bool = True
    mtu: int = 1500
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Subnet(SQLModel, table=True):
    __tablename__ = "subnets"
    id: str = Field(default_factory=new_uuid, primary_key=True)
    network_id: str = Field(index=True, foreign_key="networks.id")
    name: str = ""
    cidr: str
    gateway_ip: str | None = None
    ip_version: int = 4
    enable_dhcp: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class Port(SQLModel, table=True):
    __tablename__ = "ports"
    # One address per subnet: the unique constraint makes IP allocation race-free.
    __table_args__ = (UniqueConstraint("subnet_id", "ip_address"),)
    id: str = Field(default_factory=new_uuid, primary_key=True)
    network_id: str = Field(index=True)
    subnet_id: str
    ip_address: str
    mac_address: str
    device_id: str | None = Field(default=None, index=True)
    device_owner: str = "compute:nova"
    project_id: str = ""
    status: str = "DOWN"
    binding_host_id: str = Field(default="", sa_column_kwargs={"server_default": ""})
    created_at: datetime = Field(default_factory=utcnow)


class Migration(SQLModel, table=True):
    """A move of an instance between hosts (resize, cold or live migration)."""

    __tablename__ = "migrations"
    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(default_factory=new_uuid, index=True, unique=True)
    instance_uuid: str = Field(index=True)
    migration_type: str  # resize | migration | live-migration | evacuation
    status: str = Field(index=True)
    source_compute: str | None = None
    source_node: str | None = None
    dest_compute: str | None = None
    dest_node: str | None = None
    dest_host: str | None = None
    old_flavor: dict = _json()
    new_flavor: dict = _json()
    project_id: str = ""
    user_id: str = ""
    workflow_id: str | None = None
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class KeyPair(SQLModel, table=True):
    __tablename__ = "key_pairs"
    __table_args__ = (UniqueConstraint("user_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str
    user_id: str = Field(index=True)
    fingerprint: str
    public_key: str
    type: str = "ssh"
    created_at: datetime = Field(default_factory=utcnow)


class ServerGroup(SQLModel, table=True):
    __tablename__ = "server_groups"
    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(default_factory=new_uuid, index=True, unique=True)
    name: str
    project_id: str = Field(index=True)
    user_id: str
    policy: str  # affinity | anti-affinity | soft-affinity | soft-anti-affinity
    rules: dict = _json()
    created_at: datetime = Field(default_factory=utcnow)


class ServerGroupMember(SQLModel, table=True):
    __tablename__ = "server_group_members"
    __table_args__ = (UniqueConstraint("group_uuid", "instance_uuid"),)
    id: int | None = Field(default=None, primary_key=True)
    group_uuid: str = Field(index=True)
    instance_uuid: str = Field(index=True)


class Aggregate(SQLModel, table=True):
    __tablename__ = "aggregates"
    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(default_factory=new_uuid, index=True, unique=True)
    name: str = Field(unique=True)
    metadata_: dict = Field(default_factory=dict, sa_column=Column("metadata", JSON,
                                                                   nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class AggregateHost(SQLModel, table=True):
    __tablename__ = "aggregate_hosts"
    __table_args__ = (UniqueConstraint("aggregate_id", "host"),)
    id: int | None = Field(default=None, primary_key=True)
    aggregate_id: int = Field(index=True, foreign_key="aggregates.id")
    host: str = Field(index=True)


class Quota(SQLModel, table=True):
    """A per-project hard limit overriding the default (instances, cores, ram...)."""

    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("project_id", "resource"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(index=True)
    resource: str
    hard_limit: int


class Volume(SQLModel, table=True):
    """Local volume catalog (Cinder's stand-in in the embedded stack)."""

    __tablename__ = "volumes"
    id: str = Field(default_factory=new_uuid, primary_key=True)
    name: str = ""
    size: int
    status: str = "available"  # available | reserved | attaching | in-use | deleting | error
    project_id: str = Field(index=True)
    user_id: str | None = None  # who made it (Cinder's user_id)
    image_id: str | None = None
    bootable: bool = False
    attached_to: str | None = Field(default=None, index=True)
    device: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class VolumeSnapshot(SQLModel, table=True):
    """A snapshot of a stand-in volume (Cinder's snapshots); its size is the
    volume's, and the stand-in has it available at once."""

    __tablename__ = "volume_snapshots"
    id: str = Field(default_factory=new_uuid, primary_key=True)
    volume_id: str = Field(index=True)
    name: str | None = None
    description: str | None = None
    size: int
    status: str = "available"  # available | deleting | error
    project_id: str = Field(index=True)
    user_id: str | None = None
    metadata_: dict = Field(default_factory=dict, sa_column=Column("metadata", JSON,
                                                                   nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class BlockDeviceMapping(SQLModel, table=True):
    __tablename__ = "block_device_mappings"
    id: int | None = Field(default=None, primary_key=True)
    instance_uuid: str = Field(index=True)
    volume_id: str | None = None
    image_id: str | None = None
    source_type: str  # image | volume | blank | snapshot
    destination_type: str = "volume"  # volume | local
    boot_index: int | None = None
    device_name: str | None = None
    volume_size: int | None = None
    delete_on_termination: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    # Volume attach (os-volume_attachments): Nova's BDM uuid, the tag (2.49)
    # and the Cinder attachment the volume is attached through.
    uuid: str | None = None
    tag: str | None = None
    attachment_id: str | None = None


class PendingHostCleanup(SQLModel, table=True):
    """A domain to destroy on a host that was down when its server was deleted."""

    __tablename__ = "pending_host_cleanups"
    __table_args__ = (UniqueConstraint("host", "instance_uuid"),)
    id: int | None = Field(default=None, primary_key=True)
    host: str = Field(index=True)
    instance_uuid: str
    reason: str = "deleted while host was down"
    created_at: datetime = Field(default_factory=utcnow)


class ControlPlaneClock(SQLModel, table=True):
    """When the control plane last heard itself through Temporal, and since
    when it has done so without a gap: host silence counts only from then
    (novaflow/rules.py ``service_is_up``)."""

    __tablename__ = "control_plane_clock"
    name: str = Field(default="control", primary_key=True)
    last_tick: datetime = Field(default_factory=utcnow)
    up_since: datetime = Field(default_factory=utcnow)

    @staticmethod
    def read(session: Any) -> ControlPlaneClock | None:
        """The clock (None before the control plane's first tick)."""
        return session.get(ControlPlaneClock, "control")
class HostChange(SQLModel, table=True):
    """A change to what the scheduler knows about a host, in commit order.

    Written by schema/host_changes.py in the same transaction as the change
    itself; a control worker's host cache re-reads only the hosts named after
    the last sequence number it saw.  Both keys empty means "every host".
    """

    __tablename__ = "host_changes"
    seq: int | None = Field(default=None, primary_key=True)
    host: str | None = None
    node_uuid: str | None = None


class ConsoleAuthToken(SQLModel, table=True):
    """A remote console's access token (Nova's ``console_auth_tokens``).

    Only the token's SHA-256 is kept; the token itself is handed to the
    client once, in the console URL.  ``host``/``port`` are where the console
    proxy connects (the guest's VNC or serial TCP port on its host);
    ``expires`` is a Unix time, as Nova stores it.
    """

    __tablename__ = "console_auth_tokens"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(index=True, unique=True)
    console_type: str
    host: str
    port: int
    internal_access_path: str | None = None
    instance_uuid: str = Field(index=True)
    expires: int = Field(index=True)
    created_at: datetime = Field(default_factory=utcnow)


# -- Issue 15: server tags, flavor access, server passwords ---------------------

class InstanceTag(SQLModel, table=True):
    """A server's tag (2.26): at most 50 a server, 60 characters each."""

    __tablename__ = "instance_tags"
    __table_args__ = (UniqueConstraint("instance_uuid", "tag"),)
    id: int | None = Field(default=None, primary_key=True)
    instance_uuid: str = Field(index=True)
    tag: str = Field(index=True)


class FlavorProject(SQLModel, table=True):
    """A project allowed to see and boot a private flavor (os-flavor-access)."""

    __tablename__ = "flavor_projects"
    __table_args__ = (UniqueConstraint("flavorid", "project_id"),)
    id: int | None = Field(default=None, primary_key=True)
    flavorid: str = Field(index=True)
    project_id: str = Field(index=True)


class InstancePassword(SQLModel, table=True):
    """The encrypted password a guest posted to the metadata service
    (os-server-password); Nova keeps it in system metadata."""

    __tablename__ = "instance_passwords"
    instance_uuid: str = Field(primary_key=True)
    password: str = ""
    updated_at: datetime = Field(default_factory=utcnow)


class QuotaClass(SQLModel, table=True):
    """A quota class's limit (os-quota-class-sets); the class "default" gives
    every project the limits it has not been given itself."""

    __tablename__ = "quota_classes"
    __table_args__ = (UniqueConstraint("class_name", "resource"),)
    id: int | None = Field(default=None, primary_key=True)
    class_name: str = Field(index=True)
    resource: str
    hard_limit: int


class VolumeAttachment(SQLModel, table=True):
    """An attachment of the Cinder stand-in (Cinder's 3.27+ attachments API):
    reserved, then attaching once a host's connector is given, attached when
    completed; deleting it frees the volume."""

    __tablename__ = "volume_attachments"
    id: str = Field(default_factory=new_uuid, primary_key=True)
    volume_id: str = Field(index=True)
    instance_uuid: str | None = Field(default=None, index=True)
    status: str = "reserved"  # reserved | attaching | attached
    attach_mode: str = "rw"
    connector: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    attached_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class VirtualInterface(SQLModel, table=True):
    """An interface attached to a running server (os-interface), Nova's side:
    the port, its tag, and whether the port was the user's own (kept, only
    unbound, when the interface or the server goes) or made by novaflow."""

    __tablename__ = "virtual_interfaces"
    id: int | None = Field(default=None, primary_key=True)
    port_id: str = Field(index=True)
    instance_uuid: str = Field(index=True)
    network_id: str
    tag: str | None = None
    preserve_on_delete: bool = False
    created_at: datetime = Field(default_factory=utcnow)



# -- Security groups of the Neutron stand-in (issue 12 item 3) -----------------

class SecurityGroup(SQLModel, table=True):
    """A Neutron security group: a named set of rules a port is filtered by."""

    __tablename__ = "security_groups"
    id: str = Field(default_factory=new_uuid, primary_key=True)
    name: str = Field(default="", index=True)
    description: str = ""
    project_id: str = Field(default="", index=True)
    stateful: bool = True
    revision_number: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class DefaultSecurityGroup(SQLModel, table=True):
    """A project's ``default`` group (Neutron's table of the same name): the
    primary key makes creating it on first use race-free."""

    __tablename__ = "default_security_groups"
    project_id: str = Field(primary_key=True)
    security_group_id: str = Field(index=True)


class SecurityGroupRule(SQLModel, table=True):
    """One rule of a group: traffic it lets in (ingress) or out (egress)."""

    __tablename__ = "security_group_rules"
    id: str = Field(default_factory=new_uuid, primary_key=True)
    security_group_id: str = Field(index=True)
    project_id: str = ""
    direction: str  # ingress | egress
    ethertype: str = "IPv4"  # IPv4 | IPv6
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = Field(default=None, index=True)
    description: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class PortSecurityGroup(SQLModel, table=True):
    """A port filtered by a group (Neutron's securitygroupportbindings)."""

    __tablename__ = "port_security_groups"
    port_id: str = Field(primary_key=True)
    security_group_id: str = Field(primary_key=True, index=True)
