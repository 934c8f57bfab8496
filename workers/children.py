"""Child processes of ``novaflow up``: the production layout on one machine.

The API, the control worker and the hosts each run in a process of their
own (``novaflow api``, ``novaflow worker control``, ``novaflow worker
hosts``), configured by the parent's settings passed as ``NOVAFLOW_*``
environment variables (never its secrets: children read the generated
passwords and payload keys from the state dir, mode 0600, as the parent
does).  A child that exits on its own is restarted after a short backoff; a
child still running when the parent dies gets SIGTERM from the kernel.
``stop`` ends them newest first: SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, SecretStr

from novaflow import logs
from novaflow.settings import Settings
from workers.temporal_server import _die_with_parent

log = logs.get_logger("novaflow.children")


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings that differ from their defaults, as NOVAFLOW_* variables."""
    env = {}
    for name, value in settings.model_dump(exclude_defaults=True).items():
        raw = getattr(settings, name)
        if value is None or isinstance(raw, SecretStr) or (
                isinstance(raw, dict) and any(isinstance(v, SecretStr) for v in raw.values())):
            continue
        if isinstance(raw, BaseModel):
            text = raw.model_dump_json(exclude_defaults=True)
        elif isinstance(value, (dict, list)):
            text = json.dumps(value)
        else:
            text = str(value)
        env[f"NOVAFLOW_{name.upper()}"] = text
    return env


@dataclass
class Child:
    """One supervised command and its current process."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_file: Path
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    task: asyncio.Task | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)


class Children:
    """Starts, restarts and stops ``novaflow`` child processes."""

    def __init__(self, settings: Settings, backoff_s: float = 1.0):
        self.env = {**os.environ, **settings_env(settings)}
        self.log_dir = settings.state_dir / "logs"
        self.backoff_s = backoff_s
        self.children: dict[str, Child] = {}
        self._stopping = False

    async def start(self, name: str, *args: str) -> Child:
        """Run ``novaflow <args>`` as child ``name`` and keep it running."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        child = Child(name, [sys.executable, "-m", "workers.cli", *args], self.env,
                      self.log_dir / f"{name}.log")
        self.children[name] = child
        child.task = asyncio.create_task(self._supervise(child))
        await child.started.wait()
        return child

    async def _supervise(self, child: Child) -> None:
        while not self._stopping:
            with child.log_file.open("ab") as out:
                child.process = await asyncio.create_subprocess_exec(
                    *child.argv, env=child.env, stdin=asyncio.subprocess.DEVNULL,
                    stdout=out, stderr=out, preexec_fn=_die_with_parent)
            child.started.set()
            code = await child.process.wait()
            if self._stopping:
                return
            child.restarts += 1
            log.warning("child exited; restarting it", child=child.name, code=code,
                        restarts=child.restarts, log=str(child.log_file))
            await asyncio.sleep(self.backoff_s)

    def pids(self) -> dict[str, int]:
        return {n: c.process.pid for n, c in self.children.items()
                if c.process is not None and c.process.returncode is None}

    def check_alive(self, name: str, max_restarts: int = 3) -> None:
        """Raise, with the end of its log, once child ``name`` has exited more
        than ``max_restarts`` times (a start-up that fails for good, not a
        transient refusal its restart gets past)."""
        child = self.children[name]
        if child.restarts > max_restarts:
            tail = child.log_file.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{name} exited {child.restarts} times; its log ends:\n{tail}")

    async def stop(self, grace_s: float = 15.0) -> None:
        self._stopping = True
        for child in reversed(list(self.children.values())):
            proc = child.process
            if proc is None or proc.returncode is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), grace_s)
            except TimeoutError:
                log.warning("child ignored SIGTERM; killing it", child=child.name)
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        for child in self.children.values():
            if child.task is not None:
                child.task.cancel()
                with contextlib.suppress(BaseException):
                    await child.task
