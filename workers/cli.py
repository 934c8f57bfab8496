"""The ``novaflow`` command: the embedded stack, single workers, database set-up.

    novaflow up                 the whole control plane on one machine
    novaflow worker control     the control worker against an existing Temporal
    novaflow worker host ...    one compute host's worker
    novaflow worker hosts       the state dir's simulated hosts, one queue each
    novaflow api                the REST facade alone
    novaflow console-proxy      the remote consoles' WebSocket proxy
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
    if getattr(args, "console_proxy_port", None):
        settings.console_proxy_port = args.console_proxy_port
    return settings


async def _until_signalled(ready_file: str | None = None) -> None:
    """Wait for SIGINT or SIGTERM; first say so in ``ready_file`` (the parent
    ``novaflow up`` waits for it) that this process is up."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if ready_file:
        Path(ready_file).write_text(str(os.getpid()))
    await stop.wait()


def _metadata_url(stack) -> str:
    port = stack.settings.metadata_port
    return f"http://{stack.settings.metadata_host}:{port}/" if port else "(not started)"


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
  consoles      {stack.settings.console_proxy_base()}   (remote consoles' proxy)
  Temporal UI   {stack.server.ui_url}   (payloads decoded by {stack.codec_url})
  Temporal      {stack.server.address}
  metadata      {_metadata_url(stack)}
  hosts         {_host_names(stack.host_names)}
  state dir     {stack.state_dir.resolve()}
  processes     {_processes(stack)}

Use the openstack CLI or openstacksdk (clouds novaflow, novaflow-reader, novaflow-admin):
  {exports}
  openstack server create --flavor m1.tiny --image cirros --network private vm1 --wait

Ctrl-C stops everything.
"""


def _host_names(names: list[str]) -> str:
    return ", ".join(names) if len(names) <= 10 else f"{names[0]} ... {names[-1]} ({len(names)})"


def _processes(stack) -> str:
    if stack.children is None:
        return "one process"
    return ", ".join(f"{name} pid {pid}" for name, pid in stack.children.pids().items()) + \
        f"; their logs in {stack.children.log_dir.resolve()}"


async def _up(args: argparse.Namespace) -> int:
    from workers.stack import EmbeddedStack, PortInUse

    settings = _settings(args)
    settings.api_host = args.api_host
    settings.metadata_port = args.metadata_port or None
    stack = EmbeddedStack(settings=settings, hosts=args.hosts, temporal_port=args.temporal_port,
                          ui_port=args.ui_port, keystone_port=args.keystone_port,
                          glance_port=args.glance_port,
                          codec_port=args.codec_port, virt=args.virt, layout=args.layout)
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
        await _until_signalled(args.ready_file)
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
        await _until_signalled(args.ready_file)
    driver.close()
    return 0


async def _worker_hosts(args: argparse.Namespace) -> int:
    from novaflow.temporal_client import connect
    from workers import sim_hosts
    from workers.host_runner import HostRunner

    settings = _settings(args)
    client = await connect(settings)
    runner = HostRunner(client, settings, virt=args.virt)
    try:
        await runner.start_all(sim_hosts.prepare(settings.state_dir, args.hosts))
        await _until_signalled(args.ready_file)
    finally:
        await runner.stop()
    return 0


async def _api(args: argparse.Namespace) -> int:
    from api.app import create_app

    settings = _settings(args)
    settings.api_host = args.api_host
    await _serve(create_app(settings), args.api_host, settings.api_port, args.ready_file)
    return 0


async def _serve(app, host: str, port: int, ready_file: str | None) -> None:
    """Serve an ASGI app until SIGINT/SIGTERM; write ``ready_file`` once it listens."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None,
                                           access_log=False))
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():
        await asyncio.sleep(0.05)
    if server.started and ready_file:
        Path(ready_file).write_text(str(os.getpid()))
    await serving


async def _metadata(args: argparse.Namespace) -> int:
    from api.metadata_service import create_metadata_app

    settings = _settings(args)
    await _serve(create_metadata_app(settings), args.metadata_host, args.metadata_port,
                 args.ready_file)
    return 0


