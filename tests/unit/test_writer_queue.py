"""SQLite writers queue on ``<database>.writelock`` before SQLite's own lock
(schema/db.py): a writer in another process holds everyone else out until it
is done, and the next one goes in as soon as it is."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from sqlmodel import select

from schema.db import Database, WriterQueue
from schema.migrate import upgrade
from schema.models import Flavor
from tests.stack import wait_for

ROOT = Path(__file__).resolve().parents[2]

# Another process takes a writer's turn, waits to be told to go on, writes a
# row and only then gives the turn up.
HOLDER = textwrap.dedent("""
    import sys
    from schema.db import Database
    from schema.models import Flavor
    db = Database(sys.argv[1])
    with db.writer() as s:
        print("holding", flush=True)
        sys.stdin.readline()
        s.add(Flavor(flavorid="h1", name="h1", vcpus=1, memory_mb=64, root_gb=1))
    print("released", flush=True)
""")


def _flavor(s, flavorid: str) -> Flavor | None:
    return s.exec(select(Flavor).where(Flavor.flavorid == flavorid)).first()


def _flock_waiters(path: Path) -> list[str]:
    """/proc/locks lines of processes blocked on ``path``'s flock."""
    inode = path.stat().st_ino
    return [line for line in Path("/proc/locks").read_text().splitlines()
            if "->" in line and "FLOCK" in line and line.split()[-3].endswith(f":{inode}")]


def test_a_writer_in_another_process_holds_the_others_out(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    upgrade(url)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, url], cwd=ROOT, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    db = Database(url)
    saw: list[bool] = []
    try:
        assert holder.stdout.readline().strip() == "holding"

        def write() -> None:
            with db.writer() as s:
                saw.append(_flavor(s, "h1") is not None)
                s.add(Flavor(flavorid="q1", name="q1", vcpus=1, memory_mb=64, root_gb=1))

        writer = threading.Thread(target=write)
        writer.start()
        # The writer queues on the file lock the other process holds.
        wait_for(lambda: _flock_waiters(tmp_path / "q.db.writelock"), timeout=30,
                 what="the writer to wait on the other process's turn")
        assert saw == []
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "released"
        writer.join(timeout=30)
        # It went in after the other process's row was committed, and wrote its own.
        assert saw == [True]
        with db.reader() as s:
            assert _flavor(s, "q1") is not None
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()
        db.dispose()


def test_a_thread_waits_for_another_threads_turn(tmp_path):
    queue = WriterQueue(str(tmp_path / "t.writelock"))
    inside: list[str] = []
    first_in, let_go = threading.Event(), threading.Event()

    def first() -> None:
        with queue.turn():
            inside.append("first")
            first_in.set()
            let_go.wait(30)
            inside.append("first out")

    def second() -> None:
        with queue.turn():
            inside.append("second")

    a = threading.Thread(target=first)
    a.start()
    assert first_in.wait(30)
    b = threading.Thread(target=second)
    b.start()
    assert inside == ["first"]
    let_go.set()
    a.join(30)
    b.join(30)
    assert inside == ["first", "first out", "second"]


def test_a_nested_turn_keeps_the_file_lock_until_the_outer_one_ends(tmp_path):
    path = tmp_path / "n.writelock"
    queue = WriterQueue(str(path))
    inode = None

    def held() -> bool:
        return any(line.split()[-3].endswith(f":{inode}") and "->" not in line
                   for line in Path("/proc/locks").read_text().splitlines() if "FLOCK" in line)

    with queue.turn():
        inode = path.stat().st_ino
        with queue.turn():
            assert held()
        assert held()  # the inner turn ending gave nothing back
    assert not held()


def test_an_in_memory_database_needs_no_file():
    queue = WriterQueue(None)
    with queue.turn():
        with queue.turn():  # the same thread may nest, as before
            pass
