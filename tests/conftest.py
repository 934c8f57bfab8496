"""Session fixtures: one real embedded stack (Temporal dev server, control
worker, libvirt test-driver hosts, API on a loopback port) for the suite.

Its app database is SQLite, or with ``NOVAFLOW_TEST_DB=postgresql`` a
PostgreSQL server the session starts on a temporary data directory (tests/pg.py)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

import compute_schemas
from stack import StackThread


def selected_database() -> str:
    """The app database the session runs on: ``sqlite`` (default) or ``postgresql``."""
    return os.environ.get("NOVAFLOW_TEST_DB", "sqlite").lower()


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the session (started on first use)."""
    from pg import PostgresServer

    base = Path(tempfile.mkdtemp(prefix="novaflow-pg-"))
    server = PostgresServer(base)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def app_database_url(request) -> str | None:
    """None (SQLite in the stack's state dir) or the session's PostgreSQL URL."""
    if selected_database() == "postgresql":
        return request.getfixturevalue("postgres").url
    return None


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, app_database_url):
    st = StackThread(tmp_path_factory.mktemp("novaflow"), hosts=3,
                     database_url=app_database_url,
                     host_schedule_to_start_timeout=5.0, spawn_timeout=30.0,
                     # Host reports every second, so liveness and power sync
                     # show within seconds (tests/e2e/test_hosts.py).
                     report_interval=1)
    st.start(timeout=300)  # the stack starts in ~20 s; a loaded machine took 137 s
    yield st
    st.stop()


def client_for(stack: StackThread, token: str | None) -> httpx.Client:
    """A client sending exactly ``token`` (or none): for bad-token tests."""
    headers = {"X-Auth-Token": token} if token else {}
    return httpx.Client(base_url=stack.api_url, headers=headers, timeout=30,
                        event_hooks=compute_schemas.hooks())


@pytest.fixture(scope="session")
def demo(stack: StackThread) -> httpx.Client:
    """User demo, member of project demo (a real Keystone token)."""
    with stack.client("demo") as c:
        yield c


@pytest.fixture(scope="session")
def admin(stack: StackThread) -> httpx.Client:
    with stack.client("admin") as c:
        yield c


@pytest.fixture(scope="session")
def reader(stack: StackThread) -> httpx.Client:
    """User reader: role reader on project demo."""
    with stack.client("reader") as c:
        yield c


@pytest.fixture(scope="session")
def other(stack: StackThread) -> httpx.Client:
    """User other, member of project other."""
    with stack.client("other") as c:
        yield c


@pytest.fixture(scope="session")
def anon(stack: StackThread) -> httpx.Client:
    with client_for(stack, None) as c:
        yield c


@pytest.fixture(scope="session")
def demo_project(demo: httpx.Client) -> str:
    """Project demo's id (Keystone's uuid)."""
    return demo.keystone.project_id


@pytest.fixture(scope="session")
def demo_user(demo: httpx.Client) -> str:
    return demo.keystone.user_id


@pytest.fixture(scope="session")
def glance(stack: StackThread):
    """The real Glance's v2 API as one of the stack's users:
    ``glance("admin").post("/images", json=...)``."""
    clients: dict[str, httpx.Client] = {}

    def client(user: str) -> httpx.Client:
        if user not in clients:
            clients[user] = stack.glance_client(user)
        return clients[user]
    yield client
    for c in clients.values():
        c.close()


@pytest.fixture(scope="session")
def catalog_ids(demo: httpx.Client, glance) -> dict[str, str]:
    images = glance("demo").get("/images", params={"name": "cirros"}).json()["images"]
    nets = demo.get("/networking/v2.0/networks").json()["networks"]
    return {"image": next(i["id"] for i in images if i["name"] == "cirros"),
            "network": next(n["id"] for n in nets if n["name"] == "private")}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Temporal's Rust runtime can abort the interpreter during finalisation
    # (sdk-python #300, exit 134).  Once pytest has reported, leave with the
    # real result before the interpreter tears the runtime down.
    if os.environ.get("NOVAFLOW_TEST_HARD_EXIT", "1") == "1":
        session.config.add_cleanup(lambda: _hard_exit(session))


def _hard_exit(session: pytest.Session) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(session.exitstatus))
