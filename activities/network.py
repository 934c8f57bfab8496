"""Ports, as Nova's network API makes them, through openstacksdk against the
network service in Keystone's catalog (the embedded stack's Neutron
stand-in, or a real Neutron), as the control plane's service user.

Build: a port is created on each requested network (``device_id`` = the
server, ``device_owner`` = ``compute:<zone>``) or a pre-created port the
user named is taken, and each is bound to the chosen host
(``binding:host_id``) before the spawn.  Failure, reschedule and delete:
ports novaflow created are deleted, ports the user brought are unbound and
kept.  Ports novaflow creates get the security groups the boot asked for
(resolved to ids by the API, kept on the instance row), else Neutron's
default group; the user's own ports keep theirs, as in Nova.  Moves rebind
the server's ports, as Nova's ``migrate_instance_finish`` and
``setup_instance_network_on_host`` do: ``bind_ports`` sets
``binding:host_id`` of every port of the server to its new host, or clears
it (a shelve offload).  All three calls are idempotent (a retried activity
finds the server's ports by ``device_id``), so a retry never leaks or
duplicates a port.
"""

from __future__ import annotations

import openstack.exceptions
from sqlmodel import delete, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.base import ControlActivities
from activities.types.catalog import (
    AllocateNetworkInput,
    AllocateNetworkResult,
    BindPortsInput,
    BindPortsResult,
    NetworkInfo,
    PortInfo,
)
from activities.types.context import OpContext
from novaflow import errors, security_groups
from novaflow.cloud import SERVICE_ERRORS
from schema.models import Instance, VirtualInterface


def _port_info(port, network_name: str) -> PortInfo:
    fixed = (port.fixed_ips or [{}])[0]
    return PortInfo(id=port.id, network_id=port.network_id, network_name=network_name,
                    ip_address=fixed.get("ip_address", ""), mac_address=port.mac_address)


def server_ports(conn, server_id: str) -> list[PortInfo]:
    """A server's ports, with their networks' names, from the network API."""
    net = conn.network
    try:
        names: dict[str, str] = {}
        ports = []
        for p in net.ports(device_id=server_id):
            if p.network_id not in names:
                names[p.network_id] = net.get_network(p.network_id).name or ""
            ports.append(_port_info(p, names[p.network_id]))
    except SERVICE_ERRORS as exc:
        raise _unavailable(exc) from exc
    return ports


def _unavailable(exc: Exception) -> ApplicationError:
    """The network service failed: retried by the activity's policy."""
    return ApplicationError(f"Network service unavailable: {exc}")


def requested_ports(inst: Instance | None) -> set[str]:
    """The pre-created ports the user booted the server with (kept on delete)."""
    return {e["port"] for e in (inst.requested_networks or []) if isinstance(e, dict)
            and e.get("port")} if inst is not None else set()


