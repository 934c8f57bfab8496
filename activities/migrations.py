"""Migration records, and the allocation moves of resize, cold and live migration.

Allocations follow Placement's migration model: while a move is in flight
the source allocation belongs to the migration record (consumer = migration
uuid) and the destination claim to the instance.  Confirm (or a finished
live migration) drops the migration's allocation; revert or failure drops the
destination claim and gives the source allocation back to the instance.

Every state change here is one transaction over the instance, its migration
and its allocations, so no crash between steps can orphan an allocation, and
each is safe to retry.  A server being deleted is never touched: the delete
owns it from then on.
"""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.base import ControlActivities
from activities.network import server_ports
from activities.scheduler import placement
from activities.types.catalog import FlavorInfo, ImageInfo
from activities.types.context import OpContext
from activities.types.moves import (
    ClaimMigrationInput,
    DecisionDoneInput,
    DecisionFailedInput,
    FinishMoveInput,
    HostCapabilities,
    LivePrecheckInput,
    MigrationPlan,
    MigrationRef,
    MigrationStepInput,
    MoveFailedInput,
    ReleaseMigrationClaimInput,
    ResizeDecisionInput,
)
from activities.types.scheduling import ClaimResult
from novaflow import errors
from novaflow.rules import service_is_up
from novaflow.states import PowerState, TaskState, VmState
from schema import zones
from schema.models import (
    Allocation,
    ComputeNode,
    ControlPlaneClock,
    Instance,
    InstanceAction,
    Migration,
    Service,
    utcnow,
)

MIGRATION_PRECHECK_FAILED = "MigrationPreCheckError"
_DECISIONS = {
    "confirm": ("confirmResize", TaskState.RESIZE_CONFIRMING, "confirming", "confirmed"),
    "revert": ("revertResize", TaskState.RESIZE_REVERTING, "reverting", "reverted"),
}


def flavor_info(snapshot: dict) -> FlavorInfo:
    """A FlavorInfo from an instance's or migration's flavor snapshot."""
    return FlavorInfo(flavorid=snapshot.get("flavorid", ""), name=snapshot.get("name", ""),
                      vcpus=snapshot.get("vcpus", 0), memory_mb=snapshot.get("memory_mb", 0),
                      root_gb=snapshot.get("root_gb", 0),
                      ephemeral_gb=snapshot.get("ephemeral_gb", 0), swap=snapshot.get("swap", 0),
                      extra_specs=dict(snapshot.get("extra_specs") or {}))


def _snapshot(flavor: dict) -> dict:
    """A migration's flavor snapshot as the instance stores it (no table id)."""
    return {k: v for k, v in flavor.items() if k != "id"}


def _gone(inst: Instance) -> bool:
    return inst.deleted or inst.task_state == TaskState.DELETING


def _refuse_if_gone(inst: Instance) -> None:
    """A move's step refuses to touch a server its delete has taken over."""
    if _gone(inst):
        raise ApplicationError(f"Instance {inst.uuid} is being deleted",
                               type=errors.NOT_FOUND, non_retryable=True)


