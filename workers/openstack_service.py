"""What the embedded stack's real OpenStack services (Keystone, Glance) share:
a PyPI service in ``.venv-openstack`` (made by ``scripts/bootstrap.sh``)
served by gunicorn as a child process, its files under ``<state>/<name>``,
its ``*-manage`` tool, a readiness wait and a clean stop."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

import httpx

from workers.temporal_server import _die_with_parent, stop_process

REPO = Path(__file__).resolve().parents[1]
OPENSTACK_VENV = Path(os.environ.get("NOVAFLOW_OPENSTACK_VENV", REPO / ".venv-openstack"))


class OpenStackService:
    """One gunicorn-served OpenStack API: subclasses say what to run."""

    name = "service"

    def __init__(self, state_dir: Path, port: int, host: str = "127.0.0.1",
                 venv: Path = OPENSTACK_VENV):
        self.dir = (state_dir / self.name).resolve()
        self.port = port
        self.host = host
        self.venv = venv
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ready_url(self) -> str:
        """A URL that answers 200 once the service serves requests."""
        return self.url

    def _bin(self, name: str) -> str:
        path = self.venv / "bin" / name
        if not path.exists():
            raise RuntimeError(f"{path} is missing: run scripts/bootstrap.sh "
                               "(it makes the OpenStack venv with Keystone and Glance)")
        return str(path)

    def make_dir(self) -> None:
        """The service's directory (its database and keys): owner only."""
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.dir.chmod(0o700)

    def run_tool(self, args: list[str], env: dict | None = None) -> None:
        """Run a ``*-manage`` style tool; its stderr tail on failure."""
        done = subprocess.run(args, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, cwd=self.dir,
                              preexec_fn=_die_with_parent)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} {args[1:3]} failed: "
                               f"{done.stderr[-2000:]}")

    def gunicorn(self, app: str, threads: int = 4) -> list[str]:
        """gunicorn serving ``app`` (a module under workers/) on our port."""
        return [self._bin("gunicorn"), "--bind", f"{self.host}:{self.port}",
                # SQLite: one worker (two gave "database is locked"); a few threads.
                "--workers", "1", "--threads", str(threads), "--timeout", "60",
                "--no-control-socket", "--log-level", "warning",
                "--pythonpath", str(Path(__file__).parent), app]

    def spawn(self, command: list[str], env: dict) -> None:
        with open(self.dir / "gunicorn.log", "ab") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env, cwd=self.dir,
                                         start_new_session=True, preexec_fn=_die_with_parent)

    async def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; "
                                       f"see {self.dir / 'gunicorn.log'}")
                try:
                    if (await http.get(self.ready_url)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout}s; see {self.dir}")

    def stop(self, timeout: float = 10.0) -> None:
        stop_process(self.proc, timeout)
