"""Nova's instance states, how they map to the API's ``status``, and the
transitions table: which operation may start from which state.

vm_state is where an instance rests, task_state what is being done to it
(None when idle), power_state what the hypervisor says.  Pure constants: the
workflows import this module too.
"""

from __future__ import annotations

from dataclasses import dataclass


class VmState:
    BUILDING = "building"
    ACTIVE = "active"
    STOPPED = "stopped"
    PAUSED = "paused"
    SUSPENDED = "suspended"
    RESIZED = "resized"
    ERROR = "error"
    DELETED = "deleted"
    SOFT_DELETED = "soft-delete"
    RESCUED = "rescued"
    SHELVED = "shelved"
    SHELVED_OFFLOADED = "shelved_offloaded"


class TaskState:
    SCHEDULING = "scheduling"
    BLOCK_DEVICE_MAPPING = "block_device_mapping"
    NETWORKING = "networking"
    SPAWNING = "spawning"
    DELETING = "deleting"
    POWERING_OFF = "powering-off"
    POWERING_ON = "powering-on"
    REBOOTING = "rebooting"
    REBOOTING_HARD = "rebooting_hard"
    PAUSING = "pausing"
    UNPAUSING = "unpausing"
    SUSPENDING = "suspending"
    RESUMING = "resuming"
    RESIZE_PREP = "resize_prep"
    RESIZE_MIGRATING = "resize_migrating"
    RESIZE_MIGRATED = "resize_migrated"
    RESIZE_FINISH = "resize_finish"
    RESIZE_REVERTING = "resize_reverting"
    RESIZE_CONFIRMING = "resize_confirming"
    MIGRATING = "migrating"
    REBUILDING = "rebuilding"
    REBUILD_BLOCK_DEVICE_MAPPING = "rebuild_block_device_mapping"
    REBUILD_SPAWNING = "rebuild_spawning"
    SOFT_DELETING = "soft-deleting"
    RESTORING = "restoring"
    UPDATING_PASSWORD = "updating_password"
    INTERFACE_ATTACHING = "interface_attaching"
    INTERFACE_DETACHING = "interface_detaching"
    RESCUING = "rescuing"
    UNRESCUING = "unrescuing"
    # snapshot (createImage / createBackup), shelve, evacuate
    IMAGE_SNAPSHOT = "image_snapshot"
    IMAGE_BACKUP = "image_backup"
    IMAGE_UPLOADING = "image_uploading"
    SHELVING = "shelving"
    SHELVING_IMAGE_UPLOADING = "shelving_image_uploading"
    SHELVING_OFFLOADING = "shelving_offloading"
    UNSHELVING = "unshelving"


class PowerState:
    """libvirt-derived power states, numbered as Nova numbers them."""

    NOSTATE = 0
    RUNNING = 1
    PAUSED = 3
    SHUTDOWN = 4
    CRASHED = 6
    SUSPENDED = 7


# vm_state -> API status when no task overrides it.
_STATUS_BY_VM_STATE = {
    VmState.ACTIVE: "ACTIVE",
    VmState.BUILDING: "BUILD",
    VmState.STOPPED: "SHUTOFF",
    VmState.RESIZED: "VERIFY_RESIZE",
    VmState.PAUSED: "PAUSED",
    VmState.SUSPENDED: "SUSPENDED",
    VmState.ERROR: "ERROR",
    VmState.DELETED: "DELETED",
    VmState.SOFT_DELETED: "SOFT_DELETED",
    VmState.RESCUED: "RESCUE",
    VmState.SHELVED: "SHELVED",
    VmState.SHELVED_OFFLOADED: "SHELVED_OFFLOADED",
}

# (vm_state, task_state) pairs whose status differs from the vm_state's own.
_STATUS_BY_TASK = {
    TaskState.REBOOTING: "REBOOT",
    TaskState.REBOOTING_HARD: "HARD_REBOOT",
    TaskState.RESIZE_PREP: "RESIZE",
    TaskState.RESIZE_MIGRATING: "RESIZE",
    TaskState.RESIZE_MIGRATED: "RESIZE",
    TaskState.RESIZE_FINISH: "RESIZE",
    TaskState.RESIZE_REVERTING: "REVERT_RESIZE",
    TaskState.MIGRATING: "MIGRATING",
    TaskState.REBUILDING: "REBUILD",
    TaskState.REBUILD_BLOCK_DEVICE_MAPPING: "REBUILD",
    TaskState.REBUILD_SPAWNING: "REBUILD",
}


def api_status(vm_state: str, task_state: str | None) -> str:
    """The Compute API ``status`` of an instance, as Nova derives it."""
    if vm_state == VmState.DELETED:
        return "DELETED"
    if task_state in _STATUS_BY_TASK and vm_state in (VmState.ACTIVE, VmState.STOPPED,
                                                       VmState.RESIZED):
        return _STATUS_BY_TASK[task_state]
    return _STATUS_BY_VM_STATE.get(vm_state, "UNKNOWN")


