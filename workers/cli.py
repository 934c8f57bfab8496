"""The ``novaflow`` command: the embedded stack, single workers, database set-up.

    novaflow up                 the whole control plane on one machine
    novaflow worker control     the control worker against an existing Temporal
    novaflow worker host ...    one compute host's worker
    novaflow api                the REST facade alone
    novaflow db upgrade         bring the app database to the latest migration
    novaflow temporal setup     register the search attributes on a cluster
    novaflow replay WF_ID       replay a workflow's history against this code
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from types import SimpleNamespace

from novaflow import logs
from novaflow.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    if getattr(args, "state_dir", None):
        settings.state_dir = Path(args.state_dir)
    if getattr(args, "temporal_address", None):
        settings.temporal_address = args.temporal_address
    if getattr(args, "database_url", None):
        settings.database_url = args.database_url
    if getattr(args, "api_port", None):
        settings.api_port = args.api_port
    if getattr(args, "api_url", None):
        settings.host_api_url = args.api_url
    if getattr(args, "keystone_port", None):
        settings.keystone_port = args.keystone_port
    if getattr(args, "keystone_url", None):
        settings.keystone_url = args.keystone_url
    if getattr(args, "policy_file", None):
        settings.policy_file = Path(args.policy_file)
    return settings


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _banner(stack) -> str:
    from novaflow.clouds import export_lines
    from novaflow.credentials import PASSWORDS_FILE

    api = stack.api_url
    exports = "\n  ".join(export_lines(stack.clouds_file))
    return f"""
novaflow is up.
  Compute API   {api}/v2.1
  Keystone      {stack.settings.keystone_auth_url()}   (users admin, demo, reader; passwords
                in {(stack.state_dir / PASSWORDS_FILE).resolve()}, mode 0600)
  Glance        {stack.glance.url if stack.glance else "(the shared Keystone's catalog)"}
  Temporal UI   {stack.server.ui_url}   (payloads decoded by {stack.codec_url})
  Temporal      {stack.server.address}
  hosts         {', '.join(stack.running_hosts)}
  state dir     {stack.state_dir.resolve()}

Use the openstack CLI or openstacksdk (clouds novaflow, novaflow-reader, novaflow-admin):
  {exports}
  openstack server create --flavor m1.tiny --image cirros --network private vm1 --wait

