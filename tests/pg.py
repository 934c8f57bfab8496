"""A throwaway PostgreSQL server for the tests: Debian's ``postgresql``
binaries, a fresh data directory under a temp dir, 127.0.0.1 on a free port,
run as the ``postgres`` user when the tests run as root (initdb refuses root).

``NOVAFLOW_TEST_DB=postgresql`` makes the session stack use one (conftest.py).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

from stack import free_port, wait_for


def pg_bindir() -> Path | None:
    """Where initdb and pg_ctl live (Debian keeps them out of PATH), or None."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    return Path(dirs[-1]) if dirs and (Path(dirs[-1]) / "initdb").exists() else None


class PostgresServer:
    """One cluster with one database, ``novaflow``, for the life of a test session."""

    def __init__(self, base: Path):
        bindir = pg_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql")
        self.bindir = bindir
        self.data = base / "pgdata"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(base, "postgres", "postgres")

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/novaflow"

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--no-sync")
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l",
                  str(self.data / "server.log"), "-w", "-t", "60", "start")
        wait_for(lambda: self._run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port),
                                   check=False).returncode == 0,
                 timeout=60, what="PostgreSQL to accept connections")
        self.create_database("novaflow")

    def create_database(self, name: str) -> str:
        """A fresh database on this server; returns its URL."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
