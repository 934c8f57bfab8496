"""A compute host worker in a process of its own, for tests that kill it.

    python host_process.py STATE_DIR HOSTNAME ZONE TEMPORAL_ADDRESS STACK_STATE_DIR
        [--stall STEP] [--slow STEP] [--memory-mb MB]

It serves HOSTNAME's queue over libvirt's test driver (state under
STATE_DIR/hosts, domains kept in HOSTNAME.domains.json), registers the host,
and runs until killed.  Its Temporal client encrypts payloads with the
stack's keys (read from STACK_STATE_DIR), as every novaflow process does.
``--stall STEP`` makes that driver step hang and ``--slow STEP`` take 4 s
more (FaultInjectingDriver delays), so a test can kill or freeze the process
with the step in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from activities.hypervisor.faults import FaultInjectingDriver
from novaflow.settings import Settings
from novaflow.temporal_client import connect
from workers import sim_hosts
from workers.host import build_host_worker, register_host
from workers.host_runner import libvirt_driver_factory


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("state_dir", type=Path)
    p.add_argument("hostname")
    p.add_argument("zone")
    p.add_argument("temporal_address")
    p.add_argument("stack_state_dir", type=Path)
    p.add_argument("--stall", action="append", default=[])
    p.add_argument("--slow", action="append", default=[])
    p.add_argument("--memory-mb", type=int, default=16384)
    args = p.parse_args()
    host, = sim_hosts.prepare(args.state_dir, 1, [sim_hosts.SimHost(
        name=args.hostname, vcpus=8, memory_mb=args.memory_mb, local_gb=100,
        availability_zone=args.zone)])
    uri = sim_hosts.libvirt_uri(args.state_dir, host)
    delays = {step: 3600.0 for step in args.stall} | {step: 4.0 for step in args.slow}
    driver = libvirt_driver_factory(host, uri, args.state_dir, FaultInjectingDriver,
                                    delays=delays)
    client = await connect(Settings(state_dir=args.stack_state_dir),
                           address=args.temporal_address)
    worker = build_host_worker(client, driver, host.name)
    run = asyncio.create_task(worker.run())
    await register_host(client, driver, host.name, host.availability_zone, uri)
    print("ready", flush=True)
    await run


if __name__ == "__main__":
    asyncio.run(main())
