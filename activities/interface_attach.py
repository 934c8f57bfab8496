"""Control-plane steps of interface attach / detach (workflows/interface_attach.py):
Neutron's ports through ``activities/neutron_ports.py`` (over HTTP, never
Neutron's tables), and Nova's own records: the ``virtual_interfaces`` row
(whose ``preserve_on_delete`` says the port was the user's) and the
server's addresses.

Attach: ``bind_port`` records the interface and binds the user's port to
the server and its host, or creates one on the network; after the host plugged it,
``finish_interface_attach`` records it -- or, after a failure, deletes the
port novaflow created / unbinds the user's, so nothing is left.  Detach:
``prepare_interface_detach`` finds the port, the host unplugs it, and
``finish_interface_detach`` deletes it if novaflow made it, else unbinds it.
"""

from __future__ import annotations

from sqlmodel import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.base import ControlActivities
from activities.neutron_ports import NeutronPorts, NeutronRefused
from activities.types.interface_attach import (
    PORT_IN_USE,
    BoundPort,
    FinishInterfaceInput,
    PortStepInput,
)
from novaflow import errors
from novaflow.cloud import host_connection
from novaflow.states import TaskState
from schema.models import Instance, VirtualInterface, utcnow

_OUR_TASKS = (TaskState.INTERFACE_ATTACHING, TaskState.INTERFACE_DETACHING)


def _refused(exc: NeutronRefused) -> ApplicationError:
    kind = {404: errors.NOT_FOUND, 409: PORT_IN_USE}.get(exc.status or 0,
                                                         errors.INVALID_REQUEST)
    return ApplicationError(exc.message, type=kind, non_retryable=True)


class InterfaceAttachActivities(ControlActivities):
    """Neutron and database steps of interface attach and detach."""

    def __init__(self, db, settings, neutron: NeutronPorts | None = None):
        super().__init__(db, settings)
        self.neutron = neutron or NeutronPorts(lambda: host_connection(settings))

    def _instance(self, s, server_id: str) -> Instance:
        inst = s.exec(select(Instance).where(Instance.uuid == server_id)).first()
        if inst is None or inst.deleted or inst.task_state == TaskState.DELETING:
            raise ApplicationError(f"Instance {server_id} is being deleted",
                                   type=errors.NOT_FOUND, non_retryable=True)
        return inst

    @activity.defn(name="bind_port")
    def bind_port(self, inp: PortStepInput) -> BoundPort:
        ctx, req = inp.ctx, inp.request
        with self.db.reader() as s:
            host = self._instance(s, ctx.server_id).host or ""
        try:
            if req.port_id:
                port, device = self.neutron.info(req.port_id)
                if device not in (None, ctx.server_id):
                    raise ApplicationError(f"Port {req.port_id} is still in use.",
                                           type=PORT_IN_USE, non_retryable=True)
                # Recorded before the bind: a delete racing the attach must
                # unbind the user's port, never delete it.
                self._record(ctx.server_id, port.id, port.network_id, req.tag, preserve=True)
                self.neutron.bind(req.port_id, ctx.server_id, host)
                return BoundPort(host=host, port=port, created=False)
            port_id = self.neutron.create(req.network_id or "", ctx.project_id,
                                          ctx.server_id, host, req.ip_address)
        except NeutronRefused as exc:
            raise _refused(exc) from exc
        try:
            port, _device = self.neutron.info(port_id)
        except Exception:
            self.neutron.delete(port_id)  # made but unreadable: leave nothing behind
            raise
        self._record(ctx.server_id, port.id, port.network_id, req.tag, preserve=False)
        return BoundPort(host=host, port=port, created=True)

    def _record(self, server_id: str, port_id: str, network_id: str, tag: str | None,
                preserve: bool) -> None:
        """Nova's record of the interface (idempotent: a retry finds it)."""
        with self.db.writer() as s:
            if s.exec(select(VirtualInterface).where(
                    VirtualInterface.port_id == port_id,
                    VirtualInterface.instance_uuid == server_id)).first() is None:
                s.add(VirtualInterface(port_id=port_id, instance_uuid=server_id,
                                       network_id=network_id, tag=tag,
                                       preserve_on_delete=preserve))

    def _release(self, bound: BoundPort | None, port_id: str | None = None) -> None:
        if bound is None:
            return
        if bound.created:
            self.neutron.delete(port_id or bound.port.id)
        else:
            self.neutron.unbind(port_id or bound.port.id)

    def _finish(self, s, inp: FinishInterfaceInput) -> Instance | None:
        self.add_events(s, inp.ctx, inp.events)
        self.finish_action(s, inp.ctx, message=inp.error[:255] if inp.error else None)
        inst = s.exec(select(Instance).where(Instance.uuid == inp.ctx.server_id)).first()
        if inst is None or inst.deleted:
            return None
        if inst.task_state in _OUR_TASKS:
            inst.task_state, inst.updated_at = None, utcnow()
            s.add(inst)
        return inst

    @activity.defn(name="finish_interface_attach")
    def finish_interface_attach(self, inp: FinishInterfaceInput) -> None:
        if inp.error is not None:
            self._release(inp.bound)
        with self.db.writer() as s:
            inst = self._finish(s, inp)
            if inp.error is not None and inp.bound is not None:
                for vif in s.exec(select(VirtualInterface).where(
                        VirtualInterface.port_id == inp.bound.port.id,
                        VirtualInterface.instance_uuid == inp.ctx.server_id)).all():
                    s.delete(vif)
            if inp.error is not None or inp.bound is None or inst is None:
                return
            p = inp.bound.port
            addresses = {k: list(v) for k, v in (inst.addresses or {}).items()}
            addresses.setdefault(p.network_name, []).append(
                {"addr": p.ip_address, "version": 4, "mac": p.mac_address, "type": "fixed",
                 "port_id": p.id})
            inst.addresses = addresses
            s.add(inst)

    @activity.defn(name="prepare_interface_detach")
    def prepare_interface_detach(self, inp: PortStepInput) -> BoundPort:
        ctx, port_id = inp.ctx, inp.request.port_id or ""
        with self.db.reader() as s:
            host = self._instance(s, ctx.server_id).host or ""
            vif = s.exec(select(VirtualInterface).where(
                VirtualInterface.port_id == port_id,
                VirtualInterface.instance_uuid == ctx.server_id)).first()
        try:
            port, device = self.neutron.info(port_id)
        except NeutronRefused as exc:
            raise _refused(exc) from exc
        if device != ctx.server_id:
            raise ApplicationError(f"Port {port_id} is not attached", type=errors.NOT_FOUND,
                                   non_retryable=True)
        # A boot's ports have no row: novaflow made them.
        return BoundPort(host=host, port=port,
                         created=vif is None or not vif.preserve_on_delete)

    @activity.defn(name="finish_interface_detach")
    def finish_interface_detach(self, inp: FinishInterfaceInput) -> None:
        if inp.error is None:
            self._release(inp.bound)
        with self.db.writer() as s:
            inst = self._finish(s, inp)
            if inp.error is not None or inp.bound is None:
                return
            for vif in s.exec(select(VirtualInterface).where(
                    VirtualInterface.port_id == inp.bound.port.id)).all():
                s.delete(vif)
            if inst is not None:
                inst.addresses = {
                    net: kept for net, addrs in (inst.addresses or {}).items()
                    if (kept := [a for a in addrs if a.get("port_id") != inp.bound.port.id])}
                s.add(inst)

    def all(self) -> list:
        return [self.bind_port, self.finish_interface_attach, self.prepare_interface_detach,
                self.finish_interface_detach]
