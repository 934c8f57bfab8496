"""Instance records: the state transitions every workflow writes.

Each transition checks the row is still what the workflow expects (a deleted
server is never resurrected by a late boot step) and records the step as an
instance-action event in the same transaction.
"""

from __future__ import annotations

import contextlib

from sqlmodel import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.base import ControlActivities
from activities.scheduler import placement
from activities.types.context import OpContext
from activities.types.instances import (
    InstanceLocation,
    MarkActiveInput,
    MarkDeletedInput,
    RecordEventsInput,
    SetErrorInput,
    SetTaskStateInput,
)
from novaflow import errors
from novaflow.images import ImageServiceUnavailable
from novaflow.states import TaskState, VmState
from schema import zones
from schema.models import ComputeNode, Instance, utcnow


class InstanceActivities(ControlActivities):
    """State changes of instance rows."""

    def _instance(self, session, server_id: str) -> Instance:
        inst = session.exec(select(Instance).where(Instance.uuid == server_id)).first()
        if inst is None:
            raise ApplicationError(f"Instance {server_id} could not be found.",
                                   type=errors.NOT_FOUND, non_retryable=True)
        return inst

    @activity.defn(name="set_task_state")
    def set_task_state(self, inp: SetTaskStateInput) -> str:
        """Move task_state; returns the vm_state.  Refuses if the row moved on."""
        with self.db.writer() as s:
            inst = self._instance(s, inp.ctx.server_id)
            if inst.deleted:
                raise ApplicationError(f"Instance {inst.uuid} was deleted",
                                       type=errors.NOT_FOUND, non_retryable=True)
            if inp.expected is not None and inst.task_state not in inp.expected:
                raise ApplicationError(
                    f"task_state is {inst.task_state}, expected one of {inp.expected}",
                    type=errors.INVALID_REQUEST, non_retryable=True)
            inst.task_state = inp.task_state
            inst.updated_at = utcnow()
            s.add(inst)
            return inst.vm_state

    @activity.defn(name="mark_active")
    def mark_active(self, inp: MarkActiveInput) -> None:
        with self.db.writer() as s:
            inst = self._instance(s, inp.ctx.server_id)
            self.add_events(s, inp.ctx, inp.events)
            if inst.deleted or inst.task_state == TaskState.DELETING:
                raise ApplicationError(f"Instance {inst.uuid} is being deleted",
                                       type=errors.NOT_FOUND, non_retryable=True)
            now = utcnow()
            inst.vm_state = VmState.ACTIVE
            inst.task_state = None
            inst.power_state = inp.power_state
            inst.host = inp.host
            inst.node = inp.host
            node = s.exec(select(ComputeNode).where(ComputeNode.host == inp.host)).first()
            if node is not None:
                # As Nova: the host's zone (its zone aggregate's, else its own).
                inst.availability_zone = zones.host_zone(s, inp.host)
                placement.record_build_result(s, inp.host, failed=False)
            inst.launched_at = now
            inst.updated_at = now
            inst.fault = None
            s.add(inst)
            self.add_event(s, inp.ctx, "mark_active", host=inp.host)
            self.finish_action(s, inp.ctx)

    @activity.defn(name="set_error")
    def set_error(self, inp: SetErrorInput) -> None:
        with self.db.writer() as s:
            inst = self._instance(s, inp.ctx.server_id)
            self.add_events(s, inp.ctx, inp.events)
            now = utcnow()
            if not inst.deleted:
                inst.vm_state = VmState.ERROR
                inst.task_state = None
                inst.updated_at = now
                inst.fault = {
                    "code": inp.code,
                    "message": inp.message,
                    "details": inp.details,
                    "type": inp.error_type,
                    "created": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
                s.add(inst)
            if inp.finish_action:
                self.finish_action(s, inp.ctx, message=inp.message[:255])

    @activity.defn(name="record_events")
    def record_events(self, inp: RecordEventsInput) -> None:
        with self.db.writer() as s:
            self.add_events(s, inp.ctx, inp.events)

    @activity.defn(name="mark_deleted")
    def mark_deleted(self, inp: MarkDeletedInput) -> None:
        with self.db.writer() as s:
            inst = self._instance(s, inp.ctx.server_id)
            self.add_events(s, inp.ctx, inp.events)
            now = utcnow()
            inst.vm_state = VmState.DELETED
            inst.task_state = None
            inst.power_state = 0
            inst.deleted = True
            inst.deleted_at = inst.deleted_at or now
            inst.terminated_at = inst.terminated_at or now
            inst.updated_at = now
            inst.addresses = {}
            if inst.shelved_image_id:  # Nova deletes a shelved server's snapshot too
                with contextlib.suppress(ImageServiceUnavailable):
                    self.images.delete(inst.shelved_image_id)
                inst.shelved_image_id = None
            s.add(inst)
            self.add_event(s, inp.ctx, "mark_deleted")
            self.finish_action(s, inp.ctx)

    @activity.defn(name="get_instance_location")
    def get_instance_location(self, ctx: OpContext) -> InstanceLocation:
        with self.db.reader() as s:
            inst = self._instance(s, ctx.server_id)
            return InstanceLocation(server_id=inst.uuid, host=inst.host,
                                    vm_state=inst.vm_state, deleted=inst.deleted)
