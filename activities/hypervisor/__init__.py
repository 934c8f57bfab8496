"""The hypervisor side: the driver contract, its libvirt implementation, and
the activities a host worker runs on its own task queue.  No database here."""