Ctrl-C stops everything.
"""


async def _up(args: argparse.Namespace) -> int:
    from workers.stack import EmbeddedStack, PortInUse

    settings = _settings(args)
    settings.api_host = args.api_host
    stack = EmbeddedStack(settings=settings, hosts=args.hosts, temporal_port=args.temporal_port,
                          ui_port=args.ui_port, keystone_port=args.keystone_port,
                          glance_port=args.glance_port,
                          codec_port=args.codec_port, virt=args.virt)
    try:
        try:
            stack.check_ports()
        except PortInUse as exc:
            print(f"novaflow: {exc}", file=sys.stderr, flush=True)
            return 1
        await stack.start()
        print(_banner(stack), flush=True)
        await _until_signalled()
        print("novaflow: stopping", flush=True)
    finally:
        await stack.stop()
    return 0


async def _worker_control(args: argparse.Namespace) -> int:
    from novaflow.temporal_client import connect
    from schema.db import get_database
    from schema.migrate import upgrade
    from workers.control import build_control_worker, start_control_monitor

    settings = _settings(args)
    url = settings.effective_database_url()
    upgrade(url)
    client = await connect(settings)
    worker = build_control_worker(client, get_database(url), settings)
    async with worker:
        await start_control_monitor(client, settings)
        await _until_signalled()
    return 0


async def _worker_host(args: argparse.Namespace) -> int:
    from activities.hypervisor.libvirt_driver import LibvirtDriver
    from novaflow.temporal_client import connect
    from workers.host import build_host_worker, register_host

    settings = _settings(args)
    client = await connect(settings)
    if args.libvirt_uri.startswith("qemu"):
        from workers import real_hosts  # real guests: packages, libvirtd, files

        virt_type = real_hosts.prepare_machine()
        driver = real_hosts.driver_factory(settings, virt_type, share=1)(
            SimpleNamespace(name=args.hostname), args.libvirt_uri, settings.state_dir)
    else:
        driver = LibvirtDriver(args.libvirt_uri, args.hostname, local_gb=args.local_gb)
    worker = build_host_worker(client, driver, args.hostname)
    async with worker:
        await register_host(client, driver, args.hostname, args.availability_zone,
                            args.libvirt_uri)
        await _until_signalled()
    driver.close()
    return 0


async def _api(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    settings = _settings(args)
    config = uvicorn.Config(create_app(settings), host=args.api_host, port=settings.api_port,
                            log_config=None)
    await uvicorn.Server(config).serve()
    return 0


async def _temporal_setup(args: argparse.Namespace) -> int:
    from temporalio.client import Client

    from workers.temporal_admin import register_search_attributes

    client = await Client.connect(args.address, namespace=args.namespace)
    added = await register_search_attributes(client, args.namespace)
    print(f"search attributes added: {', '.join(added) or 'none (all present)'}")
    return 0


async def _audit(args: argparse.Namespace) -> int:
    """Run an AuditWorkflow and print what it found; exit 0 when nothing was,
    3 when something was (as ``nova-manage placement audit``)."""
    import uuid

    from novaflow.queues import CONTROL_QUEUE
    from novaflow.temporal_client import connect
    from workflows.audit import AuditWorkflow, AuditWorkflowInput

    client = await connect(_settings(args))
    result = await client.execute_workflow(
        AuditWorkflow.run, AuditWorkflowInput(fix=args.fix), id=f"audit-{uuid.uuid4()}",
        task_queue=CONTROL_QUEUE, static_summary="audit" + (" --fix" if args.fix else ""))
    for d in result.discrepancies:
        where = f" on {d.host}" if d.host else ""
        state = " [fixed]" if d.fixed else (" [fixable with --fix]" if d.fixable else "")
        print(f"{d.kind}: {d.subject}{where}: {d.detail}{state}")
    print(f"{len(result.discrepancies)} discrepancies, "
          f"{sum(d.fixed for d in result.discrepancies)} fixed")
    return 3 if result.discrepancies else 0


async def _replay(args: argparse.Namespace) -> int:
    from pathlib import Path

    from temporalio.client import WorkflowHistory

    from novaflow.credentials import MissingKeys
    from novaflow.temporal_client import connect, data_converter
    from workers.temporal_admin import fetch_history, replay_history

    settings = _settings(args)
    if args.history_file:
        history = WorkflowHistory.from_json(args.workflow_id,
                                            Path(args.history_file).read_text())
    else:
        client = await connect(settings)
        history = await fetch_history(client, args.workflow_id, args.run_id)
        if args.save:
            Path(args.save).write_text(history.to_json())
    try:
        converter = data_converter(settings)
    except MissingKeys:
        if not args.history_file:
            raise
        converter = None  # a saved plain history needs no key
    outcome = await replay_history(history, data_converter=converter)
    if outcome.ok:
        print(f"replay of {outcome.workflow_id}: OK, the local code reproduces its history")
        return 0
    print(f"replay of {outcome.workflow_id}: FAILED\n{outcome.error}")
    return 1


def _db_upgrade(args: argparse.Namespace) -> int:
    from schema.migrate import upgrade

    upgrade(_settings(args).effective_database_url())
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="novaflow", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the embedded stack in the foreground")
    up.add_argument("--state-dir", default=".novaflow")
    up.add_argument("--api-host", default="127.0.0.1")
    up.add_argument("--api-port", type=int, default=8774)
    up.add_argument("--temporal-port", type=int, default=7233)
    up.add_argument("--ui-port", type=int, default=8233)
    up.add_argument("--keystone-port", type=int, default=5000)
    up.add_argument("--glance-port", type=int, default=9292)
    up.add_argument("--codec-port", type=int, default=8235,
                    help="the payload codec server the Temporal UI decodes through")
    up.add_argument("--policy-file", help="YAML overrides of Nova's policy rules")
    up.add_argument("--hosts", type=int, default=3)
    up.add_argument("--database-url", help="the app database (SQLAlchemy URL, e.g. "
                    "postgresql+psycopg://user:pw@host/db); default: SQLite in the state dir")
    up.add_argument("--virt", choices=["test", "qemu"], default="test",
                    help="test: libvirt's test driver (default); qemu: real guests on "
                         "qemu:///system (kvm when /dev/kvm works)")
    up.set_defaults(run=_up)

    worker = sub.add_parser("worker", help="run one worker against an existing Temporal")
    wsub = worker.add_subparsers(dest="kind", required=True)
    wc = wsub.add_parser("control", help="the control worker (workflows, DB activities)")
    wc.add_argument("--temporal-address")
    wc.add_argument("--database-url")
    wc.add_argument("--state-dir")
    wc.set_defaults(run=_worker_control)
    wh = wsub.add_parser("host", help="one compute host's worker")
    wh.add_argument("--hostname", required=True)
    wh.add_argument("--libvirt-uri", required=True)
    wh.add_argument("--temporal-address")
    wh.add_argument("--availability-zone", default="nova")
    wh.add_argument("--local-gb", type=int, default=None)
    wh.add_argument("--api-url", help="the compute/image/network API a real host reads "
                                      "images and boot details from (default: the local one)")
    wh.add_argument("--state-dir", help="instances live in <state dir>/instances")
    wh.set_defaults(run=_worker_host)

    api = sub.add_parser("api", help="the REST facade alone")
    api.add_argument("--api-host", default="127.0.0.1")
    api.add_argument("--api-port", type=int, default=8774)
    api.add_argument("--temporal-address")
    api.add_argument("--database-url")
    api.add_argument("--state-dir")
    api.add_argument("--keystone-url", help="Keystone to validate tokens with")
    api.add_argument("--policy-file", help="YAML overrides of Nova's policy rules")
    api.set_defaults(run=_api)

    temporal = sub.add_parser("temporal", help="Temporal cluster set-up")
    tsub = temporal.add_subparsers(dest="action", required=True)
    tsetup = tsub.add_parser("setup", help="register novaflow's search attributes")
    tsetup.add_argument("--address", default="127.0.0.1:7233")
    tsetup.add_argument("--namespace", default="default")
    tsetup.set_defaults(run=_temporal_setup)

    replay = sub.add_parser("replay", help="replay a workflow's history against this code")
    replay.add_argument("workflow_id")
    replay.add_argument("--run-id")
    replay.add_argument("--temporal-address")
    replay.add_argument("--history-file", help="replay a saved history JSON instead")
    replay.add_argument("--save", help="also write the fetched history to this file")
    replay.add_argument("--state-dir", help="where the payload codec's keys are")
    replay.set_defaults(run=_replay)

    audit = sub.add_parser("audit", help="compare the database with the hosts and "
                                         "Temporal; list (and with --fix heal) discrepancies")
    audit.add_argument("--fix", action="store_true",
                       help="free orphan allocations, ports and attachments; destroy "
                            "leftover domains")
    audit.add_argument("--temporal-address")
    audit.set_defaults(run=_audit)

    db = sub.add_parser("db", help="app database")
    dsub = db.add_subparsers(dest="action", required=True)
    dup = dsub.add_parser("upgrade", help="apply the Alembic migrations")
    dup.add_argument("--database-url")
    dup.add_argument("--state-dir")
    dup.set_defaults(run=_db_upgrade)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logs.configure()
    if asyncio.iscoroutinefunction(args.run):
        code = asyncio.run(args.run(args))
    else:
        code = args.run(args)
    # Temporal's runtime can abort the interpreter at exit (sdk-python #300):
    # flush and leave with the real result instead of running finalizers.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)
