"""Control-plane activities of a rebuild (workflows/rebuild.py): read the
plan, check the new image against the server's own host, record the end.

The API has already written the new image (and name, key, user data...) on
the instance when it started the rebuild, as Nova's API does; a refused
image is rolled back here.
"""

from __future__ import annotations

from sqlmodel import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.base import ControlActivities
from activities.migrations import flavor_info
from activities.network import server_ports
from activities.scheduler import placement
from activities.scheduler.activities import flavor_spec
from activities.scheduler.filters import ImagePropertiesFilter
from activities.scheduler.types import RequestSpec
from activities.types.catalog import ImageInfo
from activities.types.context import OpContext
from activities.types.day2 import (
    CheckRebuildImageInput,
    FailRebuildInput,
    FinishRebuildInput,
    RebuildPlan,
)
from novaflow import errors
from novaflow.states import TaskState, VmState
from schema.models import Instance, utcnow

# The filters Nova runs again on the server's own host when a rebuild
# changes the image (its filters with RUN_ON_REBUILD).
REBUILD_FILTERS = (ImagePropertiesFilter,)


class RebuildActivities(ControlActivities):
    """Database steps of a rebuild."""

    def _instance(self, s, ctx: OpContext) -> Instance:
        inst = s.exec(select(Instance).where(Instance.uuid == ctx.server_id)).first()
        if inst is None or inst.deleted or inst.task_state == TaskState.DELETING:
            raise ApplicationError(f"Instance {ctx.server_id} is being deleted",
                                   type=errors.NOT_FOUND, non_retryable=True)
        return inst

    @activity.defn(name="prepare_rebuild")
    def prepare_rebuild(self, ctx: OpContext) -> RebuildPlan:
        with self.db.reader() as s:
            inst = self._instance(s, ctx)
            ports = server_ports(self.cloud, inst.uuid)
            image = inst.image or {}
            return RebuildPlan(
                name=inst.display_name, host=inst.host or "", vm_state=inst.vm_state,
                flavor=flavor_info(inst.flavor or {}),
                image=ImageInfo(id=image.get("id", inst.image_ref), name=image.get("name", ""),
                                properties=dict(image.get("properties") or {})),
                ports=ports)

    @activity.defn(name="check_rebuild_image")
    def check_rebuild_image(self, inp: CheckRebuildImageInput) -> None:
        """NoValidHost unless the server's host passes the rebuild filters."""
        with self.db.reader() as s:
            hosts = [h for h in placement.load_host_states(s, self.settings)
                     if h.host == inp.host]
        if not hosts:
            raise ApplicationError(f"No valid host was found. Host {inp.host} is gone",
                                   type=errors.NO_VALID_HOST, non_retryable=True)
        spec = RequestSpec(instance_uuid=inp.ctx.server_id, flavor=flavor_spec(inp.flavor),
                           project_id=inp.ctx.project_id, user_id=inp.ctx.user_id,
                           image_properties=dict(inp.image.properties))
        for cls in REBUILD_FILTERS:
            why = cls(self.settings.scheduler).host_passes(hosts[0], spec)
            if why:
                raise ApplicationError(
                    f"No valid host was found. Image {inp.image.id} is unacceptable on "
                    f"{inp.host}: {why}", type=errors.NO_VALID_HOST, non_retryable=True)

    @activity.defn(name="finish_rebuild")
    def finish_rebuild(self, inp: FinishRebuildInput) -> None:
        with self.db.writer() as s:
            inst = self._instance(s, inp.ctx)
            self.add_events(s, inp.ctx, inp.events)
            now = utcnow()
            inst.vm_state, inst.task_state = inp.vm_state, None
            inst.power_state, inst.fault = inp.power_state, None
            inst.launched_at = inst.updated_at = now
            s.add(inst)
            self.finish_action(s, inp.ctx)

    @activity.defn(name="fail_rebuild")
    def fail_rebuild(self, inp: FailRebuildInput) -> None:
        """ERROR with the fault (Nova's rebuild failures); the old image back if given."""
        with self.db.writer() as s:
            inst = s.exec(select(Instance).where(Instance.uuid == inp.ctx.server_id)).first()
            self.add_events(s, inp.ctx, inp.events)
            self.finish_action(s, inp.ctx, message=inp.message[:255])
            if inst is None or inst.deleted or inst.task_state == TaskState.DELETING:
                return
            now = utcnow()
            if inp.previous_image is not None:
                inst.image_ref, inst.image = inp.previous_image_ref or "", inp.previous_image
            inst.vm_state, inst.task_state, inst.updated_at = VmState.ERROR, None, now
            inst.fault = {"code": 500, "message": inp.message, "type": inp.error_type,
                          "details": "", "created": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
            s.add(inst)

    def all(self) -> list:
        return [self.prepare_rebuild, self.check_rebuild_image, self.finish_rebuild,
                self.fail_rebuild]
