"""The control plane's calls to Neutron's ports API, over openstacksdk as the
service user, exactly as against a real cloud: read a port, create one on a
network for a server, bind it to the server and its host, unbind it, delete
it (a missing port is no error).  Neutron's refusals become
``NeutronRefused`` with Neutron's own message and status."""

from __future__ import annotations

import threading
from collections.abc import Callable

import openstack.connection
import openstack.exceptions

from activities.types.catalog import PortInfo

OWNER = "compute:nova"


class NeutronRefused(Exception):
    """Neutron said no (4xx): the message is Neutron's."""

    def __init__(self, status: int | None, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class NeutronPorts:
    """Neutron's ports, through one lazily made openstacksdk Connection."""

    def __init__(self, connect: Callable[[], openstack.connection.Connection]):
        self._connect = connect
        self._conn: openstack.connection.Connection | None = None
        self._lock = threading.Lock()

    @property
    def _net(self):
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()
            return self._conn.network

    def _do(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except openstack.exceptions.HttpException as exc:
            status = exc.status_code
            if status is not None and 400 <= status < 500:
                raise NeutronRefused(status, exc.details or str(exc)) from exc
            raise

    def info(self, port_id: str) -> tuple[PortInfo, str | None]:
        """The port, and the device it is bound to (None: free)."""
        p = self._do(self._net.get_port, port_id)
        net = self._do(self._net.get_network, p.network_id)
        ip = (p.fixed_ips or [{}])[0].get("ip_address", "")
        return (PortInfo(id=p.id, network_id=p.network_id, network_name=net.name,
                         ip_address=ip, mac_address=p.mac_address), p.device_id or None)

    def create(self, network_id: str, project_id: str, server_id: str, host: str,
               ip_address: str | None = None) -> str:
        """A new port on the network, bound to the server; its id."""
        attrs = {"network_id": network_id, "project_id": project_id, "device_id": server_id,
                 "device_owner": OWNER, "binding_host_id": host}
        if ip_address:
            attrs["fixed_ips"] = [{"ip_address": ip_address}]
        return self._do(self._net.create_port, **attrs).id

    def bind(self, port_id: str, server_id: str, host: str) -> None:
        self._do(self._net.update_port, port_id, device_id=server_id, device_owner=OWNER,
                 binding_host_id=host)

    def unbind(self, port_id: str) -> None:
        try:
            self._do(self._net.update_port, port_id, device_id="", device_owner="",
                     binding_host_id="")
        except NeutronRefused as exc:
            if exc.status != 404:
                raise

    def delete(self, port_id: str) -> None:
        self._do(self._net.delete_port, port_id, ignore_missing=True)
