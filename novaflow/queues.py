"""Task-queue names: the one place they are built."""

CONTROL_QUEUE = "novaflow-control"


def host_queue(hostname: str) -> str:
    """The task queue a compute host's worker polls."""
    return f"novaflow-host-{hostname}"


def host_group_queue(group: str) -> str:
    """The task queue of a process serving many simulated hosts (their batched reports)."""
    return f"novaflow-host-group-{group}"
