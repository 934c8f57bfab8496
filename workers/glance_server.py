"""Runs a real Glance (PyPI ``glance`` in ``.venv-openstack``, beside
Keystone) under gunicorn as a child process of the embedded stack: SQLite and
a filesystem store under ``<state>/glance``, tokens checked by
keystonemiddleware as the ``glance`` service user.

First start: ``glance-manage db_sync``.  Registering Glance in Keystone's
catalog and uploading the ``cirros`` test image are the stack's business
(``workers/keystone_setup.py``, ``workers/test_image.py``)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from workers.openstack_service import OPENSTACK_VENV, OpenStackService

DONE_STAMP = ".initialised"


class GlanceServer(OpenStackService):
    """A gunicorn-served glance-api child process."""

    name = "glance"

    def __init__(self, state_dir: Path, port: int, auth_url: str, service_password: str,
                 host: str = "127.0.0.1", token_cache_time: int = 300,
                 venv: Path = OPENSTACK_VENV):
        super().__init__(state_dir, port, host, venv)
        self.auth_url = auth_url
        self.service_password = service_password
        self.token_cache_time = token_cache_time

    @property
    def ready_url(self) -> str:
        return f"{self.url}/healthcheck"

    @property
    def config_file(self) -> Path:
        return self.dir / "glance-api.conf"

    def write_config(self) -> None:
        """glance-api.conf (rewritten each start: ports may move).  It holds
        the service user's password, hence the owner-only directory."""
        self.make_dir()
        for sub in ("images", "staging", "tasks"):
            (self.dir / sub).mkdir(exist_ok=True)
        paste = self.venv / "etc" / "glance" / "glance-api-paste.ini"
        fd = os.open(self.config_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"""\
# Written by novaflow at every start of the embedded stack.
[DEFAULT]
log_file = {self.dir / 'glance-api.log'}
enabled_backends = fs:file
worker_self_reference_url = {self.url}
# Direct upload (PUT /v2/images/{{id}}/file) and glance-direct import only.
enabled_import_methods = [glance-direct]
show_image_direct_url = false
[database]
connection = sqlite:///{self.dir / 'glance.db'}
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = {self.dir / 'images'}
[os_glance_staging_store]
filesystem_store_datadir = {self.dir / 'staging'}
[os_glance_tasks_store]
filesystem_store_datadir = {self.dir / 'tasks'}
[paste_deploy]
flavor = keystone
config_file = {paste}
[keystone_authtoken]
www_authenticate_uri = {self.auth_url}
auth_url = {self.auth_url}
auth_type = password
username = glance
password = {self.service_password}
project_name = service
user_domain_id = default
project_domain_id = default
token_cache_time = {self.token_cache_time}
service_token_roles_required = true
[oslo_policy]
enforce_new_defaults = true
enforce_scope = true
[wsgi]
task_pool_threads = 4
""")

    def initialise(self) -> None:
        """First start only: Glance's schema."""
        if (self.dir / DONE_STAMP).exists():
            return
        self.run_tool([self._bin("glance-manage"), "--config-file", str(self.config_file),
                       "db_sync"])
        (self.dir / DONE_STAMP).write_text("glance initialised\n")

    async def start(self, timeout: float = 60.0) -> None:
        """Set up (first time), start gunicorn and wait until Glance answers."""
        self.write_config()
        await asyncio.to_thread(self.initialise)
        env = {**os.environ, "OS_GLANCE_CONFIG_DIR": str(self.dir)}
        self.spawn(self.gunicorn("glance_wsgi:application"), env)
        await self.wait_ready(timeout)
