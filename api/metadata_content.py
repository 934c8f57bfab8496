"""What the metadata service tells a guest about itself (Nova's
``nova/api/metadata/base.py`` ``InstanceMetadata``): the OpenStack tree
(meta_data.json, user_data, network_data.json, vendor data, password) and the
EC2-compatible tree, built from the database rows of one instance and its
ports as the network service reports them; network_data.json is the config
drive's own (novaflow/guest_network.py), as Nova serves one
InstanceMetadata to both."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field

from sqlmodel import Session, select

from novaflow import guest_network
from novaflow.guest_network import GuestPort
from schema.models import Instance, KeyPair

EC2_VERSIONS = ["1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10",
                "2007-12-15", "2008-02-01", "2008-09-01", "2009-04-04"]
OPENSTACK_VERSIONS = ["2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30",
                      "2016-10-06", "2017-02-22", "2018-08-27", "2020-10-14"]


@dataclass
class InstanceMetadata:
    """Everything the guest may read, gathered in one database visit."""

    uuid: str
    project_id: str
    meta_data: dict
    network_data: dict
    ec2: dict
    user_data: bytes | None = None
    vendor_data: dict = field(default_factory=dict)


def _keys(s: Session, inst: Instance) -> list[dict]:
    if not inst.key_name:
        return []
    kp = s.exec(select(KeyPair).where(KeyPair.user_id == inst.user_id,
                                      KeyPair.name == inst.key_name)).first()
    if kp is None:
        return []
    return [{"name": kp.name, "type": kp.type,
             "data": kp.public_key}]


def build(s: Session, inst: Instance, ports: list[GuestPort]) -> InstanceMetadata:
    """``ports``: the server's ports as Neutron has them (the network service's
    answer, never the stand-in's tables)."""
    keys = _keys(s, inst)
    hostname = inst.hostname or inst.display_name
    meta_data = {
        "uuid": inst.uuid, "meta": dict(inst.metadata_ or {}),
        "public_keys": {k["name"]: k["data"] for k in keys}, "keys": keys,
        "hostname": hostname, "name": inst.display_name, "launch_index": inst.launch_index,
        "availability_zone": inst.availability_zone, "project_id": inst.project_id,
        "random_seed": base64.b64encode(os.urandom(512)).decode(),
        "devices": [], "dedicated_cpus": [],
    }
    addresses = [a for addrs in (inst.addresses or {}).values() for a in addrs]
    fixed_v4 = next((a.get("addr") for a in addresses if a.get("version", 4) == 4), "")
    ec2 = {
        "ami-id": f"ami-{inst.id:08x}" if inst.image_ref else "",
        "ami-launch-index": str(inst.launch_index), "ami-manifest-path": "FIXME",
        "block-device-mapping": {"ami": "vda", "root": "/dev/vda"},
        "hostname": hostname, "instance-action": "none",
        "instance-id": f"i-{inst.id:08x}", "instance-type": (inst.flavor or {}).get("name", ""),
        "local-hostname": hostname, "local-ipv4": fixed_v4,
        "placement": {"availability-zone": inst.availability_zone or ""},
        "public-hostname": hostname, "public-ipv4": "",
        "reservation-id": inst.reservation_id or "", "security-groups": "default",
    }
    if keys:
        ec2["public-keys"] = {f"0={keys[0]['name']}": {"openssh-key": keys[0]["data"]}}
    user_data = base64.b64decode("".join(inst.user_data.split())) if inst.user_data else None
    return InstanceMetadata(uuid=inst.uuid, project_id=inst.project_id, meta_data=meta_data,
                            network_data=guest_network.network_data(ports), ec2=ec2,
                            user_data=user_data)


def lookup(tree: dict, parts: list[str]):
    """The node at ``parts`` of a nested dict tree, or None."""
    node = tree
    for part in parts:
        if not isinstance(node, dict):
            return None
        key = next((k for k in node if k == part or k.split("=")[0] == part), None)
        if key is None:
            return None
        node = node[key]
    return node


def listing(node: dict) -> str:
    """A directory as the EC2 API lists it: one name a line, "/" after directories."""
    return "\n".join(f"{k}/" if isinstance(v, dict) and "=" not in k else k
                     for k, v in node.items())
