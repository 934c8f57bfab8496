"""Runs a real Keystone (PyPI ``keystone`` in ``.venv-openstack``, made by
``scripts/bootstrap.sh``) under gunicorn as a child process of the embedded
stack, on SQLite under ``<state>/keystone``.

First start: ``keystone-manage db_sync``, fernet and credential key set-up and
``bootstrap`` (admin user and project, roles admin/member/reader, RegionOne,
the identity endpoint).  Every start then makes sure the stack's projects,
users, roles and catalog exist (see ``workers/keystone_setup.py``)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

import httpx

from workers.temporal_server import _die_with_parent

REPO = Path(__file__).resolve().parents[1]
OPENSTACK_VENV = Path(os.environ.get("NOVAFLOW_OPENSTACK_VENV", REPO / ".venv-openstack"))
DONE_STAMP = ".initialised"


class KeystoneServer:
    """A gunicorn-served Keystone child process and its first-start set-up."""

    def __init__(self, state_dir: Path, port: int, admin_password: str,
                 host: str = "127.0.0.1", token_expiration: int = 3600,
                 password_hash_rounds: int | None = None, venv: Path = OPENSTACK_VENV):
        self.dir = (state_dir / "keystone").resolve()
        self.port = port
        self.host = host
        self.admin_password = admin_password
        self.token_expiration = token_expiration
        self.password_hash_rounds = password_hash_rounds
        self.venv = venv
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def auth_url(self) -> str:
        return f"{self.url}/v3"

    @property
    def config_file(self) -> Path:
        return self.dir / "keystone.conf"

    def _bin(self, name: str) -> str:
        path = self.venv / "bin" / name
        if not path.exists():
            raise RuntimeError(f"{path} is missing: run scripts/bootstrap.sh "
                               "(it makes the OpenStack venv with Keystone)")
        return str(path)

    def write_config(self) -> None:
        """keystone.conf for this state dir (rewritten each start: ports may move)."""
        # Keystone's database and keys: for this user's eyes only.
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        rounds = (f"password_hash_rounds = {self.password_hash_rounds}\n"
                  if self.password_hash_rounds else "")
        self.config_file.write_text(f"""\
# Written by novaflow at every start of the embedded stack.
[DEFAULT]
log_file = {self.dir / 'keystone.log'}
[database]
connection = sqlite:///{self.dir / 'keystone.db'}
[token]
provider = fernet
expiration = {self.token_expiration}
[fernet_tokens]
key_repository = {self.dir / 'fernet-keys'}
[fernet_receipts]
key_repository = {self.dir / 'fernet-keys'}
[credential]
key_repository = {self.dir / 'credential-keys'}
[cache]
# Per-process memory cache: token validation and role look-ups otherwise cost
# ~80 ms a request on SQLite.
enabled = true
backend = dogpile.cache.memory
expiration_time = 60
[revoke]
# Revocations must be seen at once (the cache would hide them for a while).
caching = false
[identity]
{rounds}""")

    def _manage(self, *args: str) -> None:
        env = {**os.environ, "OS_BOOTSTRAP_PASSWORD": self.admin_password}
        cmd = [self._bin("keystone-manage"), "--config-file", str(self.config_file), *args]
        done = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, preexec_fn=_die_with_parent)
        if done.returncode != 0:
            # keystone-manage's output names no secret (the password is in env).
            raise RuntimeError(f"keystone-manage {args[0]} failed: {done.stderr[-2000:]}")

    def initialise(self) -> None:
        """First start only: schema, keys, the bootstrap admin and region."""
        if (self.dir / DONE_STAMP).exists():
            return
        for repo in ("fernet-keys", "credential-keys"):
            (self.dir / repo).mkdir(mode=0o700, exist_ok=True)
        user = str(os.getuid())
        group = str(os.getgid())
        self._manage("db_sync")
        self._manage("fernet_setup", "--keystone-user", user, "--keystone-group", group)
        self._manage("credential_setup", "--keystone-user", user, "--keystone-group", group)
        self._manage("bootstrap", "--bootstrap-username", "admin",
                     "--bootstrap-project-name", "admin", "--bootstrap-role-name", "admin",
                     "--bootstrap-region-id", "RegionOne",
                     "--bootstrap-admin-url", self.auth_url,
                     "--bootstrap-internal-url", self.auth_url,
                     "--bootstrap-public-url", self.auth_url)
        (self.dir / DONE_STAMP).write_text("keystone initialised\n")

    def command(self) -> list[str]:
        return [self._bin("gunicorn"), "--bind", f"{self.host}:{self.port}",
                # SQLite: one worker (two gave "database is locked"); a few threads.
                "--workers", "1", "--threads", "4", "--timeout", "60",
                "--no-control-socket", "--log-level", "warning",
                "--pythonpath", str(Path(__file__).parent), "keystone_wsgi:application"]

    async def start(self, timeout: float = 60.0) -> None:
        """Set up (first time), start gunicorn and wait until Keystone answers."""
        self.write_config()
        await asyncio.to_thread(self.initialise)
        env = {**os.environ, "OS_KEYSTONE_CONFIG_FILES": str(self.config_file)}
        env.pop("OS_BOOTSTRAP_PASSWORD", None)
        with open(self.dir / "gunicorn.log", "ab") as out:
            self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env, cwd=self.dir,
                                         start_new_session=True, preexec_fn=_die_with_parent)
        await self.wait_ready(timeout)

    async def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"keystone exited with {self.proc.returncode}; "
                                       f"see {self.dir / 'gunicorn.log'}")
                try:
                    if (await http.get(self.auth_url)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"keystone not ready after {timeout}s; see {self.dir}")

    def stop(self, timeout: float = 10.0) -> None:
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(5)

