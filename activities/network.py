"""Ports and fixed IPs: allocate on build, free on failure or delete.

Addresses come from the network's first IPv4 subnet; the unique
(subnet, address) constraint makes two builds racing for one address safe:
the loser retries with the next free one.  Both calls are idempotent, so a
retried activity never leaks or duplicates a port.
"""

from __future__ import annotations

import ipaddress
import random

from sqlalchemy.exc import IntegrityError
from sqlmodel import delete, select, update
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.base import ControlActivities
from activities.types.catalog import (
    AllocateNetworkInput,
    AllocateNetworkResult,
    NetworkInfo,
    PortInfo,
)
from activities.types.context import OpContext
from novaflow import errors
from schema.models import Instance, Port, Subnet, VirtualInterface


def _mac() -> str:
    # fa:16:3e is the OUI OpenStack uses for its ports.
    return "fa:16:3e:" + ":".join(f"{random.randrange(256):02x}" for _ in range(3))


def _port_info(port: Port, network_name: str) -> PortInfo:
    return PortInfo(id=port.id, network_id=port.network_id, network_name=network_name,
                    ip_address=port.ip_address, mac_address=port.mac_address)


class NetworkActivities(ControlActivities):
    """Port allocation in the local catalog."""

    def _allocate_one(self, ctx: OpContext, net: NetworkInfo) -> PortInfo:
        for _ in range(20):
            with self.db.writer() as s:
                existing = s.exec(select(Port).where(Port.device_id == ctx.server_id,
                                                     Port.network_id == net.id)).first()
                if existing is not None:
                    return _port_info(existing, net.name)
                subnet = s.exec(select(Subnet).where(Subnet.network_id == net.id,
                                                     Subnet.ip_version == 4)).first()
                if subnet is None:
                    raise ApplicationError(f"Network {net.id} has no IPv4 subnet",
                                           type=errors.NETWORK_ALLOCATION_FAILED,
                                           non_retryable=True)
                used = set(s.exec(select(Port.ip_address).where(Port.subnet_id == subnet.id)))
                cidr = ipaddress.ip_network(subnet.cidr)
                free = next((str(a) for a in cidr.hosts()
                             if str(a) not in used and str(a) != subnet.gateway_ip), None)
                if free is None:
                    raise ApplicationError(
                        f"No more IP addresses available on network {net.id}.",
                        type=errors.NETWORK_ALLOCATION_FAILED, non_retryable=True)
                port = Port(network_id=net.id, subnet_id=subnet.id, ip_address=free,
                            mac_address=_mac(), device_id=ctx.server_id,
                            project_id=ctx.project_id, status="ACTIVE")
                s.add(port)
                try:
                    s.flush()
                except IntegrityError:
                    s.rollback()
                    continue
                return _port_info(port, net.name)
        raise ApplicationError("could not allocate an address after 20 tries",
                               type=errors.NETWORK_ALLOCATION_FAILED)

    @activity.defn(name="allocate_network")
    def allocate_network(self, inp: AllocateNetworkInput) -> AllocateNetworkResult:
        ports = [self._allocate_one(inp.ctx, net) for net in inp.networks]
        with self.db.writer() as s:
            inst = s.exec(select(Instance).where(Instance.uuid == inp.ctx.server_id)).first()
            if inst is not None:
                addresses: dict[str, list[dict]] = {}
                for p in ports:
                    addresses.setdefault(p.network_name, []).append(
                        {"addr": p.ip_address, "version": 4, "mac": p.mac_address,
                         "type": "fixed", "port_id": p.id})
                inst.addresses = addresses
                s.add(inst)
            self.add_events(s, inp.ctx, inp.events)
            self.add_event(s, inp.ctx, "allocate_network",
                           details=", ".join(p.ip_address for p in ports))
        return AllocateNetworkResult(ports=ports)

    @activity.defn(name="deallocate_network")
    def deallocate_network(self, ctx: OpContext) -> int:
        """Free every port of the server; returns how many were freed."""
        with self.db.writer() as s:
            # Ports the user brought to an interface attach are kept, unbound
            # (Nova's preserve_on_delete); novaflow's own ports go.
            kept = [v.port_id for v in s.exec(select(VirtualInterface).where(
                VirtualInterface.instance_uuid == ctx.server_id,
                VirtualInterface.preserve_on_delete.is_(True))).all()]
            if kept:
                s.execute(update(Port).where(Port.id.in_(kept), Port.device_id == ctx.server_id)
                          .values(device_id=None, device_owner="", status="DOWN"))
            s.execute(delete(VirtualInterface).where(
                VirtualInterface.instance_uuid == ctx.server_id))
            result = s.execute(delete(Port).where(Port.device_id == ctx.server_id))
            inst = s.exec(select(Instance).where(Instance.uuid == ctx.server_id)).first()
            if inst is not None and inst.addresses:
                inst.addresses = {}
                s.add(inst)
            return result.rowcount or 0
