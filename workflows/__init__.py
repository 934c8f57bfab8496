"""Deterministic orchestration of every instance lifecycle operation.

Nothing here touches the database, the network, libvirt or the clock: the
workflows see only their inputs, activity results and ``workflow.*``.
"""
