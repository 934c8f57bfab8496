"""Workflow tests: the real Temporal dev server and the real workflow code,
with every activity replaced by a scripted fake (tests/workflows/fakes.py).
No stack, no database, no libvirt: a reschedule or clean-up branch runs in
about a second."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from temporalio.client import Client

sys.path.insert(0, str(Path(__file__).parent.parent))

from stack import free_port

from workers.temporal_server import DevServer


@pytest.fixture(scope="session")
async def temporal(tmp_path_factory: pytest.TempPathFactory):
    """One dev server for the workflow tests (in memory), and a client of it."""
    server = DevServer(None, free_port(), free_port(), headless=True,
                       log_file=tmp_path_factory.mktemp("temporal") / "temporal.log")
    await server.start()
    client = await Client.connect(server.address)
    yield client
    server.stop()