def vm_states_for_status(status: str) -> list[str]:
    """The vm_states an API ``status`` filter selects (for ?status=)."""
    status = status.upper()
    return [vm for vm, st in _STATUS_BY_VM_STATE.items() if st == status]


# -- which operation may start from which state ---------------------------------

ANY = None  # a Transition field that accepts every state


@dataclass(frozen=True)
class Transition:
    """One operation's place in the instance life cycle, as Nova's
    ``check_instance_state`` decorators define it.

    ``vm_states`` / ``task_states`` are where the operation may start from
    (``ANY``: every state); ``task_state`` is what the instance shows while it
    runs; ``ends_in`` are the vm_states it leaves the instance in when it
    succeeds (a failure leaves the vm_state as it was, or ERROR).
    """

    operation: str  # as Nova names it in its 409s and instance actions
    vm_states: tuple[str, ...] | None
    task_state: str | None
    ends_in: tuple[str, ...]
    task_states: tuple[str | None, ...] | None = (None,)
    needs_host: bool = True  # refused while the instance is on no host
    allowed_when_locked: bool = False  # a locked server refuses it to non-admins

    def refusal(self, uuid: str, vm_state: str, task_state: str | None) -> str | None:
        """Nova's 409 text if the operation may not start from these states."""
        if self.vm_states is not ANY and vm_state not in self.vm_states:
            return f"Cannot '{self.operation}' instance {uuid} while it is in vm_state {vm_state}"
        if self.task_states is not ANY and task_state not in self.task_states:
            return (f"Cannot '{self.operation}' instance {uuid} while it is in "
                    f"task_state {task_state}")
        return None


_V, _T = VmState, TaskState
# Where Nova attaches and detaches volumes (shelved states are not ours yet).
_VOLUME_STATES = (_V.ACTIVE, _V.PAUSED, _V.STOPPED, _V.RESIZED, _V.SOFT_DELETED)
_HARD_REBOOTABLE = (_V.ACTIVE, _V.STOPPED, _V.PAUSED, _V.SUSPENDED, _V.ERROR)

