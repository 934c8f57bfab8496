"""The embedded stack: Temporal dev server, Keystone, Glance, app database, control
worker, simulated compute hosts (each its own worker and libvirt connection),
the API and the payload codec server, all in one process tree.  ``novaflow
up`` runs it in the foreground with the API, the control worker and the hosts
in child processes (``layout="processes"``); the tests run the same class
with everything in their own process, where they can stop and restart
single hosts."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from temporalio.client import Client
from temporalio.worker import Worker

from activities.hypervisor.driver import ComputeDriver
from api.app import create_app
from api.metadata_service import create_metadata_app
from novaflow import logs
from novaflow.cloud import host_connection
from novaflow.clouds import write_clouds_yaml
from novaflow.credentials import codec_keys, passwords
from novaflow.settings import Settings
from novaflow.temporal_client import connect, payload_codec
from schema.db import get_database
from schema.migrate import upgrade
from schema.seed import seed
from workers import real_hosts, sim_hosts
from workers.children import Children
from workers.codec_server import codec_app
from workers.console_proxy import console_proxy_app
from workers.control import build_control_worker, start_control_monitor
from workers.glance_server import GlanceServer
from workers.glance_setup import ensure_cirros
from workers.host_runner import DriverFactory, HostRunner, RunningHost, libvirt_driver_factory
from workers.keystone_server import KeystoneServer
from workers.keystone_setup import REGION, provision, register_region
from workers.temporal_server import DevServer

log = logs.get_logger("novaflow.stack")


class PortInUse(RuntimeError):
    """A port the stack needs is taken by another process."""


@dataclass
class EmbeddedStack:
    settings: Settings
    hosts: int = 3
    temporal_port: int = 7233
    ui_port: int = 8233
    headless: bool = False
    keystone_port: int = 5000
    glance_port: int = 9292
    # False: use the Keystone settings.keystone_url names (users, projects and
    # passwords already there, e.g. a second test stack sharing the first's)
    # and the Glance in its catalog.
    own_keystone: bool = True
    codec_port: int = 8235
    driver_factory: DriverFactory = libvirt_driver_factory
    # "test": libvirt's test driver per host; "qemu": real guests on
    # qemu:///system shared by the hosts (workers/real_hosts.py).
    virt: str = "test"
    host_specs: list[sim_hosts.SimHost] | None = None
    # "single": every piece in this process (the tests stop and restart
    # hosts through it); "processes": the API, the control worker and the
    # hosts each in a child process (workers/children.py), as in production.
    layout: str = "single"
    server: DevServer | None = None
    keystone: KeystoneServer | None = None
    glance: GlanceServer | None = None
    client: Client | None = None
    host_runner: HostRunner | None = None
    children: Children | None = None
    host_names: list[str] = field(default_factory=list)
    _tasks: list[asyncio.Task] = field(default_factory=list)
    _workers: list[Worker] = field(default_factory=list)
    _api: uvicorn.Server | None = None
    _codec: uvicorn.Server | None = None
    _console_proxy: uvicorn.Server | None = None
    _metadata: uvicorn.Server | None = None

    @property
    def state_dir(self) -> Path:
        return self.settings.state_dir

    @property
    def api_url(self) -> str:
        return f"http://{self.settings.api_host}:{self.settings.api_port}"

    @property
    def running_hosts(self) -> dict[str, RunningHost]:
        return self.host_runner.running if self.host_runner is not None else {}

    def check_ports(self) -> None:
        """Fail fast, and say which, when a port the stack needs is taken."""
        wanted = {"API": (self.settings.api_host, self.settings.api_port),
                  "Temporal": ("127.0.0.1", self.temporal_port)}
        if self.own_keystone:
            wanted["Keystone"] = ("127.0.0.1", self.keystone_port)
            wanted["Glance"] = ("127.0.0.1", self.glance_port)
        wanted["console proxy"] = (self.settings.console_proxy_host,
                                   self.settings.console_proxy_port)
        if self.settings.metadata_port:
            wanted["metadata service"] = (self.settings.metadata_host,
                                          self.settings.metadata_port)
        if not self.headless:
            wanted["Temporal UI"] = ("127.0.0.1", self.ui_port)
            wanted["codec server"] = ("127.0.0.1", self.codec_port)
        for what, (host, port) in wanted.items():
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((host, port))
                except OSError as exc:
                    raise PortInUse(f"the {what} port {host}:{port} is already in use "
                                    f"({exc.strerror}); is another novaflow running?") from exc

    @property
    def codec_url(self) -> str:
        return f"http://127.0.0.1:{self.codec_port}"

    async def start(self) -> None:
        self.check_ports()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.passwords = passwords(self.state_dir)
        codec_keys(self.state_dir)  # the payload key, made on first start
        if self.own_keystone:
            self.settings.keystone_url = f"http://127.0.0.1:{self.keystone_port}"
            self.keystone = KeystoneServer(
                self.state_dir, self.keystone_port, self.passwords["admin"],
                token_expiration=self.settings.keystone_token_expiration,
                password_hash_rounds=self.settings.keystone_password_hash_rounds)
            self.glance = GlanceServer(
                self.state_dir, self.glance_port, self.settings.keystone_auth_url(),
                self.passwords["glance"])
        self.server = DevServer(self.state_dir / "temporal.db", self.temporal_port,
                                self.ui_port, headless=self.headless,
                                log_file=self.state_dir / "temporal.log",
                                codec_endpoint=None if self.headless else self.codec_url)
        # Keystone and Glance take seconds to start: they come up while
        # everything else does, and are awaited only before the stack reports
        # itself up.
        keystone_up = asyncio.create_task(self._start_keystone())
        try:
            await self._start_rest()
            await keystone_up
        except BaseException:
            keystone_up.cancel()
            raise
        # What `openstack` and openstacksdk need to talk to this stack.
        self.clouds_file = write_clouds_yaml(self.state_dir, self.settings.keystone_auth_url(),
                                             self.passwords, self.settings.region_name)
        if self.virt == "qemu":
            image = (self.host_runner.test_image if self.host_runner is not None
                     else await asyncio.to_thread(real_hosts.build_test_image))
            self.test_image_id = await asyncio.to_thread(
                real_hosts.upload_test_image, self.settings, *image)

    async def _start_rest(self) -> None:
        """Temporal, the database, the workers and hosts, the API, the codec server."""
        await self.server.start()
        self.settings.temporal_address = self.server.address
        self.settings.temporal_ui_url = self.server.ui_url
        url = self.settings.effective_database_url()
        upgrade(url)
        self.db = get_database(url)
        seed(self.db)
        self.client = await connect(self.settings, address=self.server.address)
        hosts = sim_hosts.prepare(self.state_dir, self.hosts, self.host_specs)
        self.host_names = [h.name for h in hosts]
        if self.layout == "processes":
            await self._start_children()
        else:
            control = build_control_worker(self.client, self.db, self.settings)
            self._start_worker(control)
            await start_control_monitor(self.client, self.settings)
            self.host_runner = HostRunner(self.client, self.settings, self.virt,
                                          self.driver_factory)
            await self.host_runner.start_all(hosts)
            self._api = await self._serve(create_app(self.settings, temporal=self.client),
                                          self.settings.api_host, self.settings.api_port,
                                          "API")
            self._console_proxy = await self._serve(
                console_proxy_app(self.db), self.settings.console_proxy_host,
                self.settings.console_proxy_port, "console proxy")
            if self.settings.metadata_port:  # the metadata service guests call
                self._metadata = await self._serve(
                    create_metadata_app(self.settings, self.db), self.settings.metadata_host,
                    self.settings.metadata_port, "metadata service")
        if not self.headless:
            self._codec = await self._serve(
                codec_app(payload_codec(self.settings), [self.server.ui_url]),
                "127.0.0.1", self.codec_port, "codec server")

    async def _start_children(self) -> None:
        """The production layout: the control worker, the hosts and the API as
        child processes; each is awaited until it is ready."""
        self.children = Children(self.settings)
        run = self.state_dir / "run"
        run.mkdir(exist_ok=True)
        for name, args in (
                ("control", ["worker", "control"]),
                ("hosts", ["worker", "hosts", "--hosts", str(self.hosts), "--virt", self.virt]),
                ("api", ["api", "--api-host", self.settings.api_host,
                         "--api-port", str(self.settings.api_port)]),
                ("console-proxy", ["console-proxy",
                                   "--console-proxy-host", self.settings.console_proxy_host,
                                   "--console-proxy-port",
                                   str(self.settings.console_proxy_port)]),
                *([("metadata", ["metadata", "--metadata-host", self.settings.metadata_host,
                                 "--metadata-port", str(self.settings.metadata_port)])]
                  if self.settings.metadata_port else [])):
            ready = run / f"{name}.ready"
            ready.unlink(missing_ok=True)
            await self.children.start(name, *args, "--ready-file", str(ready))
            await self._until_ready(name, ready)

    async def _until_ready(self, name: str, ready: Path, timeout: float = 300.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not ready.exists():
            self.children.check_alive(name)
            if loop.time() > deadline:
                raise RuntimeError(f"{name} was not ready within {timeout:.0f}s "
                                   f"(its log: {self.children.children[name].log_file})")
            await asyncio.sleep(0.1)

    async def _start_keystone(self) -> None:
        """Keystone and Glance side by side, then the catalog and cirros (or,
        sharing another stack's, this stack's endpoints in a region of its own)."""
        if self.keystone is None:
            if self.settings.region_name != REGION:
                await asyncio.to_thread(register_region, self.settings.keystone_auth_url(),
                                        self.passwords["admin"], self.api_url,
                                        self.settings.region_name)
            return
        await asyncio.gather(self.keystone.start(), self.glance.start())
        await asyncio.to_thread(provision, self.keystone.auth_url, self.passwords, self.api_url,
                                {"image": self.glance.url})
        self.cirros_id = await asyncio.to_thread(
            lambda: ensure_cirros(host_connection(self.settings)))

    def _start_worker(self, worker: Worker) -> asyncio.Task:
        self._workers.append(worker)
        task = asyncio.create_task(worker.run())
        self._tasks.append(task)
        return task

    async def start_host(self, host: sim_hosts.SimHost, driver: ComputeDriver | None = None,
                         register: bool = True) -> RunningHost:
        """Start (or restart) one host's worker and register the host."""
        return await self.host_runner.start_host(host, driver, register)

    async def stop_host(self, name: str) -> None:
        """Stop a host's worker, as if the host died (its queue goes unpolled)."""
        await self.host_runner.stop_host(name)

    async def _serve(self, app: Any, host: str, port: int, what: str) -> uvicorn.Server:
        """Serve ``app`` on ``host:port`` in this loop; returns once it listens."""
        config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False,
                                lifespan="on")
        server = uvicorn.Server(config)
        # Signals are the caller's business (novaflow up handles Ctrl-C itself).
        server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
        task = asyncio.create_task(server.serve())
        self._tasks.append(task)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not server.started:
            if task.done():
                task.result()  # raises why it could not start
                raise RuntimeError(f"{what} exited during start-up")
            if loop.time() > deadline:
                raise RuntimeError(f"{what} did not start within 30s")
            await asyncio.sleep(0.05)
        return server

    async def stop(self) -> None:
        for server in (self._api, self._codec, self._metadata, self._console_proxy):
            if server is not None:
                server.should_exit = True
        if self.children is not None:
            await self.children.stop()
        if self.host_runner is not None:
            await self.host_runner.stop()
        for worker in self._workers:
            with contextlib.suppress(Exception):
                await worker.shutdown()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 15)
        if self.server is not None:
            self.server.stop()
        for service in (self.glance, self.keystone):
            if service is not None:
                service.stop()
        if getattr(self, "db", None) is not None:
            self.db.dispose()