async def _console_proxy(args: argparse.Namespace) -> int:
    import uvicorn

    from schema.db import get_database
    from workers.console_proxy import console_proxy_app

    settings = _settings(args)
    settings.console_proxy_host = args.console_proxy_host
    db = get_database(settings.effective_database_url())
    # No access log: the query string carries the console token.
    config = uvicorn.Config(console_proxy_app(db), host=settings.console_proxy_host,
                            port=settings.console_proxy_port, log_config=None,
                            access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():
        await asyncio.sleep(0.05)
    if server.started and args.ready_file:
        Path(args.ready_file).write_text(str(os.getpid()))
    await serving
    db.dispose()
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
    up.add_argument("--console-proxy-port", type=int, default=6080,
                    help="the remote consoles' WebSocket proxy")
    up.add_argument("--metadata-port", type=int, default=8775,
                    help="the metadata service guests call (0: do not start it)")
    up.add_argument("--hosts", type=int, default=3)
    up.add_argument("--database-url", help="the app database (SQLAlchemy URL, e.g. "
                    "postgresql+psycopg://user:pw@host/db); default: SQLite in the state dir")
    up.add_argument("--virt", choices=["test", "qemu"], default="test",
                    help="test: libvirt's test driver (default); qemu: real guests on "
                         "qemu:///system (kvm when /dev/kvm works)")
    up.add_argument("--layout", choices=["processes", "single"], default="processes",
                    help="processes: the API, the control worker and the hosts each in a "
                         "child process, as in production (default); single: all in one")
    up.set_defaults(run=_up)

    worker = sub.add_parser("worker", help="run one worker against an existing Temporal")
    wsub = worker.add_subparsers(dest="kind", required=True)
    wc = wsub.add_parser("control", help="the control worker (workflows, DB activities)")
    wc.add_argument("--temporal-address")
    wc.add_argument("--database-url")
    wc.add_argument("--state-dir")
    wc.add_argument("--ready-file", help="written once the worker runs")
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
    wh.add_argument("--ready-file", help="written once the worker runs")
    wh.set_defaults(run=_worker_host)
    whs = wsub.add_parser("hosts", help="this machine's simulated hosts (the state dir's "
                                        "host definitions), each on its own queue")
    whs.add_argument("--hosts", type=int, default=3)
    whs.add_argument("--virt", choices=["test", "qemu"], default="test")
    whs.add_argument("--temporal-address")
    whs.add_argument("--state-dir")
    whs.add_argument("--ready-file", help="written once every host is registered")
    whs.set_defaults(run=_worker_hosts)

    api = sub.add_parser("api", help="the REST facade alone")
    api.add_argument("--api-host", default="127.0.0.1")
    api.add_argument("--api-port", type=int, default=8774)
    api.add_argument("--temporal-address")
    api.add_argument("--database-url")
    api.add_argument("--state-dir")
    api.add_argument("--keystone-url", help="Keystone to validate tokens with")
    api.add_argument("--policy-file", help="YAML overrides of Nova's policy rules")
    api.add_argument("--ready-file", help="written once the API listens")
    api.set_defaults(run=_api)

    cproxy = sub.add_parser("console-proxy", help="the remote consoles' WebSocket proxy "
                            "(noVNC and serial), checking the API's console tokens")
    cproxy.add_argument("--console-proxy-host", default="127.0.0.1")
    cproxy.add_argument("--console-proxy-port", type=int, default=6080)
    cproxy.add_argument("--database-url")
    cproxy.add_argument("--state-dir")
    cproxy.add_argument("--ready-file", help="written once the proxy listens")
    cproxy.set_defaults(run=_console_proxy)
    md = sub.add_parser("metadata", help="the metadata service guests call (behind "
                                          "Neutron's metadata proxy)")
    md.add_argument("--metadata-host", default="127.0.0.1")
    md.add_argument("--metadata-port", type=int, default=8775)
    md.add_argument("--database-url")
    md.add_argument("--state-dir", help="where the generated proxy shared secret is "
                                        "(or set NOVAFLOW_METADATA_PROXY_SHARED_SECRET)")
    md.add_argument("--ready-file", help="written once the service listens")
    md.set_defaults(run=_metadata)

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


if __name__ == "__main__":
    main()