# Keyed by the name routes and workflows use; ``operation`` is Nova's word.
TRANSITIONS: dict[str, Transition] = {t.operation if key is None else key: t for key, t in [
    (None, Transition("create", ANY, _T.SCHEDULING, (_V.ACTIVE,), ANY, needs_host=False)),
    (None, Transition("delete", ANY, _T.DELETING, (_V.DELETED,), ANY, needs_host=False)),
    (None, Transition("start", (_V.STOPPED,), _T.POWERING_ON, (_V.ACTIVE,))),
    (None, Transition("stop", (_V.ACTIVE, _V.ERROR), _T.POWERING_OFF, (_V.STOPPED,))),
    ("reboot:SOFT", Transition("reboot", (_V.ACTIVE,), _T.REBOOTING, (_V.ACTIVE,))),
    ("reboot:HARD", Transition("reboot", _HARD_REBOOTABLE, _T.REBOOTING_HARD, (_V.ACTIVE,))),
    (None, Transition("pause", (_V.ACTIVE,), _T.PAUSING, (_V.PAUSED,))),
    (None, Transition("unpause", (_V.PAUSED,), _T.UNPAUSING, (_V.ACTIVE,))),
    (None, Transition("suspend", (_V.ACTIVE,), _T.SUSPENDING, (_V.SUSPENDED,))),
    (None, Transition("resume", (_V.SUSPENDED,), _T.RESUMING, (_V.ACTIVE,))),
    (None, Transition("resize", (_V.ACTIVE, _V.STOPPED), _T.RESIZE_PREP, (_V.RESIZED,))),
    (None, Transition("migrate", (_V.ACTIVE, _V.STOPPED), _T.RESIZE_PREP, (_V.RESIZED,))),
    (None, Transition("live-migration", (_V.ACTIVE, _V.PAUSED), _T.MIGRATING,
                      (_V.ACTIVE, _V.PAUSED))),
    # Decisions on a waiting resize: its workflow sets the task_state itself.
    (None, Transition("confirmResize", (_V.RESIZED,), _T.RESIZE_CONFIRMING,
                      (_V.ACTIVE, _V.STOPPED))),
    (None, Transition("revertResize", (_V.RESIZED,), _T.RESIZE_REVERTING,
                      (_V.ACTIVE, _V.STOPPED))),
    # Reads on the host: they take no task_state and change no state.
    (None, Transition("getConsoleOutput", ANY, None, (), ANY)),
    # Remote consoles: of an ACTIVE, idle server (Nova's check_instance_host
    # and reject_instance_state; it checks no lock).
    (None, Transition("get_vnc_console", (_V.ACTIVE,), None, (), allowed_when_locked=True)),
    (None, Transition("get_serial_console", (_V.ACTIVE,), None, (),
                      allowed_when_locked=True)),
    (None, Transition("rebuild", (_V.ACTIVE, _V.STOPPED, _V.ERROR), _T.REBUILDING,
                      (_V.ACTIVE, _V.STOPPED))),
    # Soft delete (reclaim_instance_interval > 0): servers in another state,
    # or busy, are deleted at once.
    ("soft_delete", Transition("soft_delete", (_V.ACTIVE, _V.STOPPED, _V.PAUSED,
                                               _V.SUSPENDED), _T.SOFT_DELETING,
                               (_V.SOFT_DELETED,))),
    (None, Transition("restore", (_V.SOFT_DELETED,), _T.RESTORING, (_V.ACTIVE,))),
    (None, Transition("forceDelete", (_V.SOFT_DELETED,), _T.DELETING, (_V.DELETED,),
                      needs_host=False)),
    # lock/unlock change a flag in any state, even while an operation runs
    # (Nova's compute API checks no state); they take no task_state.
    (None, Transition("lock", ANY, None, (), ANY, needs_host=False, allowed_when_locked=True)),
    (None, Transition("unlock", ANY, None, (), ANY, needs_host=False,
                      allowed_when_locked=True)),
    # A server's security groups change on its ports, in any state and while an
    # operation runs (Nova's security group API checks neither state nor lock).
    (None, Transition("addSecurityGroup", ANY, None, (), ANY, needs_host=False,
                      allowed_when_locked=True)),
    (None, Transition("removeSecurityGroup", ANY, None, (), ANY, needs_host=False,
                      allowed_when_locked=True)),
    # A guest action holding no task_state (Nova's check_instance_state, task_state None).
    (None, Transition("trigger_crash_dump", (_V.ACTIVE, _V.PAUSED, _V.RESIZED, _V.ERROR),
                      None, ())),
    (None, Transition("changePassword", (_V.ACTIVE,), _T.UPDATING_PASSWORD, (_V.ACTIVE,))),
    # An admin's way out of a stuck state (Nova checks no state, nor the lock).
    (None, Transition("resetState", ANY, None, (), ANY, needs_host=False,
                      allowed_when_locked=True)),
    # Volume attach/detach/swap (Nova's compute API: no task_state of their own).
    *[(None, Transition(op, _VOLUME_STATES, None, ())) for op in (
        "attach_volume", "detach_volume")],
    (None, Transition("swap_volume", (_V.ACTIVE, _V.PAUSED, _V.RESIZED), None, ())),
    # Interface attach/detach (Nova's compute API, with its task states).
    (None, Transition("attach_interface", (_V.ACTIVE, _V.PAUSED, _V.STOPPED),
                      _T.INTERFACE_ATTACHING, ())),
    (None, Transition("detach_interface", (_V.ACTIVE, _V.PAUSED, _V.STOPPED),
                      _T.INTERFACE_DETACHING, ())),
    # Rescue: a rescue domain from the rescue image, the server's disk second.
    (None, Transition("rescue", (_V.ACTIVE, _V.STOPPED, _V.ERROR), _T.RESCUING,
                      (_V.RESCUED,))),
    (None, Transition("unrescue", (_V.RESCUED,), _T.UNRESCUING, (_V.ACTIVE,))),
]}


# -- snapshot, shelve and evacuate (Nova's check_instance_state of each) -------
_SNAPSHOTTABLE = (_V.ACTIVE, _V.STOPPED, _V.PAUSED, _V.SUSPENDED)
TRANSITIONS.update({
    "createImage": Transition("createImage", _SNAPSHOTTABLE, _T.IMAGE_SNAPSHOT, _SNAPSHOTTABLE),
    "createBackup": Transition("createBackup", (_V.ACTIVE, _V.STOPPED), _T.IMAGE_BACKUP,
                               (_V.ACTIVE, _V.STOPPED)),
    "shelve": Transition("shelve", _SNAPSHOTTABLE, _T.SHELVING,
                         (_V.SHELVED, _V.SHELVED_OFFLOADED)),
    "shelveOffload": Transition("shelveOffload", (_V.SHELVED,), _T.SHELVING_OFFLOADING,
                                (_V.SHELVED_OFFLOADED,)),
    "unshelve": Transition("unshelve", (_V.SHELVED, _V.SHELVED_OFFLOADED), _T.UNSHELVING,
                           (_V.ACTIVE,), needs_host=False),
    "evacuate": Transition("evacuate", (_V.ACTIVE, _V.STOPPED, _V.ERROR), _T.REBUILDING,
                           (_V.ACTIVE, _V.STOPPED), allowed_when_locked=True),
})


def transition(name: str) -> Transition:
    """The table's row for an operation (KeyError names an unknown one)."""
    return TRANSITIONS[name]