def _fault(message: str, details: str = "", error_type: str = "") -> dict:
    # Nova's fault message is at most 255 characters; the rest goes to details.
    if len(message) > 255 and not details:
        details = message
    return {"code": 500, "message": message[:255], "details": details, "type": error_type,
            "created": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")}


def _vm_state_for(power_state: int) -> str:
    return VmState.ACTIVE if power_state == PowerState.RUNNING else VmState.STOPPED



def _follow_host_zone(session, inst: Instance) -> None:
    """Show the zone of the host the server now runs on (OS-EXT-AZ), as Nova does."""
    node = session.exec(select(ComputeNode).where(ComputeNode.host == inst.host)).first()
    if node is not None:
        inst.availability_zone = zones.host_zone(session, inst.host)

class MigrationActivities(ControlActivities):
    """The database side of every move."""

    # -- helpers ---------------------------------------------------------------

    @staticmethod
    def _rows(s, ctx: OpContext, migration_id: str) -> tuple[Instance, Migration]:
        inst = s.exec(select(Instance).where(Instance.uuid == ctx.server_id)).first()
        mig = s.exec(select(Migration).where(Migration.uuid == migration_id)).first()
        if inst is None or mig is None:
            raise ApplicationError(f"Instance {ctx.server_id} or migration {migration_id} "
                                   "could not be found.", type=errors.NOT_FOUND,
                                   non_retryable=True)
        return inst, mig

    @staticmethod
    def _node(s, host: str | None) -> ComputeNode | None:
        if not host:
            return None
        return s.exec(select(ComputeNode).where(ComputeNode.host == host)).first()

    def _give_back(self, s, inst: Instance, mig: Migration) -> None:
        """Drop the destination claim; the source allocation returns to the instance."""
        held = s.exec(select(Allocation).where(Allocation.consumer_id == mig.uuid)).all()
        dest = self._node(s, mig.dest_compute)
        if held:
            if dest is not None:
                placement.release(s, inst.uuid, dest.uuid)
            for alloc in held:
                alloc.consumer_id = inst.uuid
                s.add(alloc)
        elif dest is not None and mig.dest_compute != mig.source_compute:
            placement.release(s, inst.uuid, dest.uuid)  # the source held nothing to move

    @staticmethod
    def _set_status(mig: Migration, status: str, error: str | None = None) -> None:
        mig.status = status
        if error is not None:
            mig.error = error[:255]
        mig.updated_at = utcnow()

    # -- a move's start, its claim and its steps ---------------------------------

    @activity.defn(name="prepare_migration")
    def prepare_migration(self, inp: MigrationRef) -> MigrationPlan:
        """What the move needs, read once: flavors, image, ports, the source."""
        with self.db.reader() as s:
            inst, mig = self._rows(s, inp.ctx, inp.migration_id)
            ports = server_ports(self.cloud, inst.uuid)
            node = self._node(s, mig.source_compute)
            image = inst.image or {}
            return MigrationPlan(
                migration_id=mig.uuid, migration_type=mig.migration_type,
                name=inst.display_name, source_host=mig.source_compute or inst.host or "",
                source_node_uuid=node.uuid if node else "", vm_state=inst.vm_state,
                power_state=inst.power_state, old_flavor=flavor_info(mig.old_flavor),
                new_flavor=flavor_info(mig.new_flavor),
                image=ImageInfo(id=image.get("id", inst.image_ref),
                                name=image.get("name", ""),
                                properties=dict(image.get("properties") or {})),
                ports=ports, availability_zone=inst.pinned_availability_zone,
                server_group_uuid=inst.server_group_uuid,
                source=HostCapabilities(host=node.host, cpu_arch=node.cpu_arch,
                                        hypervisor_type=node.hypervisor_type,
                                        hypervisor_version=node.hypervisor_version,
                                        address=node.host_ip) if node else None)

    @activity.defn(name="claim_for_migration")
    def claim_for_migration(self, inp: ClaimMigrationInput) -> ClaimResult:
        """In one transaction: the source allocation moves to the migration and
        the instance claims on the first candidate that has room."""
        f = inp.flavor
        disk = f.root_gb + f.ephemeral_gb + (f.swap + 1023) // 1024
        reasons: list[str] = []
        with self.db.writer() as s:
            inst, mig = self._rows(s, inp.ctx, inp.migration_id)
            _refuse_if_gone(inst)
            source = self._node(s, inp.source_host)
            moved = s.exec(select(Allocation).where(Allocation.consumer_id == mig.uuid)).first()
            if source is not None and moved is None:
                own = s.exec(select(Allocation).where(Allocation.consumer_id == inst.uuid,
                                                      Allocation.node_uuid == source.uuid)).first()
                if own is not None:
                    own.consumer_id = mig.uuid
                    s.add(own)
                    s.flush()
            for host in inp.candidates:
                node = self._node(s, host)
                if node is None:
                    reasons.append(f"{host}: gone")
                    continue
                why = None
                if inp.group_uuid:
                    why = placement.group_allows(s, inp.group_uuid, inst.uuid, host)
                if why is None:
                    why = placement.claim_on_node(s, node, inst.uuid, f.vcpus, f.memory_mb,
                                                  disk, inst.project_id, inst.user_id)
                if why is None:
                    mig.dest_compute, mig.dest_node, mig.dest_host = (
                        node.host, node.hypervisor_hostname, node.host_ip)
                    mig.updated_at = utcnow()
                    s.add(mig)
                    return ClaimResult(host=host, node_uuid=node.uuid,
                                       libvirt_uri=node.libvirt_uri)
                reasons.append(f"{host}: {why}")
            # Raising rolls the whole transaction back, the move of the source
            # allocation included.
            raise ApplicationError("Claims failed on every candidate: " + "; ".join(reasons),
                                   {"claims": reasons}, type=errors.CLAIM_CONFLICT,
                                   non_retryable=True)

    @activity.defn(name="release_migration_claim")
    def release_migration_claim(self, inp: ReleaseMigrationClaimInput) -> None:
        """Undo claim_for_migration on ``dest_host`` before a reschedule."""
        with self.db.writer() as s:
            inst, mig = self._rows(s, inp.ctx, inp.migration_id)
            mig.dest_compute = mig.dest_compute or inp.dest_host
            self._give_back(s, inst, mig)

    @activity.defn(name="advance_migration")
    def advance_migration(self, inp: MigrationStepInput) -> None:
        """The migration's status and the instance's task_state, together."""
        with self.db.writer() as s:
            inst, mig = self._rows(s, inp.ctx, inp.migration_id)
            self.add_events(s, inp.ctx, inp.events)
            _refuse_if_gone(inst)
            self._set_status(mig, inp.status)
            inst.task_state = inp.task_state
            inst.updated_at = utcnow()
            s.add_all([inst, mig])

    @activity.defn(name="finish_resize_record")
    def finish_resize_record(self, inp: FinishMoveInput) -> None:
        """The resized server runs on the destination: VERIFY_RESIZE."""
        with self.db.writer() as s:
            inst, mig = self._rows(s, inp.ctx, inp.migration_id)
            self.add_events(s, inp.ctx, inp.events)
            _refuse_if_gone(inst)
            inst.vm_state, inst.task_state = VmState.RESIZED, None
            inst.host = inst.node = inp.host
            _follow_host_zone(s, inst)
            inst.flavor = _snapshot(mig.new_flavor)
            inst.power_state = inp.power_state
            inst.updated_at = utcnow()
            self._set_status(mig, "finished")
            s.add_all([inst, mig])
            self.finish_action(s, inp.ctx)

    @activity.defn(name="finish_live_migration")
    def finish_live_migration(self, inp: FinishMoveInput) -> None:
        """The server runs on the destination; the source allocation goes."""
        with self.db.writer() as s:
            inst, mig = self._rows(s, inp.ctx, inp.migration_id)
            self.add_events(s, inp.ctx, inp.events)
            placement.release(s, mig.uuid)
            if inp.error:
                self._set_status(mig, "error", inp.error)
            else:
                self._set_status(mig, "completed")
            s.add(mig)
            if not _gone(inst):
                inst.host = inst.node = inp.host
                _follow_host_zone(s, inst)
                inst.task_state = None
                inst.power_state = inp.power_state
                if inp.error:
                    inst.fault = _fault(inp.error, error_type="MigrationStepFailed")
                inst.updated_at = utcnow()
                s.add(inst)
            self.finish_action(s, inp.ctx, message=inp.error[:255] or None)

    @activity.defn(name="fail_migration")
    def fail_migration(self, inp: MoveFailedInput) -> None:
        """A move failed: allocations follow the server, the migration goes to
        error, the instance gets its state back and a fault saying why."""
        with self.db.writer() as s:
            inst, mig = self._rows(s, inp.ctx, inp.migration_id)
            self.add_events(s, inp.ctx, inp.events)
            landed = (inp.host is not None and inp.host == mig.dest_compute
                      and inp.host != mig.source_compute)
            if landed:
                placement.release(s, mig.uuid)  # it runs on the destination now
            else:
                self._give_back(s, inst, mig)
            self._set_status(mig, inp.status, inp.message)
            s.add(mig)
            if not _gone(inst):
                inst.vm_state, inst.task_state = inp.vm_state, None
                inst.host = inst.node = inp.host or mig.source_compute or inst.host
                _follow_host_zone(s, inst)
                if not landed:
                    inst.flavor = _snapshot(mig.old_flavor) or inst.flavor
                if inp.power_state is not None:
                    inst.power_state = inp.power_state
                if inp.status == "error":  # an aborted migration is no fault of the server
                    inst.fault = _fault(inp.message, inp.details, inp.error_type)
                inst.updated_at = utcnow()
                s.add(inst)
            self.finish_action(s, inp.ctx, message=inp.message[:255])

    @activity.defn(name="abandon_migration")
    def abandon_migration(self, inp: MigrationRef) -> bool:
        """If the server is being deleted, the migration lets go of its
        allocation (the delete owns the instance and its own) and True;
        otherwise nothing changes and False (the move was cancelled by hand)."""
        with self.db.writer() as s:
            inst, mig = self._rows(s, inp.ctx, inp.migration_id)
            if not _gone(inst):
                return False
            placement.release(s, mig.uuid)
            if mig.status in ("finished", "confirming"):
                self._set_status(mig, "confirmed")  # as Nova: deleting confirms a resize
            elif mig.status not in ("confirmed", "reverted", "completed", "error"):
                self._set_status(mig, "error", "the server was deleted during the migration")
            s.add(mig)
            return True

    # -- confirm and revert --------------------------------------------------------

    @activity.defn(name="begin_resize_decision")
    def begin_resize_decision(self, inp: ResizeDecisionInput) -> OpContext:
        """Record the confirmResize/revertResize action and take task_state."""
        action_name, task_state, status, _done = _DECISIONS[inp.decision]
        with self.db.writer() as s:
            inst, mig = self._rows(s, inp.ctx, inp.migration_id)
            if inst.task_state == task_state and mig.status == status:
                prev = self.latest_action(s, inst.uuid)  # a retried activity
                return replace(inp.ctx, action_id=prev.id if prev else None)
            if (_gone(inst) or inst.vm_state != VmState.RESIZED or inst.task_state is not None
                    or mig.status != "finished"):
                what = (f"task_state {inst.task_state}" if inst.task_state
                        else f"vm_state {inst.vm_state}")
                raise ApplicationError(f"Cannot '{action_name}' instance {inst.uuid} while it "
                                       f"is in {what}", type=errors.INVALID_REQUEST,
                                       non_retryable=True)
            wf_id, run_id = self._workflow_ids()
            action = InstanceAction(
                action=action_name, instance_uuid=inst.uuid,
                request_id=inp.ctx.request_id or f"req-auto-{inp.decision}-{mig.uuid}",
                project_id=inst.project_id, user_id=inp.ctx.user_id or inst.user_id,
                message=("resize_confirm_window elapsed" if inp.auto else
                         None if inp.ctx.request_id else "the resize workflow was cancelled"),
                workflow_id=wf_id, run_id=run_id)
            s.add(action)
            inst.task_state = task_state
            inst.updated_at = utcnow()
            self._set_status(mig, status)
            s.add_all([inst, mig])
            s.flush()
            return replace(inp.ctx, action_id=action.id)

    @activity.defn(name="finish_resize_decision")
    def finish_resize_decision(self, inp: DecisionDoneInput) -> None:
        """Confirmed: the migration's allocation goes.  Reverted: the server is
        back on the source with its old flavor and allocation."""
        with self.db.writer() as s:
            inst, mig = self._rows(s, inp.ctx, inp.migration_id)
            if mig.status == _DECISIONS[inp.decision][3]:
                # Done already: a local activity runs again when its workflow
                # task is retried (a signal arrived while it ran), and by then
                # the server may have moved on to another operation.
                return
            self.add_events(s, inp.ctx, inp.events)
            if inp.decision == "confirm":
                placement.release(s, mig.uuid)
            else:
                self._give_back(s, inst, mig)
            self._set_status(mig, _DECISIONS[inp.decision][3])
            s.add(mig)
            if not _gone(inst):
                if inp.decision == "revert":
                    inst.host = inst.node = mig.source_compute
                    _follow_host_zone(s, inst)
                    inst.flavor = _snapshot(mig.old_flavor)
                if inp.power_state is not None:
                    inst.power_state = inp.power_state
                inst.vm_state, inst.task_state = _vm_state_for(inst.power_state), None
                inst.updated_at = utcnow()
                s.add(inst)
            self.finish_action(s, inp.ctx)

    @activity.defn(name="fail_resize_decision")
    def fail_resize_decision(self, inp: DecisionFailedInput) -> None:
        """A confirm or revert failed.  Back in VERIFY_RESIZE (the user may try
        again), or in ERROR when the server could not be brought back anywhere."""
        with self.db.writer() as s:
            inst, mig = self._rows(s, inp.ctx, inp.migration_id)
            self.add_events(s, inp.ctx, inp.events)
            if inp.vm_state == VmState.RESIZED:
                self._set_status(mig, "finished", inp.message)
            else:
                placement.release(s, mig.uuid)  # it stays (in ERROR) on the destination
                self._set_status(mig, inp.status, inp.message)
            s.add(mig)
            if not _gone(inst):
                inst.vm_state, inst.task_state = inp.vm_state, None
                inst.fault = _fault(inp.message, error_type="MigrationStepFailed")
                inst.updated_at = utcnow()
                s.add(inst)
            self.finish_action(s, inp.ctx, message=inp.message[:255])

    # -- live migration's control-side pre-check ------------------------------------

    @activity.defn(name="live_migration_precheck")
    def live_migration_precheck(self, inp: LivePrecheckInput) -> HostCapabilities:
        """Nova's conductor checks: destination up, same hypervisor, not older."""
        def refuse(why: str) -> ApplicationError:
            return ApplicationError(f"Migration pre-check error: {why}",
                                    type=MIGRATION_PRECHECK_FAILED, non_retryable=True)

        with self.db.reader() as s:
            if inp.dest_host == inp.source_host:
                raise refuse(f"Unable to migrate instance ({inp.ctx.server_id}) to current "
                             f"host ({inp.source_host}).")
            src, dest = self._node(s, inp.source_host), self._node(s, inp.dest_host)
            if dest is None or src is None:
                raise refuse(f"Compute host {inp.dest_host} could not be found.")
            svc = s.exec(select(Service).where(Service.host == dest.host,
                                               Service.binary == "nova-compute")).first()
            if not service_is_up(svc, self.settings.scheduler.service_down_time,
                                 clock=ControlPlaneClock.read(s)):
                raise refuse(f"Compute service of {dest.host} is unavailable at this time.")
            if dest.hypervisor_type != src.hypervisor_type:
                raise refuse(f"hypervisor type {dest.hypervisor_type} of {dest.host} differs "
                             f"from {src.hypervisor_type} of {src.host}")
            if dest.hypervisor_version < src.hypervisor_version:
                raise refuse(f"hypervisor of {dest.host} is older than that of {src.host}")
            if dest.cpu_arch != src.cpu_arch:
                raise refuse(f"CPU architecture {dest.cpu_arch} of {dest.host} differs from "
                             f"{src.cpu_arch} of {src.host}")
            return HostCapabilities(host=dest.host, cpu_arch=dest.cpu_arch,
                                    hypervisor_type=dest.hypervisor_type,
                                    hypervisor_version=dest.hypervisor_version,
                                    address=dest.host_ip)

    def all(self) -> list:
        return [
            self.prepare_migration, self.claim_for_migration, self.release_migration_claim,
            self.advance_migration, self.finish_resize_record, self.finish_live_migration,
            self.fail_migration, self.abandon_migration, self.begin_resize_decision,
            self.finish_resize_decision, self.fail_resize_decision,
            self.live_migration_precheck,
        ]
