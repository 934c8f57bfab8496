"""Control-plane activities of shelve, offload and unshelve: the server's
states, its shelved snapshot, the offload timer's take-over and the plan an
unshelve spawns from.  The workflows (workflows/shelve.py) call them; host
work and allocations go through the host and scheduler activities."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.migrations import flavor_info
from activities.network import server_ports
from activities.snapshot import SnapshotActivities
from activities.types.catalog import ImageInfo
from activities.types.context import OpContext
from activities.types.shelve import (
    BeginOffloadInput,
    FailUnshelveInput,
    FinishOffloadInput,
    FinishShelveInput,
    FinishUnshelveInput,
    UnshelvePlan,
)
from novaflow import errors
from novaflow.states import PowerState, TaskState, VmState
from schema.models import ComputeNode, Instance, InstanceAction, utcnow


class ShelveActivities(SnapshotActivities):
    """Database steps of shelve, offload and unshelve (a snapshot's too:
    the image a shelve takes is made active or deleted as a snapshot's is)."""

    def _live(self, s, server_id: str) -> Instance:
        inst = self._being_deleted(s, server_id)
        if inst is None:
            raise ApplicationError(f"Instance {server_id} is being deleted",
                                   type=errors.NOT_FOUND, non_retryable=True)
        return inst

    @activity.defn(name="finish_shelve")
    def finish_shelve(self, inp: FinishShelveInput) -> bool:
        """SHELVED (task_state shelving_offloading if the offload follows at
        once); False if the server was deleted meanwhile (its image goes)."""
        if inp.image_id and self._image_status(inp.image_id) is not None:
            self.activate_if_empty(inp.image_id, inp.uploaded)
        with self.db.writer() as s:
            self.add_events(s, inp.ctx, inp.events)
            inst = self._being_deleted(s, inp.ctx.server_id)
            if inst is None:
                if inp.image_id:
                    self.delete_image(s, inp.image_id)
                self.finish_action(s, inp.ctx, message="deleted during the shelve")
                return False
            now = utcnow()
            inst.vm_state, inst.power_state = VmState.SHELVED, inp.power_state
            inst.task_state = TaskState.SHELVING_OFFLOADING if inp.offload else None
            inst.shelved_image_id, inst.shelved_at, inst.updated_at = inp.image_id, now, now
            s.add(inst)
            if not inp.offload:
                self.finish_action(s, inp.ctx)
            return True

    @activity.defn(name="begin_offload")
    def begin_offload(self, inp: BeginOffloadInput) -> OpContext | None:
        """Take a server shelved by this workflow for its offload, with a
        ``shelveOffload`` action, in one compare-and-swap; None if it was
        unshelved, offloaded or deleted meanwhile."""
        with self.db.writer() as s:
            taken = s.execute(update(Instance).where(
                Instance.uuid == inp.ctx.server_id, Instance.deleted.is_(False),
                Instance.vm_state == VmState.SHELVED, Instance.task_state.is_(None),
                Instance.workflow_id == inp.shelve_workflow_id,
            ).values(task_state=TaskState.SHELVING_OFFLOADING, updated_at=utcnow())
                .execution_options(synchronize_session=False))
            if taken.rowcount != 1:
                return None
            act = InstanceAction(action="shelveOffload", instance_uuid=inp.ctx.server_id,
                                 request_id=inp.ctx.request_id, project_id=inp.ctx.project_id,
                                 user_id=inp.ctx.user_id, workflow_id=inp.shelve_workflow_id,
                                 message="offloaded after shelved_offload_time")
            s.add(act)
            s.flush()
            return OpContext(server_id=inp.ctx.server_id, project_id=inp.ctx.project_id,
                             user_id=inp.ctx.user_id, request_id=inp.ctx.request_id,
                             action_id=act.id)

    @activity.defn(name="finish_offload")
    def finish_offload(self, inp: FinishOffloadInput) -> None:
        with self.db.writer() as s:
            self.add_events(s, inp.ctx, inp.events)
            inst = self._live(s, inp.ctx.server_id)
            inst.vm_state, inst.task_state = VmState.SHELVED_OFFLOADED, None
            inst.host = inst.node = None
            inst.power_state, inst.updated_at = PowerState.SHUTDOWN, utcnow()
            s.add(inst)
            self.finish_action(s, inp.ctx)

    @activity.defn(name="get_unshelve_plan")
    def get_unshelve_plan(self, ctx: OpContext) -> UnshelvePlan:
        with self.db.reader() as s:
            inst = self._live(s, ctx.server_id)
            ports = server_ports(self.cloud, inst.uuid)
            base = inst.image or {}
            image = ImageInfo(id=base.get("id", inst.image_ref), name=base.get("name", ""),
                              properties=dict(base.get("properties") or {}))
            snap = (self.images.get(inst.shelved_image_id, inst.project_id, True)
                    if inst.shelved_image_id else None)
            if inst.shelved_image_id and snap is None:
                raise ApplicationError(
                    f"Unshelve of {inst.uuid} failed: its shelved image "
                    f"{inst.shelved_image_id} could not be found.",
                    type=errors.NOT_FOUND, non_retryable=True)
            if snap is not None:
                image = ImageInfo(id=snap.id, name=snap.name,
                                  properties=dict(snap.properties or {}),
                                  min_disk=snap.min_disk, min_ram=snap.min_ram)
            return UnshelvePlan(
                name=inst.display_name, vm_state=inst.vm_state, host=inst.host,
                flavor=flavor_info(inst.flavor or {}), image=image, ports=ports,
                shelved_image_id=inst.shelved_image_id,
                availability_zone=inst.pinned_availability_zone,
                server_group_uuid=inst.server_group_uuid)

    @activity.defn(name="finish_unshelve")
    def finish_unshelve(self, inp: FinishUnshelveInput) -> None:
        """ACTIVE on its host; the shelved snapshot deleted (Nova deletes it)."""
        with self.db.writer() as s:
            self.add_events(s, inp.ctx, inp.events)
            inst = self._live(s, inp.ctx.server_id)
            if inst.shelved_image_id:
                self.delete_image(s, inst.shelved_image_id)
            now = utcnow()
            inst.vm_state, inst.task_state, inst.power_state = (VmState.ACTIVE, None,
                                                                inp.power_state)
            if inst.host != inp.host:
                inst.host = inst.node = inp.host
                node = s.exec(select(ComputeNode).where(ComputeNode.host == inp.host)).first()
                if node is not None:
                    inst.availability_zone = node.availability_zone
            inst.shelved_image_id = inst.shelved_at = None
            inst.launched_at = inst.updated_at = now
            inst.fault = None
            s.add(inst)
            self.finish_action(s, inp.ctx)

    @activity.defn(name="fail_unshelve")
    def fail_unshelve(self, inp: FailUnshelveInput) -> None:
        """Still shelved (Nova's conductor on NoValidHost: task_state cleared)."""
        with self.db.writer() as s:
            self.add_events(s, inp.ctx, inp.events)
            self.finish_action(s, inp.ctx, message=inp.message[:255])
            self._release_task(s, inp.ctx.server_id)

    def all(self) -> list:
        return [self.finish_shelve, self.begin_offload, self.finish_offload,
                self.get_unshelve_plan, self.finish_unshelve, self.fail_unshelve]