class NetworkActivities(ControlActivities):
    """Port allocation and release through the network API."""

    def _bind(self, ctx: OpContext, net: NetworkInfo, host: str, owner: str,
              have: dict[str, object], groups: list[str]) -> PortInfo:
        """The server's port for ``net``: the user's, else one made for it."""
        conn = self.cloud
        fields = {"device_id": ctx.server_id, "device_owner": owner, "binding_host_id": host}
        if net.port_id:
            port = conn.network.update_port(net.port_id, **fields)
            return _port_info(port, net.name)
        existing = next((p for p in have.values() if p.network_id == net.id), None)
        if existing is not None:
            have.pop(existing.id)
            if existing.binding_host_id != host:
                existing = conn.network.update_port(existing.id, binding_host_id=host)
            return _port_info(existing, net.name)
        if groups:
            fields["security_group_ids"] = groups
        try:
            port = conn.network.create_port(network_id=net.id, project_id=ctx.project_id,
                                            **fields)
        except (openstack.exceptions.ConflictException,
                openstack.exceptions.NotFoundException) as exc:
            # Taken address, or a group deleted since the boot was accepted.
            raise ApplicationError(exc.details or str(exc),
                                   type=errors.NETWORK_ALLOCATION_FAILED,
                                   non_retryable=True) from exc
        return _port_info(port, net.name)

    @activity.defn(name="allocate_network")
    def allocate_network(self, inp: AllocateNetworkInput) -> AllocateNetworkResult:
        ctx = inp.ctx
        owner = f"compute:{inp.availability_zone or 'nova'}"
        requested = {n.port_id for n in inp.networks if n.port_id}
        with self.db.reader() as s:
            inst = s.exec(select(Instance).where(Instance.uuid == ctx.server_id)).first()
            groups = list(inst.security_group_ids or []) if inst is not None else []
        try:
            # Ports a previous try of this activity made (not the user's own).
            have = {p.id: p for p in self.cloud.network.ports(device_id=ctx.server_id)
                    if p.id not in requested}
            ports = [self._bind(ctx, net, inp.host, owner, have, groups)
                     for net in inp.networks]
            # Ports made with Neutron's default group alone need no read back.
            group_names = (security_groups.names_of_server(self.cloud, ctx.server_id)
                           if groups or requested or not ports else ["default"])
        except ApplicationError:
            raise
        except SERVICE_ERRORS as exc:
            raise _unavailable(exc) from exc
        with self.db.writer() as s:
            inst = s.exec(select(Instance).where(Instance.uuid == ctx.server_id)).first()
            if inst is not None:
                addresses: dict[str, list[dict]] = {}
                for p in ports:
                    addresses.setdefault(p.network_name, []).append(
                        {"addr": p.ip_address, "version": 4, "mac": p.mac_address,
                         "type": "fixed", "port_id": p.id,
                         "preserve_on_delete": p.id in requested})
                inst.addresses = addresses
                inst.security_group_names = group_names
                s.add(inst)
            self.add_events(s, ctx, inp.events)
            self.add_event(s, ctx, "allocate_network",
                           details=", ".join(f"{p.ip_address} on {inp.host}" if inp.host
                                             else p.ip_address for p in ports))
        return AllocateNetworkResult(ports=ports)

    @activity.defn(name="bind_ports")
    def bind_ports(self, inp: BindPortsInput) -> BindPortsResult:
        """Bind every port of the server to ``inp.host`` ("" : unbind it, as
        Nova leaves the ports of a shelved-offloaded server: ``binding:host_id``
        None, still the server's); ports already there are left alone."""
        host = inp.host or None
        conn = self.cloud
        try:
            ports = list(conn.network.ports(device_id=inp.ctx.server_id))
            changed = 0
            for port in ports:
                if (port.binding_host_id or None) != host:
                    conn.network.update_port(port.id, binding_host_id=host)
                    changed += 1
        except SERVICE_ERRORS as exc:
            raise _unavailable(exc) from exc
        return BindPortsResult(ports=[p.id for p in ports], changed=changed)

    @activity.defn(name="deallocate_network")
    def deallocate_network(self, ctx: OpContext) -> int:
        """Delete the ports made for the server, unbind the user's; returns how many.

        The user's are the ports the boot request named and those the user
        brought to an interface attach (Nova's preserve_on_delete)."""
        with self.db.reader() as s:
            inst = s.exec(select(Instance).where(Instance.uuid == ctx.server_id)).first()
            attached = {v.port_id for v in s.exec(select(VirtualInterface).where(
                VirtualInterface.instance_uuid == ctx.server_id,
                VirtualInterface.preserve_on_delete.is_(True))).all()}
        keep = requested_ports(inst) | attached
        conn = self.cloud
        try:
            ports = list(conn.network.ports(device_id=ctx.server_id))
            for port in ports:
                if port.id in keep:
                    conn.network.update_port(port.id, device_id="", device_owner="",
                                             binding_host_id="")
                else:
                    conn.network.delete_port(port.id, ignore_missing=True)
        except SERVICE_ERRORS as exc:
            raise _unavailable(exc) from exc
        with self.db.writer() as s:
            s.execute(delete(VirtualInterface).where(
                VirtualInterface.instance_uuid == ctx.server_id))
            inst = s.exec(select(Instance).where(Instance.uuid == ctx.server_id)).first()
            if inst is not None and inst.addresses:
                inst.addresses = {}
                s.add(inst)
        return len(ports)
