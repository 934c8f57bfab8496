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
from pathlib import Path

from workers.openstack_service import OPENSTACK_VENV, OpenStackService

DONE_STAMP = ".initialised"


class KeystoneServer(OpenStackService):
    """A gunicorn-served Keystone child process and its first-start set-up."""

    name = "keystone"

    def __init__(self, state_dir: Path, port: int, admin_password: str,
                 host: str = "127.0.0.1", token_expiration: int = 3600,
                 password_hash_rounds: int | None = None, venv: Path = OPENSTACK_VENV):
        super().__init__(state_dir, port, host, venv)
        self.admin_password = admin_password
        self.token_expiration = token_expiration
        self.password_hash_rounds = password_hash_rounds

    @property
    def auth_url(self) -> str:
        return f"{self.url}/v3"

    @property
    def ready_url(self) -> str:
        return self.auth_url

    @property
    def config_file(self) -> Path:
        return self.dir / "keystone.conf"

    def write_config(self) -> None:
        """keystone.conf for this state dir (rewritten each start: ports may move)."""
        # Keystone's database and keys: for this user's eyes only.
        self.make_dir()
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
        # keystone-manage's output names no secret (the password is in env).
        self.run_tool([self._bin("keystone-manage"), "--config-file", str(self.config_file),
                       *args], env={"OS_BOOTSTRAP_PASSWORD": self.admin_password})

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
        return self.gunicorn("keystone_wsgi:application")

    async def start(self, timeout: float = 60.0) -> None:
        """Set up (first time), start gunicorn and wait until Keystone answers."""
        self.write_config()
        await asyncio.to_thread(self.initialise)
        env = {**os.environ, "OS_KEYSTONE_CONFIG_FILES": str(self.config_file)}
        env.pop("OS_BOOTSTRAP_PASSWORD", None)
        self.spawn(self.command(), env)
        await self.wait_ready(timeout)
