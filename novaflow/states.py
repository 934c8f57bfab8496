"""Nova's instance states and how they map to the API's ``status``.

vm_state is where an instance rests, task_state what is being done to it
(None when idle), power_state what the hypervisor says.  Pure constants: the
workflows import this module too.
"""

from __future__ import annotations


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
