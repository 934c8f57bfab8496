"""Task-queue names: the one place they are built."""

CONTROL_QUEUE = "novaflow-control"


def host_queue(hostname: str) -> str:
    """The task queue a compute host's worker polls."""
    return f"novaflow-host-{hostname}"
